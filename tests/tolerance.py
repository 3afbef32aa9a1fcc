"""Tolerances for comparing training runs that are meant to be equal but differ in float32 rounding.

Two runs that sum the same terms in a different order (jit vs pmap vs mesh, fused vs separate
steps, one CPU vs another) differ in each gradient entry by about N * eps32 * max|term|. Adam
turns a gradient into an update lr * m / (sqrt(v) + eps): for an entry whose gradient is well
above that rounding, the update's relative change is of the order of the gradient's, so params
agree to a small relative tolerance. For an entry whose gradient cancels to within rounding, the
sign of the update is arbitrary, and one step can move it anywhere in [-lr, lr]. So: every entry
within 2 * lr * steps, and all but a small fraction within rtol.
"""

import jax
import numpy as np

EPS32 = float(np.finfo(np.float32).eps)


def assert_trained_close(a, b, *, lr: float, steps: int, rtol: float = 1e-4, atol: float = 1e-6,
                         max_outliers: float = 1e-3):
  """Param trees `a` and `b` after `steps` Adam steps at `lr` agree in the sense above."""
  la = [np.asarray(x, np.float64).ravel() for x in jax.tree.leaves(a)]
  lb = [np.asarray(x, np.float64).ravel() for x in jax.tree.leaves(b)]
  x, y = np.concatenate(la), np.concatenate(lb)
  diff = np.abs(x - y)
  bound = 2 * lr * steps
  assert diff.max() <= bound, f"max |difference| {diff.max():.3g} exceeds 2 * lr * steps = {bound:.3g}"
  outliers = np.mean(diff > atol + rtol * np.abs(y))
  assert outliers <= max_outliers, f"{outliers:.2%} of entries differ by more than rtol={rtol}, atol={atol}"
