"""The matmul forms of the seed's convolutions equal Flax's Conv/ConvTranspose, values and grads."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import flax.linen as nn

from aejax.models import autoencoder

KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize("in_ch,out_ch,size", [(1, 16, 28), (16, 32, 14), (3, 5, 9)])
def test_strided_conv_matmul_equals_conv(in_ch, out_ch, size):
  x = jax.random.normal(KEY, (2, size, size, in_ch))
  ref = nn.Conv(out_ch, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
  params = ref.init(KEY, x)
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, autoencoder.StridedConvMatmul(out_ch).init(KEY, x))
  np.testing.assert_allclose(autoencoder.StridedConvMatmul(out_ch).apply(params, x), ref.apply(params, x),
                             atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("in_ch,out_ch,size", [(32, 16, 7), (16, 1, 14), (3, 2, 5)])
def test_subpixel_equals_conv_transpose(in_ch, out_ch, size):
  x = jax.random.normal(KEY, (2, size, size, in_ch))
  ref = nn.ConvTranspose(out_ch, (3, 3), strides=(2, 2), padding=((1, 2), (1, 2)))
  params = ref.init(KEY, x)
  params = jax.tree.map(lambda p: p + 0.1, params)  # non-zero bias too
  fast = autoencoder.SubpixelConvTranspose(out_ch)
  y = fast.apply(params, x)
  assert y.shape == (2, 2 * size, 2 * size, out_ch)
  np.testing.assert_allclose(y, ref.apply(params, x), atol=1e-5, rtol=1e-5)


def test_subpixel_matches_pytorch_convtranspose_by_hand():
  # 1-D check of the stated equivalence: out[2m] = x[m] k[1]; out[2m+1] = x[m] k[0] + x[m+1] k[2].
  x = jnp.arange(1.0, 4.0).reshape((1, 1, 3, 1))
  k = jnp.zeros((3, 3, 1, 1)).at[1, :, 0, 0].set(jnp.array([10.0, 100.0, 1000.0]))
  y = autoencoder.SubpixelConvTranspose(1).apply({"params": {"kernel": k, "bias": jnp.zeros(1)}}, x)
  np.testing.assert_allclose(y[0, 0, :, 0], [100, 10 + 2000, 200, 20 + 3000, 300, 30])


@pytest.mark.parametrize("latent", [None, 16])
def test_matmul_autoencoder_is_the_same_model(latent):
  x = jax.random.uniform(KEY, (4, 28, 28, 1))
  lax_model = autoencoder.conv_autoencoder(latent)
  fast_model = autoencoder.conv_autoencoder(latent, impl="matmul")
  params = lax_model.init(KEY, x)
  # same parameter tree and the same initial values from the same key
  jax.tree.map(np.testing.assert_array_equal, fast_model.init(KEY, x), params)
  for a, b in zip(fast_model.apply(params, x), lax_model.apply(params, x)):
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
  loss = lambda m: (lambda p: jnp.mean((jax.nn.sigmoid(m.apply(p, x)[0]) - x) ** 2))
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-4),
               jax.grad(loss(fast_model))(params), jax.grad(loss(lax_model))(params))


def test_subpixel_equals_pytorch_conv_transpose2d():
  torch = pytest.importorskip("torch")
  x = np.random.default_rng(0).normal(size=(2, 7, 7, 4)).astype(np.float32)
  layer = torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
  with torch.no_grad():
    want = layer(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
  w = layer.weight.detach().numpy()  # [I, O, 3, 3]
  kernel = w.transpose(2, 3, 0, 1)[::-1, ::-1]  # to HWIO, flipped
  params = {"params": {"kernel": jnp.asarray(kernel.copy()), "bias": jnp.asarray(layer.bias.detach().numpy())}}
  np.testing.assert_allclose(autoencoder.SubpixelConvTranspose(3).apply(params, jnp.asarray(x)), want,
                             atol=1e-5, rtol=1e-5)
