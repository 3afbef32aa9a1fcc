"""Probes on synthetic features whose answer is known."""

import numpy as np
import pytest

from aejax.evaluation import probes


def blobs(n, d, seed, sep=4.0, classes=3):
  rng = np.random.default_rng(seed)
  centers = np.random.default_rng(99).normal(0, sep, (classes, d))
  y = rng.integers(0, classes, n)
  return (centers[y] + rng.normal(0, 1, (n, d))).astype(np.float32), y


@pytest.mark.parametrize("batch_size", [None, 64])
def test_linear_probe_separates_blobs_and_fails_on_shuffled_labels(batch_size):
  x, y = blobs(600, 5, 0)
  xt, yt = blobs(300, 5, 1)
  acc = probes.linear_probe_accuracy(x, y, xt, yt, num_classes=3, steps=300, batch_size=batch_size)
  assert acc > 0.95
  shuffled = np.random.default_rng(0).permutation(y)
  chance = probes.linear_probe_accuracy(x, shuffled, xt, yt, num_classes=3, steps=300, batch_size=batch_size)
  assert chance < 0.6


def test_linear_probe_needs_a_linear_boundary():
  # XOR: no linear probe can beat ~chance, k-NN can
  rng = np.random.default_rng(0)
  x = rng.uniform(-1, 1, (800, 2)).astype(np.float32)
  y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int32)
  assert probes.linear_probe_accuracy(x[:600], y[:600], x[600:], y[600:], 2, steps=300) < 0.7
  assert probes.knn_accuracy(x[:600], y[:600], x[600:], y[600:], k=5, num_classes=2) > 0.9


def test_knn_matches_brute_force():
  x, y = blobs(257, 4, 0, sep=1.0)
  q, _ = blobs(123, 4, 1, sep=1.0)
  pred = probes.knn_predict(x, y, q, k=1, num_classes=3, chunk=50)
  d = ((q[:, None] - x[None]) ** 2).sum(-1)
  np.testing.assert_array_equal(pred, y[d.argmin(1)])
  pred5 = probes.knn_predict(x, y, q, k=5, num_classes=3, chunk=50)
  nn5 = y[np.argsort(d, 1)[:, :5]]
  counts = np.stack([(nn5 == c).sum(1) for c in range(3)], 1)
  clear = counts.max(1) >= 3  # a strict majority: no tie to break
  np.testing.assert_array_equal(pred5[clear], counts.argmax(1)[clear])


def test_pca_finds_the_dominant_direction_and_orders_variance():
  rng = np.random.default_rng(0)
  direction = np.array([3.0, 4.0, 0.0]) / 5.0
  x = rng.normal(0, 5, (500, 1)) * direction + rng.normal(0, 0.1, (500, 3))
  pca = probes.pca_fit(x, 2)
  assert abs(abs(float(np.dot(np.asarray(pca["components"][:, 0]), direction))) - 1) < 1e-3
  ev = np.asarray(pca["explained_variance"])
  assert ev[0] > 100 * ev[1]
  z = probes.pca_transform(pca, x)
  assert z.shape == (500, 2)
  np.testing.assert_allclose(z.mean(0), 0, atol=1e-4)


def test_flatten_scales_uint8_images():
  imgs = np.full((2, 28, 28, 1), 255, np.uint8)
  f = probes.flatten(imgs)
  assert f.shape == (2, 784) and f.dtype == np.float32 and f.max() == 1.0
