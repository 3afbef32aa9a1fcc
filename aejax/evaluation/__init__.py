"""Evaluation: probes, image metrics, likelihoods, Frechet distance, mode counting."""

import jax
import jax.numpy as jnp
import numpy as np


def batched_apply(fn, x, batch_size: int = 1000):
  """Apply a jitted `fn` to `x` in chunks along axis 0 and concatenate (numpy out).

  The last chunk is padded so that `fn` compiles for one shape only.
  """
  n = len(x)
  outs = []
  for i in range(0, n, batch_size):
    chunk = np.asarray(x[i:i + batch_size])
    pad = batch_size - len(chunk) if n > batch_size else 0
    if pad:
      chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, axis=0)])
    out = jax.device_get(fn(jnp.asarray(chunk)))
    outs.append(jax.tree.map(lambda o: o[:len(o) - pad], out))
  return jax.tree.map(lambda *o: np.concatenate(o), *outs)
