"""Image-level measurements: PSNR of reconstructions/denoisings, AUROC of anomaly scores."""

import functools

import jax
import numpy as np

from aejax.evaluation import batched_apply, static_fn


def _float(x):
  x = np.asarray(x)
  return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)


def psnr_per_image(reference, estimate, max_val: float = 1.0) -> np.ndarray:
  """PSNR in dB of each image [N]; inputs [N, ...] in [0, 1] (uint8 is scaled)."""
  ref, est = _float(reference), _float(estimate)
  mse = ((ref - est) ** 2).reshape((len(ref), -1)).mean(-1)
  return 10.0 * np.log10(max_val**2 / np.maximum(mse, 1e-12))


def psnr(reference, estimate, max_val: float = 1.0) -> float:
  """Mean over images of the per-image PSNR (dB)."""
  return float(np.mean(psnr_per_image(reference, estimate, max_val)))


def add_noise(images, sigma: float, seed: int) -> np.ndarray:
  """Gaussian noise of std `sigma` on [0, 1] images, clipped back to [0, 1] (what a sensor gives)."""
  x = _float(images)
  noise = np.random.default_rng(seed).normal(0.0, sigma, x.shape).astype(np.float32)
  return np.clip(x + noise, 0.0, 1.0)


def reconstruct(apply_fn, params, images, batch_size: int = 1000) -> np.ndarray:
  """sigmoid(decoder logits) for `images` under `apply_fn(params, x) -> (logits, codes)`.

  One compile per (apply_fn, batch shape): params are traced, so new params reuse it. Pass
  `model.apply` or a module-level function; a fresh lambda per call compiles per call.
  """
  return batched_apply(functools.partial(_output, static_fn(apply_fn), params), _float(images), batch_size)


@functools.partial(jax.jit, static_argnames="apply_fn")
def _output(apply_fn, params, x):
  return jax.nn.sigmoid(apply_fn(params, x)[0])


def reconstruction_mse(apply_fn, params, images, batch_size: int = 1000) -> np.ndarray:
  """Per-image mean squared reconstruction error [N] (the anomaly score of an autoencoder)."""
  x = _float(images)
  return ((reconstruct(apply_fn, params, x, batch_size) - x) ** 2).reshape((len(x), -1)).mean(-1)


def rankdata(x) -> np.ndarray:
  """Ranks 1..N with ties given their average rank (as scipy.stats.rankdata)."""
  x = np.asarray(x)
  order = np.argsort(x, kind="mergesort")
  sorted_x = x[order]
  # boundaries of runs of equal values
  starts = np.r_[0, np.flatnonzero(sorted_x[1:] != sorted_x[:-1]) + 1]
  ends = np.r_[starts[1:], len(x)]
  avg = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
  ranks = np.empty(len(x))
  ranks[order] = np.repeat(avg, ends - starts)
  return ranks


def auroc(scores, is_positive) -> float:
  """Area under the ROC curve via the Mann-Whitney U statistic (ties count one half).

  scores: higher means "more positive" (e.g. reconstruction error, positives = anomalies).
  """
  scores, pos = np.asarray(scores, np.float64), np.asarray(is_positive, bool)
  n_pos, n_neg = int(pos.sum()), int((~pos).sum())
  if n_pos == 0 or n_neg == 0:
    raise ValueError("AUROC needs at least one positive and one negative example")
  ranks = rankdata(scores)
  u = ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0
  return float(u / (n_pos * n_neg))


def shuffle_pixels(images, seed: int, support=None) -> np.ndarray:
  """Each image's pixels in its own random order: the same intensities with no shape left.

  support: optional boolean mask [H, W, C] (e.g. where the training images ever have ink); pixels
  are then permuted only among those positions, so the result uses no pixel a model never saw lit.
  An autoencoder that copies its input reconstructs these as well as real images; one that
  learned the data's structure cannot (the identity test of q3/q4).
  """
  x = np.asarray(images)
  flat = x.reshape((len(x), -1)).copy()
  cols = np.arange(flat.shape[1]) if support is None else np.flatnonzero(np.asarray(support).reshape(-1))
  rng = np.random.default_rng(seed)
  order = np.argsort(rng.uniform(size=(len(x), len(cols))), axis=1)
  flat[:, cols] = np.take_along_axis(flat[:, cols], order, axis=1)
  return flat.reshape(x.shape)


def ink_support(images, min_fraction: float = 0.01) -> np.ndarray:
  """Boolean mask [H, W, C] of the positions that are non-zero in at least `min_fraction` of `images`."""
  return (np.asarray(images) > 0).mean(0) >= min_fraction
