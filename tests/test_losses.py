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


def _mlp_gan(latent=2):
  from aejax.models import gan
  g, d = gan.MLPGenerator(hidden=(8,), batch_norm=True), gan.MLPDiscriminator(hidden=(8,), maxout=3)
  gp = g.init(jax.random.PRNGKey(0), jnp.zeros((4, latent)))
  dp = d.init(jax.random.PRNGKey(1), jnp.zeros((4, 2)))
  batch = {"image": jax.random.normal(jax.random.PRNGKey(2), (6, 2)), "index": jnp.arange(6)}
  return g, d, gp, dp, batch


def test_unrolled_gan_unrolls_the_discriminator():
  g, d, gp, dp, batch = _mlp_gan()
  plain = losses.gan_nonsaturating(g.apply, d.apply, 2, image_output=False)[1]
  unrolled = losses.gan_nonsaturating(g.apply, d.apply, 2, image_output=False, unroll=3)[1]
  rng = jax.random.PRNGKey(3)
  grad = lambda fn, **kw: jax.grad(lambda p: fn(p, dp, batch, rng, **kw)[0])(gp)
  # zero-size unrolling steps leave the discriminator as it is: the same loss and gradient
  same = jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
                      grad(unrolled, unroll_lr=0.0), grad(plain))
  assert same is not None
  # real steps change what the generator is scored against
  assert not np.isclose(unrolled(gp, dp, batch, rng, unroll_lr=0.5)[0], plain(gp, dp, batch, rng)[0])


@pytest.mark.parametrize("pack", [1, 2])
def test_r1_penalty_is_half_the_squared_input_gradient(pack):
  # a linear discriminator w . x + b has input gradient w at every x: the penalty is r1 / 2 * |w|^2 for
  # each (packed) example, added to the loss; the weight is traced (a keyword at call time)
  w = jax.random.normal(KEY, (2 * pack,))
  d_apply = lambda p, x, labels=None: x.reshape((x.shape[0], -1)) @ p["w"]
  g_apply = lambda p, z, labels=None: z[:, :2]
  plain = losses.gan_nonsaturating(g_apply, d_apply, latent=4, pack=pack, image_output=False)[0]
  with_r1 = losses.gan_nonsaturating(g_apply, d_apply, latent=4, pack=pack, image_output=False, r1=1.0)[0]
  batch = {"image": jax.random.normal(KEY, (8, 2)), "index": jnp.arange(8)}
  base, _ = plain({"w": w}, {}, batch, KEY)
  loss, metrics = jax.jit(lambda r1: with_r1({"w": w}, {}, batch, KEY, r1=r1))(3.0)
  np.testing.assert_allclose(metrics["r1"], 0.5 * jnp.sum(w ** 2), rtol=1e-6)
  np.testing.assert_allclose(loss, base + 3.0 * 0.5 * jnp.sum(w ** 2), rtol=1e-6)


def test_hinge_loss_closed_form():
  # a linear D on real points and on a generator that puts every sample at c: D's loss is
  # mean relu(1 - w.x) + relu(1 + w.c), G's is -w.c, and G's gradient is -w. w and c are dyadic, so w.c = 0.125
  # and G's loss and gradient are exact in float32; D's real term is a mean of 8 non-negative float32 terms,
  # within about 10 float32 roundings (6e-8 each) of numpy's float64 sum of the same terms
  w, c = jnp.array([1.5, -0.5]), jnp.array([0.25, 0.5])
  d_apply = lambda p, x, labels=None: x @ p["w"]
  g_apply = lambda p, z, labels=None: jnp.broadcast_to(p["c"], (z.shape[0], 2))
  d_loss, g_loss = losses.gan_nonsaturating(g_apply, d_apply, latent=3, image_output=False, hinge=True)
  x = jax.random.normal(KEY, (8, 2))
  batch = {"image": x, "index": jnp.arange(8)}
  got, _ = d_loss({"w": w}, {"c": c}, batch, KEY)
  np.testing.assert_allclose(got, np.mean(np.maximum(1 - np.asarray(x @ w), 0)) + max(1 + float(w @ c), 0), rtol=1e-6)
  (g, _), grad = jax.value_and_grad(g_loss, has_aux=True)({"c": c}, {"w": w}, batch, KEY)
  np.testing.assert_array_equal(g, -0.125)
  np.testing.assert_array_equal(grad["c"], -w)


def test_semi_supervised_gan_losses():
  from aejax.models import gan
  g = gan.MLPGenerator(out_dim=16, hidden=(8,), batch_norm=True)
  d = gan.SemiSupervisedDiscriminator(hidden=(8, 8), num_classes=3)
  gp = g.init(jax.random.PRNGKey(0), jnp.zeros((4, 5)))
  x = jax.random.uniform(jax.random.PRNGKey(1), (6, 4, 4, 1))
  dp = d.init(jax.random.PRNGKey(2), x)
  batch = {"image": x, "label": jnp.array([0, 1, 2, 0, 1, 2]), "unlabeled": x[::-1], "index": jnp.arange(6)}
  d_loss, g_loss = losses.gan_semi_supervised(g.apply, d.apply, 5)
  rng = jax.random.PRNGKey(4)
  loss, m = d_loss(dp, gp, batch, rng, unlabeled_weight=0.0)
  np.testing.assert_allclose(loss, m["supervised"], rtol=1e-6)  # the weight switches the GAN term off
  loss1, m1 = d_loss(dp, gp, batch, rng)
  np.testing.assert_allclose(loss1, m1["supervised"] + m1["unsupervised"], rtol=1e-6)
  # the unsupervised term is -log D(x) - log(1 - D(G(z))) with D = Z / (Z + 1): positive
  assert m1["unsupervised"] > 0
  # evaluation adds no noise: the same logits twice; training noise differs per key
  np.testing.assert_array_equal(d.apply(dp, x)[0], d.apply(dp, x)[0])
  keys = jax.vmap(lambda i: jax.random.fold_in(rng, i))(jnp.arange(6))
  assert not np.allclose(d.apply(dp, x, keys)[0], d.apply(dp, x)[0])
  gl, _ = g_loss(gp, dp, batch, rng)
  assert gl >= 0
