"""Losses: the math they claim (closed forms), and the corruptions and penalties they add."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from aejax import losses

KEY = jax.random.PRNGKey(0)


def test_to_float_scales_uint8_only():
  assert float(losses.to_float(jnp.array([255], jnp.uint8))[0]) == 1.0
  assert float(losses.to_float(jnp.array([0.5]))[0]) == 0.5


def test_corrupt_noise_and_masking():
  x = jnp.ones((1000,))
  assert jnp.array_equal(losses.corrupt(x, KEY), x)
  noisy = losses.corrupt(x, KEY, noise_std=0.5)
  assert abs(float(jnp.std(noisy - x)) - 0.5) < 0.05
  masked = losses.corrupt(x, KEY, dropout=0.3)
  assert abs(float((masked == 0).mean()) - 0.3) < 0.05


def test_gaussian_kl_closed_form():
  assert float(losses.gaussian_kl(jnp.zeros((1, 3)), jnp.zeros((1, 3)))[0]) == 0.0
  mean, logvar = jnp.array([[1.0]]), jnp.log(jnp.array([[2.0]]))
  assert float(losses.gaussian_kl(mean, logvar)[0]) == pytest.approx(0.5 * (2 + 1 - 1 - np.log(2)), rel=1e-6)


def test_bernoulli_log_likelihood():
  x = jnp.array([[1.0, 0.0]])
  assert float(losses.log_likelihood(jnp.zeros((1, 2)), x, "bernoulli")[0]) == pytest.approx(2 * np.log(0.5))


def test_bce_with_logits_matches_optax_in_value_and_gradient():
  logits = jnp.array([[-30.0, -2.0, 0.0, 0.5, 3.0, 30.0]] * 2)
  x = jnp.array([[1.0, 0.0, 1.0, 0.3, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0, 0.7, 1.0]])  # grey targets too
  reference = lambda l: optax.sigmoid_binary_cross_entropy(l, x).sum(-1)
  np.testing.assert_allclose(losses.bce_with_logits(logits, x), reference(logits), rtol=1e-6)
  np.testing.assert_allclose(jax.grad(lambda l: losses.bce_with_logits(l, x).sum())(logits),
                             jax.grad(lambda l: reference(l).sum())(logits), atol=1e-6)


def test_kl_sparsity_is_zero_at_target_and_positive_elsewhere():
  assert float(losses.kl_sparsity(jnp.full((8, 4), 0.05), 0.05)) == pytest.approx(0.0, abs=1e-6)
  assert float(losses.kl_sparsity(jnp.full((8, 4), 0.5), 0.05)) > 0.1


def test_reconstruction_adds_the_penalties_it_is_given():
  apply_fn = lambda p, x: (x * p, jnp.full((x.shape[0], 4), 0.5))
  batch = {"image": jnp.full((2, 28, 28, 1), 255, jnp.uint8)}
  plain, m = losses.reconstruction(apply_fn)(1.0, batch, KEY)
  sparse, ms = losses.reconstruction(apply_fn, l1_codes=0.1, kl_target=0.05, kl_weight=1.0)(1.0, batch, KEY)
  assert float(sparse) == pytest.approx(float(plain) + 0.1 * 2.0 + float(ms["kl_sparsity"]), rel=1e-5)
  with pytest.raises(ValueError, match="reconstruction kind must be"):
    losses.reconstruction(apply_fn, kind="l2")


def test_reconstruction_mse_linear_compares_the_raw_output():
  """Greedy pretraining of an inner layer: real-valued inputs, no sigmoid on the output."""
  x = jnp.full((2, 3), 0.5)
  linear, _ = losses.reconstruction(lambda p, v: (2.0 * v, v), kind="mse_linear")(None, {"image": x}, KEY)
  squashed, _ = losses.reconstruction(lambda p, v: (2.0 * v, v), kind="mse")(None, {"image": x}, KEY)
  assert float(linear) == pytest.approx(0.25)  # (1.0 - 0.5)^2
  assert float(squashed) == pytest.approx((1 / (1 + np.exp(-1.0)) - 0.5) ** 2)
  with pytest.raises(ValueError):
    losses.reconstruction(lambda p, v: (v, v), kind="l2")


def test_elbo_is_reconstruction_plus_kl():
  out = jnp.zeros((2, 28, 28, 1))
  apply_fn = lambda p, x, rng: (out, jnp.zeros((2, 3)), jnp.zeros((2, 3)))
  loss, m = losses.elbo(apply_fn)({"params": {}}, {"image": jnp.zeros((2, 28, 28, 1), jnp.uint8)}, KEY)
  assert float(m["kl"]) == 0.0
  assert float(loss) == pytest.approx(784 * np.log(2), rel=1e-5)


def test_pacgan_packs_samples_for_the_discriminator():
  seen = {}

  def d_apply(p, x, labels=None):
    seen["shape"] = x.shape
    return jnp.zeros(x.shape[0])
  g_apply = lambda p, z, labels=None: z[:, :2]
  d_loss, _ = losses.gan_nonsaturating(g_apply, d_apply, latent=4, pack=2, image_output=False)
  d_loss({}, {}, {"image": jnp.zeros((8, 2))}, KEY)
  assert seen["shape"] == (4, 4)
