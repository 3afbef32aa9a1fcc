"""Pure steps: loss goes down; jit, pmap (4 devices) and mesh give the same parameters; GAN step."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from aejax import losses, parallel
from aejax.models import autoencoder, gan
from aejax.train import create_gan_state, create_train_state, make_gan_step, make_train_step
from tests.tolerance import assert_trained_close

RNG = np.random.default_rng(0)
PROTOTYPES = RNG.integers(0, 2, (4, 28, 28, 1)) * 255  # 4 binary patterns: learnable to near-zero error
IMAGES = PROTOTYPES[RNG.integers(0, 4, 64)].astype(np.uint8)


def ae_setup(latent=8):
  model = autoencoder.mlp_autoencoder(latent, hidden=(32,))
  params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
  return model, params, losses.reconstruction(model.apply)


def run_steps(mode, steps=5, batch=16):
  model, params, loss_fn = ae_setup()
  state = parallel.put_state(create_train_state(params, optax.adam(1e-2), seed=0), mode)
  step = parallel.compile_step(make_train_step(loss_fn, parallel.axis_name(mode)), mode)
  history = []
  for s in range(steps):
    global_batch = {"image": IMAGES[(s * batch) % 64:(s * batch) % 64 + batch]}
    state, metrics = step(state, parallel.put_batch(global_batch, mode))
    history.append(float(np.ravel(jax.device_get(metrics["loss"]))[0]))
  return jax.device_get(parallel.get_state(state, mode)), history


def test_four_devices_are_forced():
  assert jax.device_count() == 4


def test_loss_goes_down():
  _, history = run_steps("jit", steps=30)
  assert history[-1] < 0.5 * history[0]


@pytest.mark.parametrize("mode", ["pmap", "mesh"])
def test_parallel_modes_equal_single_device(mode):
  single, h1 = run_steps("jit")
  multi, h4 = run_steps(mode)
  np.testing.assert_allclose(h4, h1, rtol=1e-4)  # a mean over 16 * 784 pixels, summed in another order
  assert_trained_close(single.params, multi.params, lr=1e-2, steps=5)
  assert int(multi.step) == int(single.step) == 5


def test_step_is_pure():
  """Same state and batch in, same state out; the RNG key advances inside the state."""
  model, params, _ = ae_setup()
  step = jax.jit(make_train_step(losses.reconstruction(model.apply, noise_std=0.3)))
  state = create_train_state(params, optax.adam(1e-3), seed=0)
  batch = {"image": IMAGES[:8]}
  a, _ = step(state, batch)
  b, _ = step(state, batch)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(x, y)
  assert not np.array_equal(a.rng, state.rng)


def test_trainable_mask_updates_only_trainable_params():
  model, params, loss_fn = ae_setup()
  state = create_train_state(params, optax.adam(1e-2), seed=0, trainable=lambda path: "decoder" in path)
  new, _ = jax.jit(make_train_step(loss_fn))(state, {"image": IMAGES[:8]})
  enc = lambda s: s.params["params"]["encoder"]
  dec = lambda s: s.params["params"]["decoder"]
  jax.tree.map(np.testing.assert_array_equal, enc(new), enc(state))
  assert any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(dec(new)), jax.tree.leaves(dec(state))))


def test_gan_step_updates_both_players_in_one_jit():
  g, d = gan.MLPGenerator(), gan.MLPDiscriminator()
  key = jax.random.PRNGKey(0)
  gp, dp = g.init(key, jnp.zeros((1, 4))), d.init(key, jnp.zeros((1, 2)))
  d_loss, g_loss = losses.gan_nonsaturating(g.apply, d.apply, latent=4, image_output=False)
  state = create_gan_state(gp, dp, optax.adam(1e-3), optax.adam(1e-3), seed=0)
  step = jax.jit(make_gan_step(d_loss, g_loss))
  new, metrics = step(state, {"image": jnp.asarray(RNG.normal(size=(32, 2)), jnp.float32)})
  assert set(metrics) >= {"d_loss", "g_loss"} and int(new.step) == 1
  for old, upd in ((state.g, new.g), (state.d, new.d)):
    assert any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(old.params), jax.tree.leaves(upd.params)))


def test_gan_step_g_steps_and_d_lr():
  """g_steps=2 is the same as a step whose generator update is followed by another on the next key
  (the generator's optimiser counts two updates per step, the discriminator's one); d_lr sets the
  discriminator's learning rate only, as a traced value."""
  from aejax.train import create_adam_gan_state
  g, d = gan.MLPGenerator(hidden=(8,)), gan.MLPDiscriminator(hidden=(8,))
  key = jax.random.PRNGKey(0)
  gp, dp = g.init(key, jnp.zeros((1, 4))), d.init(key, jnp.zeros((1, 2)))
  d_loss, g_loss = losses.gan_nonsaturating(g.apply, d.apply, latent=4, image_output=False)
  batch = {"image": jnp.asarray(RNG.normal(size=(16, 2)), jnp.float32)}
  state = create_adam_gan_state(gp, dp, 0, 1e-2, d_lr=1e-3)
  new, _ = jax.jit(make_gan_step(d_loss, g_loss, g_steps=2))(state, batch)
  count = lambda s: max(int(x) for x in jax.tree.leaves(s.opt_state) if np.issubdtype(np.asarray(x).dtype, np.integer))
  assert count(new.g) == 2 and count(new.d) == 1
  # Adam's first update of a weight is lr * g / (|g| + 1e-8): the largest moves are d_lr's for D
  moved = lambda a, b: max(float(np.abs(x - y).max()) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))
  np.testing.assert_allclose(moved(new.d.params, dp), 1e-3, rtol=1e-3)


