"""Mode counting: 2-D Gaussian mixtures (VEEGAN protocol) and Stacked MNIST (1000 digit triples).

2-D mixtures (Srivastava et al. 2017, as implemented in the PacGAN authors' evaluation code):
a sample is *high quality* if it lies within `threshold` (3) standard deviations of its nearest
mode; a mode is *captured* if at least `min_count` high-quality samples have it as their nearest
mode. The published tables use min_count = 1 with 2500 samples per generator.

Stacked MNIST: each of the three channels is classified by a pretrained MNIST classifier; the
triple (a, b, c) names one of 1000 modes. `modes` is the number of distinct triples among the
samples and `kl` is KL(generated triple histogram || uniform over 1000) in nats, each channel read
by its argmax, as the published tables count. A classifier labels noise too, so argmax counts alone
can call noise 900 modes: a sample is *confident* when every channel's max softmax is at least
`confidence` (0.9), and `confident_modes` / `confident_kl` count only confident samples.
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


def channel_probs(classify: Callable, images) -> np.ndarray:
  """Classify each channel of [N, H, W, C] images with `classify([M, H, W, 1])`: [N, C, K] class
  probabilities when it returns [M, K] logits, [N, C] labels when it returns [M] labels."""
  images = np.asarray(images)
  n, c = len(images), images.shape[-1]
  per_channel = np.moveaxis(images, -1, 1).reshape((n * c, *images.shape[1:-1], 1))
  out = np.asarray(classify(per_channel))
  if out.ndim == 1:
    return out.reshape((n, c))
  out = out.astype(np.float64)
  p = np.exp(out - out.max(-1, keepdims=True))
  return (p / p.sum(-1, keepdims=True)).reshape((n, c, -1))


def channel_digits(classify: Callable, images) -> np.ndarray:
  """[N, C] digits, each channel of [N, H, W, C] images read by `classify` (labels or logits)."""
  out = channel_probs(classify, images)
  return out if out.ndim == 2 else out.argmax(-1)


def kl_to_uniform(labels, num_modes: int) -> float:
  """KL(empirical histogram of integer `labels` || uniform over num_modes), in nats."""
  p = np.bincount(np.asarray(labels), minlength=num_modes) / len(labels)
  p = p[p > 0]
  return float(np.sum(p * np.log(p * num_modes)))


def stacked_mnist_modes(classify: Callable, images, num_classes: int = 10, confidence: float = 0.9) -> dict:
  """Stacked-MNIST metrics for [N, 28, 28, 3] images: modes (distinct argmax triples) and kl to uniform;
  with a `classify` that returns logits also confident_pct (% of samples whose every channel has max
  softmax >= confidence), confident_modes and confident_kl (the same counts over confident samples only;
  confident_kl is None when none is confident).

  classify([M, 28, 28, 1]) -> [M, K] logits (aejax.evaluation.classifier's `logits`) or [M] labels.
  """
  out = channel_probs(classify, images)
  digits = out if out.ndim == 2 else out.argmax(-1)
  triples = digits @ (num_classes ** np.arange(digits.shape[1])[::-1])  # 100a + 10b + c
  num_modes = num_classes ** digits.shape[1]
  result = {"modes": int(len(np.unique(triples))), "kl": kl_to_uniform(triples, num_modes)}
  if out.ndim == 3:
    sure = (out.max(-1) >= confidence).all(-1)
    result.update(confident_pct=float(100.0 * sure.mean()), confident_modes=int(len(np.unique(triples[sure]))),
                  confident_kl=kl_to_uniform(triples[sure], num_modes) if sure.any() else None)
  return result


def noise_images(n: int, seed: int, channels: int = 3, size: int = 28, box: int = 20) -> np.ndarray:
  """A control that is not digits: [n, size, size, channels] uint8 of smoothed uniform noise inside a
  centred box x box square (digit-sized strokes of ink on a black ground), each channel independent."""
  rng = np.random.default_rng(seed)
  x = rng.random((n, channels, box + 4, box + 4))
  k = np.ones(5) / 5  # a 5-pixel box blur in each direction: blobs of a stroke's width
  x = np.apply_along_axis(lambda r: np.convolve(r, k, "valid"), 2, x)
  x = np.apply_along_axis(lambda r: np.convolve(r, k, "valid"), 3, x)
  x = np.clip((x - x.mean()) / x.std() * 128 + 64, 0, 255)
  out = np.zeros((n, channels, size, size))
  lo = (size - box) // 2
  out[:, :, lo:lo + box, lo:lo + box] = x
  return np.moveaxis(out, 1, -1).astype(np.uint8)
