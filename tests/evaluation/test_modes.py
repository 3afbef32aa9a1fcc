"""Mode counting on samples whose answer is known."""

import numpy as np
import pytest

from aejax import data
from aejax.evaluation import modes


@pytest.mark.parametrize("kind, num_modes", [("ring", 8), ("grid", 25)])
def test_real_mixture_samples_cover_every_mode_with_high_quality(kind, num_modes):
  points, centers, std = data.mixture(kind, 2500, seed=0)
  m = modes.mixture_modes(points, centers, std)
  assert m["modes"] == num_modes
  assert 98.0 < m["hq_pct"] <= 100.0  # P(|N(0, I_2)| < 3) = 1 - exp(-4.5) = 98.9%
  assert sum(m["counts"]) == pytest.approx(2500 * m["hq_pct"] / 100)


def test_collapsed_and_off_mode_samples():
  points, centers, std = data.mixture("ring", 2500, seed=1)
  one_mode = np.where(np.arange(2500)[:, None] % 100 == 0, points, centers[3] + std * 0.5)
  m = modes.mixture_modes(one_mode, centers, std)
  assert m["hq_pct"] > 98 and m["modes"] == 8  # 25 stray samples still count with the >= 1 rule
  assert modes.mixture_modes(one_mode, centers, std, min_count=50)["modes"] == 1
  between = (centers + np.roll(centers, 1, 0)) / 2  # midpoints: near no mode
  m = modes.mixture_modes(np.repeat(between, 10, 0), centers, std)
  assert m["modes"] == 0 and m["hq_pct"] == 0.0


def test_nearest_mode_distance_is_in_std_units():
  idx, dist = modes.nearest_mode(np.array([[2.0, 0.1]]), data.ring_modes(), 0.05)
  assert idx[0] == 0 and dist[0] == pytest.approx(2.0)


def stacked(triples):
  """Images whose channel c is filled with the digit triples[:, c]; a 'classifier' reads one pixel."""
  t = np.asarray(triples, np.uint8)
  return np.broadcast_to(t[:, None, None, :], (len(t), 28, 28, 3)).copy()


def read_pixel(x):
  assert x.shape[1:] == (28, 28, 1)
  return x[:, 0, 0, 0]


def test_stacked_mnist_counts_triples_in_channel_order_and_kl():
  all_triples = np.stack(np.meshgrid(*[np.arange(10)] * 3, indexing="ij"), -1).reshape(-1, 3)
  m = modes.stacked_mnist_modes(read_pixel, stacked(np.repeat(all_triples, 2, 0)))
  assert m["modes"] == 1000 and m["kl"] == pytest.approx(0.0, abs=1e-9)
  m = modes.stacked_mnist_modes(read_pixel, stacked([[1, 2, 3]] * 5 + [[3, 2, 1]] * 5))
  assert m["modes"] == 2 and m["kl"] == pytest.approx(np.log(500))
  digits = modes.channel_digits(read_pixel, stacked([[7, 0, 4]]))
  assert digits.tolist() == [[7, 0, 4]]


def one_hot_logits(x, sure: float = 20.0):
  """Logits that read the pixel as the digit: confident (max softmax near 1) unless the pixel is 255."""
  digit = x[:, 0, 0, 0].astype(int)
  logits = np.zeros((len(x), 10))
  logits[np.arange(len(x)), digit % 10] = np.where(digit == 255, 0.1, sure)  # 255: an unsure read of 5
  return logits


def test_confident_counts_need_every_channel_read_confidently():
  triples = [[1, 2, 3]] * 6 + [[4, 5, 6]] * 2 + [[7, 255, 9]] * 2  # the last two: one channel unsure
  m = modes.stacked_mnist_modes(one_hot_logits, stacked(triples))
  assert m["modes"] == 3  # argmax reads 7, 5, 9: the unsure channel still names a mode
  assert m["confident_modes"] == 2 and m["confident_pct"] == pytest.approx(80.0)
  assert m["confident_kl"] == pytest.approx(0.75 * np.log(750) + 0.25 * np.log(250))
  none = modes.stacked_mnist_modes(one_hot_logits, stacked([[255, 255, 255]]))
  assert none["confident_pct"] == 0.0 and none["confident_modes"] == 0 and none["confident_kl"] is None


def test_noise_control_is_digit_sized_noise():
  x = modes.noise_images(8, seed=0)
  assert x.shape == (8, 28, 28, 3) and x.dtype == np.uint8
  assert not x[:, :4].any() and not x[:, :, -4:].any()  # black outside the centred 20 x 20 box
  assert x[:, 4:24, 4:24].std() > 30 and not np.array_equal(x[..., 0], x[..., 1])
