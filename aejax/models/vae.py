"""Variational autoencoders: MLP and convolutional; Bernoulli or Gaussian decoders."""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from aejax.models.autoencoder import ConvDecoder, ConvEncoder, MLPDecoder


class GaussianEncoder(nn.Module):
  """x [B, H, W, C] -> (mean, logvar), each [B, latent]. `conv` picks the trunk."""
  latent: int
  hidden: Sequence[int] = (200, 200)
  conv: bool = False
  activation: str = "tanh"

  @nn.compact
  def __call__(self, x):
    act = {"tanh": nn.tanh, "relu": nn.relu}[self.activation]
    if self.conv:
      h = ConvEncoder(None, (32, 64))(x).reshape((x.shape[0], -1))
      h = act(nn.Dense(self.hidden[-1])(h))
    else:
      h = x.reshape((x.shape[0], -1))
      for width in self.hidden:
        h = act(nn.Dense(width)(h))
    return nn.Dense(self.latent, name="mean")(h), nn.Dense(self.latent, name="logvar")(h)


class VAE(nn.Module):
  """q(z|x) Gaussian, p(z) = N(0, I), p(x|z) Bernoulli (logits) or Gaussian (mean, learned scalar log-variance).

  `__call__(x, rng)` -> (decoder output [B, H, W, C], mean, logvar); decode(z) gives the output for codes.
  """
  latent: int = 50
  image_shape: Sequence[int] = (28, 28, 1)
  hidden: Sequence[int] = (200, 200)
  conv: bool = False
  likelihood: str = "bernoulli"  # or "gaussian"
  activation: str = "tanh"

  def setup(self):
    self.encoder = GaussianEncoder(self.latent, tuple(self.hidden), self.conv, self.activation)
    if self.conv:
      self.decoder = ConvDecoder(tuple(self.image_shape), (64, 32), latent_input=True)
    else:
      self.decoder = MLPDecoder(tuple(self.image_shape), tuple(reversed(self.hidden)))
    if self.likelihood == "gaussian":
      self.obs_logvar = self.param("obs_logvar", nn.initializers.zeros, ())

  def encode(self, x):
    return self.encoder(x)

  def decode(self, z):
    return self.decoder(z)

  def __call__(self, x, rng):
    mean, logvar = self.encode(x)
    if rng.ndim == 2:  # one key per example [B, 2]: each z independent of how the batch is split
      eps = jax.vmap(lambda k: jax.random.normal(k, mean.shape[1:], mean.dtype))(rng)
    else:
      eps = jax.random.normal(rng, mean.shape, mean.dtype)
    z = mean + jnp.exp(0.5 * logvar) * eps
    return self.decode(z), mean, logvar
