"""Each model: output shapes, and finite non-zero gradients for every parameter."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aejax.models import autoencoder, classifier, gan, stacked, vae

X = jnp.asarray(np.random.default_rng(0).uniform(size=(4, 28, 28, 1)), jnp.float32)
KEY = jax.random.PRNGKey(0)


def assert_all_grads_flow(loss, params):
  grads = jax.grad(loss)(params)
  for path, g in jax.tree_util.tree_leaves_with_path(grads):
    assert np.all(np.isfinite(g)), path
    assert np.any(g != 0), f"no gradient reaches {jax.tree_util.keystr(path)}"


@pytest.mark.parametrize("make,code_shape", [
    (lambda: autoencoder.mlp_autoencoder(2), (4, 2)),
    (lambda: autoencoder.mlp_autoencoder(1568, hidden=(), code_activation="relu"), (4, 1568)),
    (lambda: autoencoder.conv_autoencoder(), (4, 7, 7, 32)),
    (lambda: autoencoder.conv_autoencoder(16), (4, 16)),
])
def test_autoencoders(make, code_shape):
  model = make()
  params = model.init(KEY, X)
  logits, codes = model.apply(params, X)
  assert logits.shape == X.shape and codes.shape == code_shape
  assert_all_grads_flow(lambda p: jnp.mean((model.apply(p, X)[0] - X) ** 2), params)


@pytest.mark.parametrize("tied", [True, False])
def test_stacked(tied):
  model = stacked.StackedAutoencoder((300, 150), tied=tied)
  params = model.init(KEY, X)
  logits, codes = model.apply(params, X)
  assert logits.shape == X.shape and codes.shape == (4, 150)
  assert_all_grads_flow(lambda p: jnp.mean((model.apply(p, X)[0] - X) ** 2), params)
  p = params["params"]
  assert ("kernel" in p["dec_0"]) == (not tied)


def test_tied_decoder_uses_the_transposed_encoder_kernel():
  model = stacked.StackedAutoencoder((5,), tied=True, activation="relu")
  params = model.init(KEY, X)
  p = params["params"]
  h = jax.nn.relu(X.reshape(4, -1) @ p["enc_0"]["kernel"] + p["enc_0"]["bias"])
  expected = h @ p["enc_0"]["kernel"].T + p["dec_0"]["bias"]
  np.testing.assert_allclose(model.apply(params, X)[0].reshape(4, -1), expected, rtol=1e-5, atol=1e-5)


def test_tied_has_about_half_the_weights():
  count = lambda t: sum(x.size for x in jax.tree.leaves(stacked.StackedAutoencoder(tied=t).init(KEY, X)))
  assert 0.45 < count(True) / count(False) < 0.55


def test_stack_params_fits_the_stack():
  layer0 = stacked.StackedAutoencoder((300,)).init(KEY, X)
  layer1 = stacked.StackedAutoencoder((150,)).init(KEY, jnp.zeros((4, 300)))
  full = stacked.StackedAutoencoder((300, 150))
  joined = stacked.stack_params([layer0, layer1])
  assert jax.tree.map(jnp.shape, joined) == jax.tree.map(jnp.shape, full.init(KEY, X))


@pytest.mark.parametrize("conv,likelihood", [(False, "bernoulli"), (True, "bernoulli"), (False, "gaussian")])
def test_vae(conv, likelihood):
  model = vae.VAE(latent=8, conv=conv, likelihood=likelihood)
  params = model.init(KEY, X, KEY)
  out, mean, logvar = model.apply(params, X, KEY)
  assert out.shape == X.shape and mean.shape == logvar.shape == (4, 8)
  assert model.apply(params, jnp.zeros((3, 8)), method=model.decode).shape == (3, 28, 28, 1)

  def loss(p):
    out, mean, logvar = model.apply(p, X, KEY)
    extra = p["params"]["obs_logvar"] if likelihood == "gaussian" else 0.0
    return jnp.mean((out - X) ** 2) + jnp.mean(mean ** 2 + jnp.exp(logvar)) + extra
  assert_all_grads_flow(loss, params)


@pytest.mark.parametrize("num_classes, hidden", [(0, 0), (10, 0), (0, 16), (10, 16)])
def test_dcgan(num_classes, hidden):
  g = gan.DCGANGenerator(num_classes=num_classes, base=8, hidden=hidden)
  d = gan.DCGANDiscriminator(num_classes=num_classes, base=8, hidden=hidden)
  # distinct rows: batch-normalised identical rows would be exactly 0, where ReLU passes no gradient
  z, labels = jax.random.normal(KEY, (4, 16)), jnp.arange(4) if num_classes else None
  gp = g.init(KEY, z, labels)
  dp = d.init(KEY, X, labels)
  assert g.apply(gp, z, labels).shape == (4, 28, 28, 1)
  assert d.apply(dp, X, labels).shape == (4,)
  # the hidden layers are one Dense more in each network, of that width
  assert len(gp["params"]) == 5 + 2 * bool(hidden) and len(dp["params"]) == 4 + bool(hidden) + bool(num_classes)
  if hidden:
    assert gp["params"]["Dense_0"]["kernel"].shape == (16 + num_classes, hidden)
    assert dp["params"]["Dense_0"]["kernel"].shape == (7 * 7 * 16, hidden)
  assert_all_grads_flow(lambda p: jnp.mean(d.apply(dp, jax.nn.sigmoid(g.apply(p, z, labels)), labels)), gp)
  assert_all_grads_flow(lambda p: jnp.mean(d.apply(p, jax.nn.sigmoid(g.apply(gp, z, labels)), labels)), dp)


def test_mlp_gan():
  g, d = gan.MLPGenerator(), gan.MLPDiscriminator()
  gp, dp = g.init(KEY, jnp.ones((5, 4))), d.init(KEY, jnp.ones((5, 2)))
  assert g.apply(gp, jnp.ones((5, 4))).shape == (5, 2)
  assert d.apply(dp, jnp.ones((5, 2))).shape == (5,)


def test_classifiers():
  model = classifier.EncoderClassifier(autoencoder.MLPEncoder(8), head_hidden=(16,))
  params = model.init(KEY, X)
  assert model.apply(params, X).shape == (4, 10)
  assert "head" in params["params"]
  cnn = classifier.CNN()
  cp = cnn.init(KEY, X)
  assert cnn.apply(cp, X).shape == (4, 10) and cnn.apply(cp, X, method=cnn.features).shape == (4, 128)
  assert_all_grads_flow(lambda p: jnp.sum(cnn.apply(p, X) ** 2), cp)
