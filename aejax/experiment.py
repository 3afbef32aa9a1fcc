"""Running one experiment module: config, checks, output directory, session, metrics.json, timing.

An experiment is a module with NAME, QUESTION, `config(profile) -> dict`, optionally `check(cfg)`,
`run(cfg, out_dir) -> metrics` (it measures, writes figures, and returns everything its answer
needs), and `answer(metrics) -> str`, a pure function of the stored metrics.json (its config is
metrics["_meta"]["config"]) that renders answer.md: `render` re-renders it without any JAX work. Every experiment also takes
the COMMON keys, which set the training session (aejax.trainer.session) that all its runs go
through: the parallel mode, and checkpoints under OUT/<name>/runs/ for --resume.
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
COMMON = {"parallel": "auto", "checkpoint_every": 1000}


class ResultsExistError(FileExistsError):
  """The output directory already holds results; nothing is overwritten without --overwrite."""


def prepare(module, profile: str, sets: list[str]) -> dict:
  """The checked config for a profile with overrides applied (no compile; the device count is read
  to check that batch sizes split over the devices)."""
  if profile not in config_lib.PROFILES:
    raise config_lib.ConfigError(f"unknown profile {profile!r}; choose one of {config_lib.PROFILES}")
  cfg = config_lib.override({**COMMON, **module.config(profile)}, sets)
  return config_lib.validate(cfg, getattr(module, "check", None))


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
        old = json.loads(started.read_text())
        new = json.loads(json.dumps(cfg, default=_jsonable))
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
  if primary:
    write_json(path / "config.json", cfg)
  n0, c0, s0 = compile_counter()
  t0 = time.perf_counter()
  with trainer.session(cfg.get("parallel", "auto"), root=path, checkpoint_every=cfg.get("checkpoint_every", 0)) as sess, \
      tempfile.TemporaryDirectory(prefix="aejax-secondary-") as scratch:
    metrics = module.run(cfg, path if primary else pathlib.Path(scratch))
  n1, c1, s1 = compile_counter()
  meta = {"experiment": module.NAME, "question": module.QUESTION, "profile": profile,
          "config": cfg, "parallel": sess.mode, "wall_s": round(time.perf_counter() - t0, 1),
          "compiles": n1 - n0, "step_compiles": s1 - s0, "compile_s": round(c1 - c0, 1), **environment()}
  metrics = {**metrics, "_meta": meta}
  if primary:
    write_json(path / "metrics.json", metrics)
    render(module, path)
    for ckpt in (path / "runs").glob("*/checkpoints"):
      shutil.rmtree(ckpt, ignore_errors=True)
  return metrics


def render(module, path: pathlib.Path) -> pathlib.Path | None:
  """Write path/answer.md from path/metrics.json alone (module.answer); None for a module that still
  writes its answer inside `run`."""
  from aejax import report
  if not hasattr(module, "answer"):
    return None
  metrics = json.loads((path / "metrics.json").read_text())
  return report.write_answer(path, module.QUESTION, module.answer(metrics))


def write_json(path: pathlib.Path, obj) -> None:
  """Write JSON atomically (temp file, then rename)."""
  tmp = path.with_suffix(path.suffix + ".tmp")
  tmp.write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n")
  tmp.replace(path)


def _jsonable(x):
  import numpy as np
  if isinstance(x, (np.generic,)):
    return x.item()
  if hasattr(x, "tolist"):
    return x.tolist()
  raise TypeError(f"not JSON serialisable: {type(x).__name__}")
