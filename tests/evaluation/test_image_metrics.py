"""PSNR and AUROC against hand-computed values."""

import jax.numpy as jnp
import numpy as np
import pytest

from aejax.evaluation import image_metrics as im


def test_psnr_of_a_known_error():
  ref = np.zeros((3, 4, 4, 1), np.float32)
  est = ref + 0.1  # mse 0.01 -> 20 dB
  assert im.psnr(ref, est) == pytest.approx(20.0, abs=1e-4)
  assert im.psnr(ref, ref + 0.01) == pytest.approx(40.0, abs=1e-3)
  # uint8 inputs are scaled to [0, 1]
  assert im.psnr(np.zeros((1, 2, 2, 1), np.uint8), np.full((1, 2, 2, 1), 255, np.uint8)) == pytest.approx(0.0, abs=1e-6)


def test_psnr_is_a_mean_over_images():
  ref = np.zeros((2, 4, 4, 1), np.float32)
  est = np.stack([ref[0] + 0.1, ref[1] + 0.01])
  assert im.psnr(ref, est) == pytest.approx(30.0, abs=1e-3)


def test_add_noise_clips_and_has_the_right_std():
  x = np.full((200, 28, 28, 1), 0.5, np.float32)
  noisy = im.add_noise(x, 0.1, seed=0)
  assert noisy.min() >= 0 and noisy.max() <= 1
  assert np.std(noisy - x) == pytest.approx(0.1, rel=0.02)


def test_auroc_extremes_and_ties():
  assert im.auroc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
  assert im.auroc([4, 3, 2, 1], [0, 0, 1, 1]) == 0.0
  assert im.auroc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5
  # one positive above one of two negatives, tied with the other: (1 + 0.5) / 2
  assert im.auroc([0.0, 1.0, 1.0], [0, 0, 1]) == pytest.approx(0.75)


def test_auroc_matches_pairwise_count():
  rng = np.random.default_rng(0)
  s = rng.integers(0, 20, 300).astype(float)  # many ties
  y = rng.random(300) < 0.3
  pos, neg = s[y], s[~y]
  pairwise = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
  assert im.auroc(s, y) == pytest.approx(pairwise)
  with pytest.raises(ValueError):
    im.auroc([1, 2], [1, 1])


def test_reconstruction_mse_of_an_identity_model_is_zero():
  x = np.random.default_rng(0).uniform(0.05, 0.95, (5, 4, 4, 1)).astype(np.float32)
  identity = lambda params, x: (jnp.log(x / (1 - x)), x)  # logits whose sigmoid is x
  np.testing.assert_allclose(im.reconstruction_mse(identity, None, x), 0, atol=1e-10)
