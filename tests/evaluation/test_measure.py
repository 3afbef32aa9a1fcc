"""mean_std and measure_autoencoder on tiny synthetic data."""

import flax.linen as nn
import jax
import numpy as np
import pytest

from aejax.evaluation import image_metrics, mean_std, measure_autoencoder, probes
from aejax.models.autoencoder import Autoencoder, mlp_autoencoder


class _Flatten(nn.Module):
  @nn.compact
  def __call__(self, x):
    return x.reshape((x.shape[0], -1))


class _SharpUnflatten(nn.Module):
  """Codes are pixels; logits 40 (x - 0.5) so binary images come back almost exactly."""
  @nn.compact
  def __call__(self, z):
    return (40.0 * (z - 0.5)).reshape((z.shape[0], 8, 8, 1))


def _blobs(n, seed):
  """Binary 8x8 images: class c lights up row c (4 classes) plus random pixels."""
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 4, n).astype(np.int32)
  x = (rng.uniform(size=(n, 8, 8, 1)) < 0.1).astype(np.uint8) * 255
  x[np.arange(n), y, :, 0] = 255
  return x, y


def test_mean_std_over_seeds():
  out = mean_std([{"a": 1.0, "b": 2}, {"a": 3.0, "b": 2}])
  assert out == {"a": 2.0, "a_std": 1.0, "b": 2.0, "b_std": 0.0, "_n": 2}
  from aejax.report import pm
  assert pm(out, "a") == "2 ± 1" and pm(mean_std([{"a": 1.5}]), "a") == "1.5"  # one seed: no spread to show


def test_identity_model_measures_like_pixels():
  tr_x, tr_y = _blobs(300, 0)
  te_x, te_y = _blobs(100, 1)
  model = Autoencoder(_Flatten(), _SharpUnflatten())
  params = model.init(jax.random.PRNGKey(0),
                      np.zeros((1, 8, 8, 1), np.float32))
  m = measure_autoencoder(model, params, tr_x, tr_y, te_x, te_y, probe_train=200, probe_steps=50,
                          knn_ref=150, knn_query=80, num_classes=4)
  assert set(m) == {"recon_mse_train", "recon_mse_test", "probe_acc", "knn_acc", "denoise_psnr"}
  assert m["recon_mse_train"] < 1e-6 and m["recon_mse_test"] < 1e-6  # copies binary images
  # codes are the pixels, so k-NN on codes is k-NN on pixels, on the stated subsets
  assert m["knn_acc"] == probes.knn_accuracy(tr_x[:150], tr_y[:150], te_x[:80], te_y[:80], 5, 4)
  assert m["probe_acc"] > 0.9  # the class row is linearly readable
  # denoising is scored on the whole test set with noise sigma 0.3 drawn from seed + 1000
  noisy = image_metrics.add_noise(te_x, 0.3, seed=1000)
  out = image_metrics.reconstruct(model.apply, params, noisy)
  assert m["denoise_psnr"] == pytest.approx(image_metrics.psnr(te_x, out), abs=1e-4)


def test_recon_mse_train_uses_the_first_probe_train_images():
  tr_x, tr_y = _blobs(64, 2)
  te_x, te_y = _blobs(32, 3)
  model = mlp_autoencoder(4, image_shape=(8, 8, 1), hidden=(16,))
  params = model.init(jax.random.PRNGKey(1), np.zeros((1, 8, 8, 1), np.float32))
  m = measure_autoencoder(model, params, tr_x, tr_y, te_x, te_y, probe_train=40, probe_steps=5,
                          knn_ref=20, knn_query=10, num_classes=4)
  expected = image_metrics.reconstruction_mse(model.apply, params, tr_x[:40]).mean()
  assert m["recon_mse_train"] == pytest.approx(float(expected), rel=1e-5)
  assert 0.0 <= m["probe_acc"] <= 1.0 and 0.0 <= m["knn_acc"] <= 1.0


def test_shuffle_pixels_keeps_intensities_and_support():
  x = np.zeros((5, 6, 6, 1), np.uint8)
  x[:, 1:5, 1:5, 0] = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10 + 1
  support = image_metrics.ink_support(x)
  assert support.sum() == 16
  for sup in (None, support):
    y = image_metrics.shuffle_pixels(x, seed=0, support=sup)
    assert y.shape == x.shape and y.dtype == x.dtype
    np.testing.assert_array_equal(np.sort(y.reshape(5, -1), 1), np.sort(x.reshape(5, -1), 1))
    assert not np.array_equal(y, x)
  y = image_metrics.shuffle_pixels(x, seed=0, support=support)
  assert (y[:, ~support] == 0).all()  # nothing lit outside the support
  assert not np.array_equal(y[0], y[1])  # each image gets its own order
