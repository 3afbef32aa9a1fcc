"""parallel.compile_steps (run_steps): K fused steps give the state that K separate steps give, and a
shorter chunk skips the steps past `count`."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from aejax import losses, parallel
from aejax.models.autoencoder import mlp_autoencoder
from aejax.train import create_train_state, make_train_step
from tests.tolerance import assert_trained_close


def test_scan_steps_equal_separate_steps():
  model = mlp_autoencoder(2, hidden=(8,))
  images = np.random.default_rng(0).integers(0, 256, (12, 28, 28, 1), dtype=np.uint8)
  params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
  step = make_train_step(losses.reconstruction(model.apply, noise_std=0.1))
  idx = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
  state = create_train_state(params, optax.adam(1e-2), 0)
  start = jax.tree.map(jnp.array, state)  # copies: the fused call donates its state
  fused, metrics, active = parallel.compile_steps(step)(jax.tree.map(jnp.array, state), {"image": images}, idx, 3)
  for rows in idx:
    state, last = step(state, {"image": images[rows]})
  assert metrics["loss"].shape == (3,) and int(fused.step) == 3 and bool(active.all())
  # the loss after 2 Adam steps: a mean over 784 * 4 pixels, so rounding is ~1e-6 relative
  np.testing.assert_allclose(metrics["loss"][-1], last["loss"], rtol=1e-4)
  assert_trained_close(fused.params, state.params, lr=1e-2, steps=3)
  # a chunk of 2 of the 3 slots: the last is skipped, the state is that after two steps
  two, metrics, active = parallel.compile_steps(step)(start, {"image": images}, idx, 2)
  assert int(two.step) == 2 and active.tolist() == [True, True, False] and float(metrics["loss"][-1]) == 0.0
