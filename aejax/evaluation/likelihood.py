"""Importance-weighted estimates of log p(x) for latent-variable models (Burda et al. 2016).

With q(z|x) Gaussian and p(z) = N(0, I), the k-sample estimate

  log p(x) ~ log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x)

is a lower bound in expectation that tightens to log p(x) as k grows; the mean of the same log
weights is the ELBO. Both come out of one pass: images are batched, samples are drawn in chunks
inside one jitted scan, and a running logsumexp keeps memory at chunk * batch decoder outputs.
"""

import functools
import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from aejax import losses
from aejax.evaluation import static_fn

LOG_2PI = math.log(2 * math.pi)


def iw_log_likelihood(encode: Callable, decode: Callable, log_px_given_z: Callable, images, *, k: int,
                      batch_size: int = 100, sample_chunk: int = 100, seed: int = 0):
  """Per-image (log p(x) estimate with k importance samples, ELBO estimate from the same samples).

  encode(x [B, ...]) -> (mean, logvar) [B, L]; decode(z [M, L]) -> decoder output for M codes;
  log_px_given_z(out [M, ...], x [M, ...]) -> [M]. Params are closed over by the callables, so each
  new set of callables compiles anew; vae_log_likelihood traces params instead and compiles once.
  images: float [N, ...] (already binarised if the model is Bernoulli). Returns two numpy [N] arrays, in nats.
  """
  skip = lambda fn: functools.partial(_without_params, fn)  # equal partials for equal callables
  return _iw(skip(encode), skip(decode), skip(log_px_given_z), None, images, k=k, batch_size=batch_size,
             sample_chunk=sample_chunk, seed=seed)


def _without_params(fn, params, *args):
  return fn(*args)


def _iw(encode, decode, log_px_given_z, params, images, *, k, batch_size, sample_chunk, seed):
  """iw_log_likelihood with callables that take params first: encode(params, x), decode(params, z),
  log_px_given_z(params, out, x). Images are padded to one batch shape."""
  chunk = math.gcd(k, sample_chunk)  # samples per decoder call; a divisor of k, so every sample counts
  fns = dict(encode=static_fn(encode), decode=static_fn(decode), log_px_given_z=static_fn(log_px_given_z))
  x_all = np.asarray(images, np.float32)
  n = len(x_all)
  size = min(batch_size, n)
  log_px, elbo = [], []
  for j, i in enumerate(range(0, n, size)):
    chunk_x = x_all[i:i + size]
    pad = size - len(chunk_x)
    if pad:  # one compiled shape
      chunk_x = np.concatenate([chunk_x, np.repeat(chunk_x[-1:], pad, axis=0)])
    key = jax.random.fold_in(jax.random.PRNGKey(seed), j)
    lp, el = jax.device_get(_estimate(params, jnp.asarray(chunk_x), key, **fns, k=k, chunk=chunk))
    log_px.append(lp[:size - pad])
    elbo.append(el[:size - pad])
  return np.concatenate(log_px), np.concatenate(elbo)


@functools.partial(jax.jit, static_argnames=("encode", "decode", "log_px_given_z", "k", "chunk"))
def _estimate(params, x, key, *, encode, decode, log_px_given_z, k, chunk):
  """(log p(x) estimate, ELBO) [B] from k samples, drawn `chunk` at a time in a scan."""
  mean, logvar = encode(params, x)
  std = jnp.exp(0.5 * logvar)
  b, latent = mean.shape
  xs = jnp.broadcast_to(x[None], (chunk, *x.shape)).reshape((chunk * b, *x.shape[1:]))

  def body(carry, key):
    lse, total = carry
    eps = jax.random.normal(key, (chunk, b, latent))
    z = mean + std * eps
    log_px = log_px_given_z(params, decode(params, z.reshape((chunk * b, latent))), xs).reshape((chunk, b))
    log_pz = -0.5 * jnp.sum(z**2 + LOG_2PI, -1)
    log_qz = -0.5 * jnp.sum(eps**2 + logvar + LOG_2PI, -1)
    log_w = log_px + log_pz - log_qz  # [chunk, B]
    lse = jnp.logaddexp(lse, jax.scipy.special.logsumexp(log_w, axis=0))
    return (lse, total + log_w.sum(0)), None

  init = (jnp.full((b,), -jnp.inf), jnp.zeros((b,)))
  (lse, total), _ = jax.lax.scan(body, init, jax.random.split(key, k // chunk))
  return lse - math.log(k), total / k


def vae_log_likelihood(model, params, images, *, k: int, batch_size: int = 100, sample_chunk: int = 100,
                       seed: int = 0):
  """iw_log_likelihood for an aejax VAE (its encode/decode and its Bernoulli or Gaussian p(x|z)).

  Params are traced: one compile per (equal model, k, batch shape), reused for new params.
  """
  return _iw(functools.partial(model.apply, method="encode"), functools.partial(model.apply, method="decode"),
             functools.partial(_vae_log_px, model.likelihood), params, images, k=k, batch_size=batch_size,
             sample_chunk=sample_chunk, seed=seed)


def _vae_log_px(likelihood, params, out, x):
  obs_logvar = params["params"].get("obs_logvar") if likelihood == "gaussian" else None
  return losses.log_likelihood(out, x, likelihood, obs_logvar)


def binarize_fixed(images, seed: int) -> np.ndarray:
  """One fixed stochastic binarisation (pixel ~ Bernoulli(intensity)) of uint8/float images: a test set."""
  x = np.asarray(images)
  x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
  return (np.random.default_rng(seed).uniform(size=x.shape) < x).astype(np.float32)
