"""Experiment configs: plain dicts per profile, `--set key=value` overrides, checks before compile."""

import ast
from typing import Any, Callable

PROFILES = ("smoke", "default", "paper")


class ConfigError(ValueError):
  """A bad key or value; raised before any data is loaded or anything compiled."""


def _parse(key: str, text: str, default: Any):
  """Parse `text` to the type of `default` (bool, int, float, str, tuple/list)."""
  if isinstance(default, str):
    return text
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    raise ConfigError(f"--set {key}={text}: cannot parse {text!r} as a {type(default).__name__}") from None
  if isinstance(default, bool) or isinstance(value, bool):
    if not isinstance(value, bool) or not isinstance(default, bool):
      raise ConfigError(f"--set {key}={text}: expected {type(default).__name__}, got {text!r}")
    return value
  if isinstance(default, float) and isinstance(value, int):
    value = float(value)
  if isinstance(default, (list, tuple)):
    if isinstance(value, (int, float)):
      value = (value,)
    if not isinstance(value, (list, tuple)):
      raise ConfigError(f"--set {key}={text}: expected a list like (1, 2), got {text!r}")
    return type(default)(value)
  if not isinstance(value, type(default)):
    raise ConfigError(f"--set {key}={text}: expected {type(default).__name__}, got {text!r}")
  return value


def override(cfg: dict, sets: list[str]) -> dict:
  """Apply `key=value` strings; unknown keys and unparsable values raise ConfigError."""
  cfg = dict(cfg)
  for item in sets:
    if "=" not in item:
      raise ConfigError(f"--set expects key=value, got {item!r}")
    key, text = item.split("=", 1)
    key = key.strip()
    if key not in cfg:
      raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(sorted(cfg))}")
    cfg[key] = _parse(key, text.strip(), cfg[key])
  return cfg


def _values(v):
  return list(v) if isinstance(v, (list, tuple)) else [v]


# Rules by key name, so every experiment's keys are checked the same way.
RULES: list[tuple[Callable[[str], bool], Callable[[Any], bool], str]] = [
    (lambda k: "latent" in k, lambda v: isinstance(v, int) and v > 0, "a positive integer"),
    (lambda k: k == "lr" or k.endswith("_lr") or "learning_rate" in k, lambda v: v > 0, "positive"),
    (lambda k: k in ("batch_size", "seeds", "epochs", "steps") or k.endswith(("_steps", "_epochs")),
     lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    (lambda k: "noise" in k or k.endswith("_weight") or "sigma" in k, lambda v: v >= 0, ">= 0"),
    (lambda k: "dropout" in k, lambda v: 0 <= v < 1, "in [0, 1)"),
    (lambda k: k == "iw_samples", lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
]


def validate(cfg: dict, extra: Callable[[dict], None] | None = None) -> dict:
  """Check every key against RULES, the dataset name and parallel mode; then `extra(cfg)`."""
  from aejax import data, parallel
  for key, value in cfg.items():
    for applies, ok, what in RULES:
      if applies(key) and not all(_ok(ok, v) for v in _values(value)):
        raise ConfigError(f"config key {key!r} must be {what}, got {value!r}")
  if "dataset" in cfg and cfg["dataset"] not in data.KNOWN:
    raise ConfigError(f"config key 'dataset' must be one of {', '.join(data.KNOWN)}, got {cfg['dataset']!r}")
  if "parallel" in cfg:
    check_parallel(cfg)
  if extra is not None:
    try:
      extra(cfg)
    except ConfigError:
      raise
    except ValueError as e:  # an experiment's own check: the same one-line error as every other bad value
      raise ConfigError(str(e)) from None
  return cfg


def check_parallel(cfg: dict) -> None:
  """parallel is a known mode, and every *batch_size* key splits evenly over the devices it uses."""
  from aejax import parallel
  if cfg["parallel"] not in parallel.CHOICES:
    raise ConfigError(f"config key 'parallel' must be one of {', '.join(parallel.CHOICES)}, got {cfg['parallel']!r}")
  if not isinstance(cfg.get("checkpoint_every", 0), int) or cfg.get("checkpoint_every", 0) < 0:
    raise ConfigError(f"config key 'checkpoint_every' must be an integer >= 0, got {cfg['checkpoint_every']!r}")
  try:
    mode = parallel.resolve_mode(cfg["parallel"])
  except ValueError as e:
    raise ConfigError(str(e)) from None
  n = parallel.batch_split(mode)
  for key, value in cfg.items():
    if "batch" in key and isinstance(value, int) and value % n:
      lower, upper = value // n * n, -(-value // n) * n
      raise ConfigError(f"config key {key!r} = {value} does not split over the {n} devices of parallel={mode}; "
                        f"set it to a multiple of {n} (e.g. --set {key}={upper}"
                        + (f" or {lower}" if lower else "") + ")")


def _ok(check, v):
  try:
    return bool(check(v))
  except TypeError:
    return False