def test_gan_state_averages_the_weights_as_the_closed_form():
  """After k steps the average is decay^k w_0 + (1 - decay) sum_i decay^(k-i) w_i, for both networks;
  the decay is traced (another value reuses the executable) and 0 gives the raw weights."""
  from aejax.experiment import compile_counter
  g, d = gan.MLPGenerator(hidden=(8,)), gan.MLPDiscriminator(hidden=(8,))
  key = jax.random.PRNGKey(0)
  gp, dp = g.init(key, jnp.zeros((1, 4))), d.init(key, jnp.zeros((1, 2)))
  d_loss, g_loss = losses.gan_nonsaturating(g.apply, d.apply, latent=4, image_output=False)
  step = jax.jit(make_gan_step(d_loss, g_loss))
  batch = {"image": jnp.asarray(RNG.normal(size=(16, 2)), jnp.float32)}
  tx = optax.adam(1e-2)  # one optimiser object: the state's static part is then the same
  for decay in (0.9, 0.0):
    before = compile_counter()[0]
    state = create_gan_state(gp, dp, tx, tx, seed=0, average_decay=decay)
    weights = [state.params]
    for _ in range(6):
      state, _ = step(state, batch)
      weights.append(state.params)
    k = len(weights) - 1
    coef = [decay ** k] + [(1 - decay) * decay ** (k - i) for i in range(1, k + 1)]
    closed = jax.tree.map(lambda *ws: sum(c * np.asarray(w, np.float64) for c, w in zip(coef, ws)), *weights)
    # k float32 updates a + (1 - d)(w - a), each rounding to within eps of the running value's scale
    scale = jax.tree.map(lambda *ws: max(float(np.abs(w).max()) for w in ws), *weights)
    for a, b, w in zip(jax.tree.leaves(state.average), jax.tree.leaves(closed), jax.tree.leaves(scale)):
      np.testing.assert_allclose(a, b, rtol=0, atol=4 * k * np.finfo(np.float32).eps * w)
    if decay == 0.0:
      assert compile_counter()[0] == before  # the decay is a value in the state, not a constant


def test_adam_cosine_decay_is_traced_and_matches_optax():
  """train.adam's cosine decay equals optax.cosine_decay_schedule, and other settings reuse the compile."""
  from aejax.experiment import compile_counter
  from aejax.train import create_adam_state
  model, params, loss_fn = ae_setup()
  step = jax.jit(make_train_step(loss_fn))
  batch = {"image": IMAGES[:16]}

  def run(state, n=12):
    for _ in range(n):
      state, _ = step(state, batch)
    return state

  ours = run(create_adam_state(params, 0, 1e-2, decay_steps=10, alpha=0.1))
  reference = run(create_train_state(params, optax.adam(optax.cosine_decay_schedule(1e-2, 10, 0.1)), seed=0))
  assert_trained_close(ours.params, reference.params, lr=1e-2, steps=12)
  before = compile_counter()[0]
  run(create_adam_state(params, 1, 3e-3, b1=0.5, decay_steps=20, alpha=0.01), n=2)
  run(create_adam_state(params, 2, 1e-3), n=2)  # constant learning rate: the same executable
  assert compile_counter()[0] == before
