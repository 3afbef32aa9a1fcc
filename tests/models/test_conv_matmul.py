"""The seed's conv autoencoder with impl="matmul" (aejax.models.layers' convolutions) is the model with
Flax's, and its transposed convolution is PyTorch's ConvTranspose2d(k=3, s=2, p=1, output_padding=1).
Layer by layer: tests/models/test_layers.py."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aejax.models import autoencoder, layers

KEY = jax.random.PRNGKey(0)
SEED_UP = dict(kernel_size=(3, 3), strides=(2, 2), padding=((1, 2), (1, 2)))


def test_seed_conv_transpose_by_hand():
  # 1-D: out[2m] = x[m] k[1]; out[2m+1] = x[m] k[0] + x[m+1] k[2] (x[3] = 0)
  x = jnp.arange(1.0, 4.0).reshape((1, 1, 3, 1))
  k = jnp.zeros((3, 3, 1, 1)).at[1, :, 0, 0].set(jnp.array([10.0, 100.0, 1000.0]))
  y = layers.ConvTranspose(1, **SEED_UP).apply({"params": {"kernel": k, "bias": jnp.zeros(1)}}, x)
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


def test_seed_conv_transpose_equals_pytorch_conv_transpose2d():
  torch = pytest.importorskip("torch")
  x = np.random.default_rng(0).normal(size=(2, 7, 7, 4)).astype(np.float32)
  layer = torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
  with torch.no_grad():
    want = layer(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
  w = layer.weight.detach().numpy()  # [I, O, 3, 3]
  kernel = w.transpose(2, 3, 0, 1)[::-1, ::-1]  # to HWIO, flipped
  params = {"params": {"kernel": jnp.asarray(kernel.copy()), "bias": jnp.asarray(layer.bias.detach().numpy())}}
  np.testing.assert_allclose(layers.ConvTranspose(3, **SEED_UP).apply(params, jnp.asarray(x)), want,
                             atol=1e-5, rtol=1e-5)
