"""recipes.train_autoencoder: learns, is reproducible, passes loss settings and eval_fn through."""

import jax
import numpy as np

from aejax import recipes
from aejax.evaluation import image_metrics
from aejax.models.autoencoder import mlp_autoencoder
from aejax.recipes import train_autoencoder


def _images(n=256, seed=0):
  rng = np.random.default_rng(seed)
  x = np.zeros((n, 8, 8, 1), np.uint8)
  x[np.arange(n), rng.integers(0, 8, n), :, 0] = 255  # one lit row per image
  return x


def test_trains_reproducibly_and_reduces_error():
  x = _images()
  model = mlp_autoencoder(8, image_shape=(8, 8, 1), hidden=(32,))
  init = model.init(jax.random.PRNGKey(0), np.zeros((1, 8, 8, 1), np.float32))
  state, history = train_autoencoder(model, x, steps=60, batch_size=32, lr=3e-3, seed=0, log_every=20)
  params = state.params
  assert [h["step"] for h in history] == [20, 40, 60]
  before = image_metrics.reconstruction_mse(model.apply, init, x).mean()
  after = image_metrics.reconstruction_mse(model.apply, params, x).mean()
  assert after < 0.5 * before
  again, _ = train_autoencoder(model, x, steps=60, batch_size=32, lr=3e-3, seed=0, log_every=20)
  np.testing.assert_array_equal(jax.tree.leaves(params)[0], jax.tree.leaves(again.params)[0])


def test_loss_settings_and_eval_fn_pass_through():
  x = _images(64)
  model = mlp_autoencoder(16, image_shape=(8, 8, 1), hidden=(), code_activation="relu")
  calls = []

  def eval_fn(state):
    calls.append(int(state.step))
    return {"probe": 1.0}

  _, history = train_autoencoder(model, x, steps=10, batch_size=16, lr=1e-3, seed=1, l1_codes=1e-3,
                                 noise_std=0.3, log_every=5, eval_fn=eval_fn)
  assert calls == [5, 10]
  assert all("l1_codes" in h and h["probe"] == 1.0 for h in history)
  assert history[-1]["loss"] > history[-1]["recon_mse"]  # the L1 penalty is part of the loss
