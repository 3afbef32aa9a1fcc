"""Comparing two experiments' metrics.json, timings aside."""

import math
import re

# Keys that hold wall-clock measurements (or when and where a run happened), not results.
TIMING = re.compile(r"(^|_)(s|ms|speed|sec|secs|seconds|wall|wall_s|date|time|compiles|compile_s)($|_)|sec_per|pretrain_s|_ms$")
RUN_FACTS = {"_meta"}
# Keys that count decisions (error rates, accuracies, fractions above a threshold, points behind a
# published error): a rounding change can move an example across a decision boundary.
DISCRETE = re.compile(r"error|acc|fraction|confident|pct|modes|auroc|minus|per_seed/\d+/(scratch|frozen_probe|finetune)")


def strip_timings(obj):
  """`obj` without timing keys (and without _meta, which names the run, not its results)."""
  if isinstance(obj, dict):
    return {k: strip_timings(v) for k, v in obj.items() if k not in RUN_FACTS and not TIMING.search(k)}
  if isinstance(obj, list):
    return [strip_timings(v) for v in obj]
  return obj


def differences(a, b, *, rtol: float, atol: float, discrete_rtol: float | None = None, path: str = ""):
  """Paths where numbers differ beyond atol + rtol * |b| (discrete_rtol for DISCRETE keys, default
  rtol), or where structure or text differs."""
  kw = dict(rtol=rtol, atol=atol, discrete_rtol=discrete_rtol)
  if isinstance(a, dict) and isinstance(b, dict):
    if set(a) != set(b):
      return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
    return [d for k in a for d in differences(a[k], b[k], **kw, path=f"{path}/{k}")]
  if isinstance(a, list) and isinstance(b, list):
    if len(a) != len(b):
      return [f"{path}: lengths {len(a)} vs {len(b)}"]
    return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, **kw, path=f"{path}[{i}]")]
  if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
    if math.isnan(a) and math.isnan(b):
      return []
    r = discrete_rtol if discrete_rtol is not None and DISCRETE.search(path) else rtol
    return [] if abs(a - b) <= atol + r * abs(b) else [f"{path}: {a!r} vs {b!r}"]
  return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


# Metrics that come out of whole GAN runs, per experiment: (paths whose numbers are a trained GAN's,
# paths under them that are not). Such a run differs between parallel modes or hosts beyond rounding:
# where a gradient is as small as its rounding, Adam still steps it by +-lr, so a rounding
# difference can flip a step and the game goes elsewhere; two runs agree only in distribution.
# tests/test_gan_parallel.py checks their steps instead.
GAN_RUNS = {
    "q8_gan_difficulties": (("ring", "grid", "mixture_curves_seed0", "stacked_mnist", "instability",
                             "instability_summary"),
                            ("stacked_mnist/real_test_data", "instability_summary/fd_floor_train_vs_test")),
}


def without_gan_numbers(name: str, metrics):
  """`metrics` of experiment `name` with each number from a whole GAN run (GAN_RUNS) replaced by the
  word "number": `differences` then compares those parts' structure, and the rest's values."""
  trained, kept = GAN_RUNS.get(name, ((), ()))

  def mask(obj, path):
    if path in kept:
      return obj
    if isinstance(obj, dict):
      return {k: mask(v, f"{path}/{k}" if path else k) for k, v in obj.items()}
    if isinstance(obj, list):
      return [mask(v, path) for v in obj]
    under = any(path == p or path.startswith(p + "/") for p in trained)
    return "number" if under and isinstance(obj, (int, float)) and not isinstance(obj, bool) else obj

  return mask(metrics, "")
