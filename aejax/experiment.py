"""Running one experiment module: config, checks, output directory, session, metrics.json, timing.

An experiment is a module with NAME, QUESTION, SCHEMA (an aejax.config schema of its settings),
PROFILES ({profile: {dotted name: value}}, the values that differ from the defaults), optionally
`check(cfg)`, `run(cfg, out_dir) -> metrics` (it measures, writes figures, and returns the
measurements), and optionally `findings(metrics, published, results) -> dict`, the pure flags its
answer branches on. Its answer is the Jinja2 template answers/<NAME>.md beside the module, with its
published tables in answers/<NAME>.toml; `render` fills it from the stored metrics.json alone, with
no JAX work. Every experiment also takes the COMMON keys, which set the training session
(aejax.trainer.session) that all its runs go through: the parallel mode, and checkpoints under
OUT/<name>/runs/ for --resume.
"""

import datetime
import json
import pathlib
import platform
import shutil
import tempfile
import time

from aejax import config as config_lib

# Keys every experiment takes: parallel = auto | jit | pmap | mesh ("auto": mesh over all devices when
# there are several, else jit); checkpoint_every = steps between checkpoints of each training run
# (0: only its final state, which --resume restores instead of retraining).
COMMON = config_lib.schema(parallel=config_lib.choice("auto", ("auto", "jit", "pmap", "mesh")),
                           checkpoint_every=config_lib.integer(1000, min=0))


class ResultsExistError(FileExistsError):
  """The output directory already holds results; nothing is overwritten without --overwrite."""


def schema(module) -> config_lib.Schema:
  """Every setting the experiment takes: COMMON's and its own."""
  return COMMON | module.SCHEMA


def prepare(module, profile: str, sets: list[str]):
  """The checked ConfigDict for a profile with `--set` overrides applied (no compile; the device
  count is read to check that batch sizes split over the devices)."""
  from aejax import parallel
  if profile not in config_lib.PROFILES:
    raise config_lib.ConfigError(f"unknown profile {profile!r}; choose one of {config_lib.PROFILES}")
  spec = schema(module)
  cfg = spec.build(module.PROFILES.get(profile, {}), sets)
  try:
    mode = parallel.resolve_mode(cfg.parallel)
  except ValueError as e:
    raise config_lib.ConfigError(str(e)) from None
  spec.check_split(cfg, parallel.batch_split(mode), mode)
  if hasattr(module, "check"):
    try:
      module.check(cfg)
    except config_lib.ConfigError:
      raise
    except ValueError as e:  # an experiment's own check: the same one-line error as every other bad value
      raise config_lib.ConfigError(str(e)) from None
  return cfg


def out_dir_for(module, out: str | pathlib.Path, overwrite: bool, resume: bool = False,
                cfg: dict | None = None) -> tuple[pathlib.Path, bool]:
  """(OUT/<name>, complete), checked without writing anything. A non-empty directory is refused
  unless `overwrite` (prepare_out_dir then replaces it) or `resume` (it is kept: a complete one,
  with metrics.json, is skipped; an incomplete one continues from its checkpoints, if it was started
  with the same config)."""
  path = pathlib.Path(out) / module.NAME
  if path.exists() and any(path.iterdir()):
    if resume and not overwrite:
      started = path / "config.json"
      if started.exists() and cfg is not None:
        old = config_lib.flatten(json.loads(started.read_text()))
        new = config_lib.flatten(json.loads(json.dumps(cfg, default=_jsonable)))
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if diff:
          raise config_lib.ConfigError(
              f"{path} was started with a different config ({', '.join(f'{k}: {old.get(k)!r} -> {new.get(k)!r}' for k in diff)}); "
              f"resume with the same --profile and --set values, or pass --overwrite to start again")
      return path, (path / "metrics.json").exists()
    if not overwrite:
      raise ResultsExistError(f"{path} already holds results; pass --resume to continue or skip them, "
                              f"--overwrite to replace them, or --out to write elsewhere")
  return path, False


def prepare_out_dir(path: pathlib.Path, overwrite: bool) -> None:
  """Create OUT/<name> (emptied first with `overwrite`); process 0's job in a multi-process run."""
  if overwrite and path.exists():
    shutil.rmtree(path)
  path.mkdir(parents=True, exist_ok=True)


