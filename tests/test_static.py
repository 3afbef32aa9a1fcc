"""Static functions compare by value (aejax.static): equal models and settings give equal functions,
steps and one compile; something unhashable inside raises a TypeError that names it."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aejax import losses, parallel
from aejax.models import gan
from aejax.models.autoencoder import mlp_autoencoder
from aejax.static import by_value, static_fn
from aejax.train import create_adam_state, make_gan_step, make_train_step

SHAPE = (5, 5, 1)  # used by no other test, so the first step here must compile
ae = lambda hidden=(6,): mlp_autoencoder(2, image_shape=SHAPE, hidden=hidden)  # a fresh, equal model each call


def assert_same(a, b):
  assert a == b and hash(a) == hash(b)


def test_bound_methods_and_partials_of_equal_modules_are_equal():
  assert_same(static_fn(ae().apply), static_fn(ae().apply))
  assert_same(static_fn(functools.partial(ae().apply, method="encode")),
              static_fn(functools.partial(ae().apply, method="encode")))
  assert_same(static_fn(functools.partial(ae().apply, method=ae().encode)),  # a bound method inside a partial
              static_fn(functools.partial(ae().apply, method=ae().encode)))
  assert static_fn(ae().apply) != static_fn(ae((7,)).apply)  # another architecture
  assert static_fn(functools.partial(ae().apply, method="encode")) != static_fn(functools.partial(ae().apply,
                                                                                              method="decode"))
  assert static_fn(ae().apply) != static_fn(functools.partial(ae().apply))
  f = lambda x: x
  assert static_fn(f) is f and static_fn(lambda x: x) != static_fn(f)  # a plain function is itself
  wrapped = static_fn(ae().apply)
  assert static_fn(wrapped) is wrapped


def test_losses_compare_by_factory_and_settings():
  assert_same(losses.reconstruction(ae().apply), losses.reconstruction(ae().apply, kind="mse"))  # the default
  assert_same(losses.reconstruction(ae().apply, noise_std=0.1), losses.reconstruction(ae().apply, noise_std=0.1))
  assert losses.reconstruction(ae().apply, noise_std=0.1) != losses.reconstruction(ae().apply, noise_std=0.2)
  assert losses.reconstruction(ae().apply) != losses.reconstruction(ae().apply, kind="bce")
  assert losses.reconstruction(ae().apply) != losses.cross_entropy(ae().apply)
  g, d = gan.MLPGenerator(hidden=(4,)), gan.MLPDiscriminator(hidden=(4,))
  d_loss, g_loss = losses.gan_nonsaturating(g.apply, d.apply, 3)
  d_again, g_again = losses.gan_nonsaturating(gan.MLPGenerator(hidden=(4,)).apply,
                                              gan.MLPDiscriminator(hidden=(4,)).apply, latent=3)
  assert_same(d_loss, d_again)
  assert_same(g_loss, g_again)
  assert d_loss != g_loss and d_loss != losses.gan_nonsaturating(g.apply, d.apply, 3, pack=2)[0]
  assert_same(make_gan_step(d_loss, g_loss), make_gan_step(d_again, g_again))
  assert_same(make_train_step(losses.elbo(ae().apply)), make_train_step(losses.elbo(ae().apply)))


def test_a_factory_of_ones_own_compares_by_value():
  @by_value
  def scaled(apply_fn, weight: float = 1.0, **extra):
    return lambda params, batch, rng: (weight * apply_fn(params, batch), {})

  assert_same(scaled(ae().apply, 2.0, tag="a"), scaled(ae().apply, weight=2.0, tag="a"))
  assert scaled(ae().apply, 2.0, tag="a") != scaled(ae().apply, 2.0, tag="b")
  with pytest.raises(TypeError, match=r"scaled\(extra=\.\.\.\)\[0\]\[1\] is unhashable \(list\)"):
    scaled(ae().apply, tag=[1])


def test_unhashable_contents_raise_naming_the_argument():
  fix = "arrays belong in the state or batch"
  with pytest.raises(TypeError, match=f"reconstruction\\(noise_std=\\.\\.\\.\\) is unhashable.*{fix}"):
    losses.reconstruction(ae().apply, noise_std=jnp.float32(0.1))
  with pytest.raises(TypeError, match=f"the train step's loss_fn argument 'mask' is unhashable \\(ndarray\\).*{fix}"):
    make_train_step(functools.partial(lambda params, batch, rng, mask: (0.0, {}), mask=np.ones(3)))
  with pytest.raises(TypeError, match="the function argument 0 is unhashable"):
    static_fn(functools.partial(ae().apply, np.zeros(2)))
  # a module with a list field: Flax cannot hash it, so neither can its apply; the field is named
  named = r"gan_nonsaturating\(g_apply=\.\.\.\)'s instance field 'hidden' is unhashable \(list\)"
  with pytest.raises(TypeError, match=named):
    losses.gan_nonsaturating(gan.MLPGenerator(hidden=[4]).apply, gan.MLPDiscriminator().apply, 3)
  with pytest.raises(TypeError, match="generate's g_apply's instance field 'hidden'"):
    gan.generate(gan.MLPGenerator(hidden=[4]).apply, {}, 2, 3, seed=0)


def test_equal_losses_built_twice_compile_once(count_compiles):
  x = np.random.default_rng(0).integers(0, 256, (4, *SHAPE), dtype=np.uint8)
  params = ae().init(jax.random.PRNGKey(0), jnp.zeros((1, *SHAPE)))

  def run(noise_std):  # everything built afresh: model, loss, step, compiled wrapper
    step = make_train_step(losses.reconstruction(ae().apply, noise_std=noise_std))
    state = create_adam_state(params, 0, 1e-3)  # the shared Adam: a new optax.adam would be a new static tx
    return parallel.compile_step(step, "jit", donate=False)(state, {"image": x})
  (_, first), compiles = count_compiles(lambda: run(0.1))
  assert compiles > 0
  (_, again), compiles = count_compiles(lambda: run(0.1))
  assert compiles == 0
  np.testing.assert_array_equal(first["loss"], again["loss"])
  _, compiles = count_compiles(lambda: run(0.2))  # another loss: its own executable
  assert compiles > 0


def test_generate_compiles_once_for_equal_generators(count_compiles):
  g = lambda: gan.MLPGenerator(out_dim=3, hidden=(5,))
  params = g().init(jax.random.PRNGKey(0), jnp.zeros((1, 4)))
  first, compiles = count_compiles(lambda: gan.generate(g().apply, params, 7, 4, seed=0, image_output=False,
                                                        batch_size=6))
  assert compiles > 0 and first.shape == (7, 3)
  again, compiles = count_compiles(lambda: gan.generate(g().apply, params, 7, 4, seed=0, image_output=False,
                                                        batch_size=6))
  assert compiles == 0
  np.testing.assert_array_equal(first, again)
