"""Mode counting: 2-D Gaussian mixtures (VEEGAN protocol) and Stacked MNIST (1000 digit triples).

2-D mixtures (Srivastava et al. 2017, as implemented in the PacGAN authors' evaluation code):
a sample is *high quality* if it lies within `threshold` (3) standard deviations of its nearest
mode; a mode is *captured* if at least `min_count` high-quality samples have it as their nearest
mode. The published tables use min_count = 1 with 2500 samples per generator.

Stacked MNIST: each of the three channels is classified by a pretrained MNIST classifier; the
triple (a, b, c) names one of 1000 modes. `modes` is the number of distinct triples among the
samples and `kl` is KL(generated triple histogram || uniform over 1000) in nats.
"""

from typing import Callable

import numpy as np


def nearest_mode(samples, modes, std: float) -> tuple[np.ndarray, np.ndarray]:
  """(index of the nearest mode [N], distance to it in units of `std` [N]) for 2-D samples."""
  samples = np.asarray(samples, np.float64)
  d2 = ((samples[:, None, :] - np.asarray(modes, np.float64)[None]) ** 2).sum(-1)
  idx = d2.argmin(1)
  return idx, np.sqrt(d2[np.arange(len(samples)), idx]) / std


def mixture_modes(samples, modes, std: float, threshold: float = 3.0, min_count: int = 1) -> dict:
  """VEEGAN's metrics for samples of a 2-D mixture with (isotropic) component `std`.

  Returns modes (captured, int), hq_pct (% of samples within `threshold` std of their nearest
  mode) and counts (high-quality samples per mode, a list).
  """
  idx, dist = nearest_mode(samples, modes, std)
  hq = dist < threshold
  counts = np.bincount(idx[hq], minlength=len(modes))
  return {"modes": int((counts >= min_count).sum()), "hq_pct": float(100.0 * hq.mean()),
          "counts": counts.tolist()}


def channel_digits(predict: Callable, images) -> np.ndarray:
  """Classify each channel of [N, H, W, C] images with `predict([M, H, W, 1]) -> [M]`: [N, C] digits."""
  images = np.asarray(images)
  n, c = len(images), images.shape[-1]
  per_channel = np.moveaxis(images, -1, 1).reshape((n * c, *images.shape[1:-1], 1))
  return np.asarray(predict(per_channel)).reshape((n, c))


def kl_to_uniform(labels, num_modes: int) -> float:
  """KL(empirical histogram of integer `labels` || uniform over num_modes), in nats."""
  p = np.bincount(np.asarray(labels), minlength=num_modes) / len(labels)
  p = p[p > 0]
  return float(np.sum(p * np.log(p * num_modes)))


def stacked_mnist_modes(predict: Callable, images, num_classes: int = 10) -> dict:
  """Stacked-MNIST metrics for [N, 28, 28, 3] images: modes (distinct triples) and kl to uniform.

  predict([M, 28, 28, 1]) -> [M] digit labels, e.g. aejax.evaluation.classifier's `predict`.
  """
  digits = channel_digits(predict, images)
  triples = digits @ (num_classes ** np.arange(digits.shape[1])[::-1])  # 100a + 10b + c
  num_modes = num_classes ** digits.shape[1]
  return {"modes": int(len(np.unique(triples))), "kl": kl_to_uniform(triples, num_modes)}