def environment() -> dict:
  import jax
  devices = jax.devices()
  return {"jax": jax.__version__, "backend": jax.default_backend(),
          "device": devices[0].device_kind, "device_count": len(devices),
          "local_device_count": jax.local_device_count(),
          "process_count": jax.process_count(), "host": platform.machine(),
          "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


_COMPILES = {"count": 0, "seconds": 0.0, "steps": 0}


def _count_compile(event: str, duration: float, **kwargs):
  if event == "/jax/core/compile/backend_compile_duration":
    _COMPILES["count"] += 1
    _COMPILES["seconds"] += duration
    _COMPILES["steps"] += "run_step" in str(kwargs.get("fun_name", ""))


def compile_counter():
  """(count, seconds, train-step count) of XLA compilations (or loads from the persistent cache)
  so far in this process; installs the listener once."""
  import jax
  if not _COMPILES.get("installed"):
    jax.monitoring.register_event_duration_secs_listener(_count_compile)
    _COMPILES["installed"] = True
  return _COMPILES["count"], _COMPILES["seconds"], _COMPILES["steps"]


def execute(module, cfg: dict, path: pathlib.Path, profile: str) -> dict:
  """Run the experiment in a training session, then write metrics.json with a `_meta` block
  (profile, config, parallel mode, devices, processes, wall time, XLA compilations).

  Every process runs it (each feeds its slice of every global batch); only process 0 writes
  results and figures; the others write theirs to a temporary directory that is then removed.
  Checkpoints go to path/runs/ (Orbax, all processes taking part), and are removed once
  metrics.json is written; each run's metrics.jsonl stays.
  """
  import jax
  from aejax import trainer
  primary = jax.process_index() == 0
  stored = cfg.to_dict() if hasattr(cfg, "to_dict") else cfg
  if primary:
    write_json(path / "config.json", stored)
  n0, c0, s0 = compile_counter()
  t0 = time.perf_counter()
  with trainer.session(cfg.parallel, root=path, checkpoint_every=cfg.checkpoint_every) as sess, \
      tempfile.TemporaryDirectory(prefix="aejax-secondary-") as scratch:
    metrics = module.run(cfg, path if primary else pathlib.Path(scratch))
  n1, c1, s1 = compile_counter()
  meta = {"experiment": module.NAME, "question": module.QUESTION, "profile": profile,
          "config": stored, "parallel": sess.mode, "wall_s": round(time.perf_counter() - t0, 1),
          "compiles": n1 - n0, "step_compiles": s1 - s0, "compile_s": round(c1 - c0, 1), **environment()}
  metrics = {**metrics, "_meta": meta}
  if primary:
    write_json(path / "metrics.json", metrics)
    render(module, path)
    for ckpt in (path / "runs").glob("*/checkpoints"):
      shutil.rmtree(ckpt, ignore_errors=True)
  return metrics


def template(module) -> pathlib.Path:
  """The module's answer template, answers/<NAME>.md beside it."""
  return pathlib.Path(module.__file__).parent / "answers" / f"{module.NAME}.md"


def published(module) -> dict:
  """The published tables the answer compares with (answers/<NAME>.toml beside the module; {} if none)."""
  import tomllib
  path = template(module).with_suffix(".toml")
  return tomllib.loads(path.read_text()) if path.exists() else {}


class Results:
  """The other experiments' metrics.json in the same output directory, read when asked for:
  `results.get("q2_few_labels")` is that experiment's metrics, or None when it has none."""

  def __init__(self, out: pathlib.Path):
    self.out = pathlib.Path(out)

  def get(self, name: str):
    path = self.out / name / "metrics.json"
    if not path.exists() or (self.out / name / "FAILED.txt").exists():
      return None
    return json.loads(path.read_text())


def answer(module, metrics: dict, results: Results | None = None) -> str:
  """The answer's Markdown body: the module's template filled from `metrics`, its findings, its
  published tables and the other experiments' results (for comparisons across questions)."""
  from aejax import report
  pub = published(module)
  results = results or Results(pathlib.Path(tempfile.gettempdir()) / "aejax-no-results")
  found = module.findings(metrics, pub, results) if hasattr(module, "findings") else {}
  return report.render_template(template(module), m=metrics, cfg=metrics["_meta"]["config"], f=found, pub=pub,
                                results=results, data=metrics.get("data", {}))


def render(module, path: pathlib.Path) -> pathlib.Path:
  """Write path/answer.md from path/metrics.json alone (and the other experiments' beside it)."""
  from aejax import report
  metrics = json.loads((path / "metrics.json").read_text())
  return report.write_answer(path, module.QUESTION, answer(module, metrics, Results(path.parent)))


def write_json(path: pathlib.Path, obj) -> None:
  """Write JSON atomically (temp file, then rename)."""
  tmp = path.with_suffix(path.suffix + ".tmp")
  tmp.write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n")
  tmp.replace(path)


def _jsonable(x):
  import numpy as np
  if isinstance(x, (np.generic,)):
    return x.item()
  if hasattr(x, "to_dict"):  # a ConfigDict
    return x.to_dict()
  if hasattr(x, "tolist"):
    return x.tolist()
  raise TypeError(f"not JSON serialisable: {type(x).__name__}")
