"""Running one experiment module: config, checks, output directory, metrics.json, timing.

An experiment is a module in experiments/ with NAME, QUESTION, `config(profile) -> dict`,
optionally `check(cfg)`, and `run(cfg, out_dir) -> metrics`; `run` writes figures and answer.md.
"""

import datetime
import importlib
import json
import pathlib
import platform
import shutil
import time

from aejax import config as config_lib


class ResultsExistError(FileExistsError):
  """The output directory already holds results; nothing is overwritten without --overwrite."""


def load(key: str):
  """Experiment module by key: "q3" or its full name "q3_evaluation"."""
  from experiments import EXPERIMENTS
  matches = [name for name in EXPERIMENTS if name == key or name.split("_")[0] == key]
  if not matches:
    raise config_lib.ConfigError(f"unknown experiment {key!r}; choose one of: "
                                 + ", ".join(n.split("_")[0] for n in EXPERIMENTS))
  return importlib.import_module(f"experiments.{matches[0]}")


def prepare(module, profile: str, sets: list[str]) -> dict:
  """The checked config for a profile with overrides applied (no JAX work is done here)."""
  if profile not in config_lib.PROFILES:
    raise config_lib.ConfigError(f"unknown profile {profile!r}; choose one of {config_lib.PROFILES}")
  cfg = config_lib.override(module.config(profile), sets)
  return config_lib.validate(cfg, getattr(module, "check", None))


def out_dir_for(module, out: str | pathlib.Path, overwrite: bool) -> pathlib.Path:
  """OUT/<name>; refuses to reuse a non-empty one unless `overwrite`."""
  path = pathlib.Path(out) / module.NAME
  if path.exists() and any(path.iterdir()):
    if not overwrite:
      raise ResultsExistError(f"{path} already holds results; pass --overwrite to replace them, "
                              f"or --out to write elsewhere")
    shutil.rmtree(path)
  path.mkdir(parents=True, exist_ok=True)
  return path


def environment() -> dict:
  import jax
  devices = jax.devices()
  return {"jax": jax.__version__, "backend": jax.default_backend(),
          "device": devices[0].device_kind, "device_count": len(devices),
          "process_count": jax.process_count(), "host": platform.machine(),
          "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


_COMPILES = {"count": 0, "seconds": 0.0}


def _count_compile(event: str, duration: float, **kwargs):
  if event == "/jax/core/compile/backend_compile_duration":
    _COMPILES["count"] += 1
    _COMPILES["seconds"] += duration


def compile_counter():
  """(count, seconds) of XLA compilations so far in this process (installs the listener once)."""
  import jax
  if not _COMPILES.get("installed"):
    jax.monitoring.register_event_duration_secs_listener(_count_compile)
    _COMPILES["installed"] = True
  return _COMPILES["count"], _COMPILES["seconds"]


def execute(module, cfg: dict, path: pathlib.Path, profile: str) -> dict:
  """Run the experiment, then write metrics.json with a `_meta` block (profile, config, device, time,
  and the number of XLA compilations it triggered)."""
  n0, c0 = compile_counter()
  t0 = time.perf_counter()
  metrics = module.run(cfg, path)
  n1, c1 = compile_counter()
  meta = {"experiment": module.NAME, "question": module.QUESTION, "profile": profile,
          "config": cfg, "wall_s": round(time.perf_counter() - t0, 1), "compiles": n1 - n0,
          "compile_s": round(c1 - c0, 1), **environment()}
  metrics = {**metrics, "_meta": meta}
  write_json(path / "metrics.json", metrics)
  return metrics


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
