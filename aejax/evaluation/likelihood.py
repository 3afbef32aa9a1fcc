"""Importance-weighted estimates of log p(x) for latent-variable models (Burda et al. 2016).

With q(z|x) Gaussian and p(z) = N(0, I), the k-sample estimate

  log p(x) ~ log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x)

is a lower bound in expectation that tightens to log p(x) as k grows; the mean of the same log
weights is the ELBO. Both come out of one pass: images are batched, samples are drawn in chunks
inside one jitted scan, and a running logsumexp keeps memory at chunk * batch decoder outputs.
"""

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

LOG_2PI = math.log(2 * math.pi)


def iw_log_likelihood(encode: Callable, decode: Callable, log_px_given_z: Callable, images, *, k: int,
                      batch_size: int = 100, sample_chunk: int = 100, seed: int = 0):
  """Per-image (log p(x) estimate with k importance samples, ELBO estimate from the same samples).

  encode(x [B, ...]) -> (mean, logvar) [B, L]; decode(z [M, L]) -> decoder output for M codes;
  log_px_given_z(out [M, ...], x [M, ...]) -> [M]. Params are closed over by the callables.
  images: float [N, ...] (already binarised if the model is Bernoulli). Returns two numpy [N] arrays, in nats.
  """
  chunk = math.gcd(k, sample_chunk)  # samples per decoder call; a divisor of k, so every sample counts
  n_chunks = k // chunk

  @jax.jit
  def estimate(x, key):
    mean, logvar = encode(x)
    std = jnp.exp(0.5 * logvar)
    b, latent = mean.shape
    xs = jnp.broadcast_to(x[None], (chunk, *x.shape)).reshape((chunk * b, *x.shape[1:]))

    def body(carry, key):
      lse, total = carry
      eps = jax.random.normal(key, (chunk, b, latent))
      z = mean + std * eps
      log_px = log_px_given_z(decode(z.reshape((chunk * b, latent))), xs).reshape((chunk, b))
      log_pz = -0.5 * jnp.sum(z**2 + LOG_2PI, -1)
      log_qz = -0.5 * jnp.sum(eps**2 + logvar + LOG_2PI, -1)
      log_w = log_px + log_pz - log_qz  # [chunk, B]
      lse = jnp.logaddexp(lse, jax.scipy.special.logsumexp(log_w, axis=0))
      return (lse, total + log_w.sum(0)), None

    init = (jnp.full((b,), -jnp.inf), jnp.zeros((b,)))
    (lse, total), _ = jax.lax.scan(body, init, jax.random.split(key, n_chunks))
    return lse - math.log(k), total / k

  x_all = np.asarray(images, np.float32)
  n = len(x_all)
  size = min(batch_size, n)
  log_px, elbo = [], []
  for j, i in enumerate(range(0, n, size)):
    chunk_x = x_all[i:i + size]
    pad = size - len(chunk_x)
    if pad:  # one compiled shape
      chunk_x = np.concatenate([chunk_x, np.repeat(chunk_x[-1:], pad, axis=0)])
    lp, el = jax.device_get(estimate(jnp.asarray(chunk_x), jax.random.fold_in(jax.random.PRNGKey(seed), j)))
    log_px.append(lp[:size - pad])
    elbo.append(el[:size - pad])
  return np.concatenate(log_px), np.concatenate(elbo)


def vae_log_likelihood(model, params, images, *, k: int, batch_size: int = 100, sample_chunk: int = 100,
                       seed: int = 0):
  """iw_log_likelihood for an aejax VAE (its encode/decode and its Bernoulli or Gaussian p(x|z))."""
  from aejax.losses import log_likelihood
  obs_logvar = params["params"].get("obs_logvar") if model.likelihood == "gaussian" else None
  return iw_log_likelihood(
      lambda x: model.apply(params, x, method=model.encode),
      lambda z: model.apply(params, z, method=model.decode),
      lambda out, x: log_likelihood(out, x, model.likelihood, obs_logvar),
      images, k=k, batch_size=batch_size, sample_chunk=sample_chunk, seed=seed)


def binarize_fixed(images, seed: int) -> np.ndarray:
  """One fixed stochastic binarisation (pixel ~ Bernoulli(intensity)) of uint8/float images: a test set."""
  x = np.asarray(images)
  x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
  return (np.random.default_rng(seed).uniform(size=x.shape) < x).astype(np.float32)
