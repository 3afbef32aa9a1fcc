"""MLP and convolutional autoencoders; images are float NHWC in [0, 1]."""

from typing import Sequence

import flax.linen as nn

from aejax.models import layers


class MLPEncoder(nn.Module):
  """Flattens [B, H, W, C] and maps it to codes [B, latent]."""
  latent: int
  hidden: Sequence[int] = (512, 256)
  code_activation: str = "linear"  # "linear" | "sigmoid" | "relu"

  @nn.compact
  def __call__(self, x):
    x = x.reshape((x.shape[0], -1))
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    z = nn.Dense(self.latent)(x)
    return {"linear": z, "sigmoid": nn.sigmoid(z), "relu": nn.relu(z)}[self.code_activation]


class MLPDecoder(nn.Module):
  """Maps codes [B, latent] to image logits [B, *out_shape]."""
  out_shape: Sequence[int]
  hidden: Sequence[int] = (256, 512)

  @nn.compact
  def __call__(self, z):
    for width in self.hidden:
      z = nn.relu(nn.Dense(width)(z))
    size = 1
    for d in self.out_shape:
      size *= d
    return nn.Dense(size)(z).reshape((z.shape[0], *self.out_shape))


class ConvEncoder(nn.Module):
  """Two stride-2 3x3 convolutions (28 -> 14 -> 7), then an optional dense code.

  With latent=None the code is the [B, 7, 7, features[-1]] feature map, as in the seed's model.
  """
  latent: int | None = None
  features: Sequence[int] = (16, 32)
  impl: str = "lax"  # "lax" | "matmul": same params and function, see conv_autoencoder

  @nn.compact
  def __call__(self, x):
    conv = layers.Conv if self.impl == "matmul" else nn.Conv
    for f in self.features:
      x = nn.relu(conv(f, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))(x))
    if self.latent is None:
      return x
    return nn.Dense(self.latent)(x.reshape((x.shape[0], -1)))


class ConvDecoder(nn.Module):
  """Mirror of ConvEncoder: two stride-2 transposed convolutions back to [B, 28, 28, C] logits.

  Padding ((1, 2), (1, 2)) matches PyTorch's ConvTranspose2d(k=3, s=2, padding=1, output_padding=1).
  """
  out_shape: Sequence[int] = (28, 28, 1)
  features: Sequence[int] = (32, 16)
  latent_input: bool = True  # False: input is already the [B, 7, 7, features[0]] map
  impl: str = "lax"  # "lax" | "matmul": same params and function, see conv_autoencoder

  @nn.compact
  def __call__(self, z):
    h, w, c = self.out_shape
    if self.latent_input:
      z = nn.relu(nn.Dense((h // 4) * (w // 4) * self.features[0])(z))
      z = z.reshape((z.shape[0], h // 4, w // 4, self.features[0]))

    conv_transpose = layers.ConvTranspose if self.impl == "matmul" else nn.ConvTranspose
    up = lambda f: conv_transpose(f, (3, 3), strides=(2, 2), padding=((1, 2), (1, 2)))
    for f in self.features[1:]:
      z = nn.relu(up(f)(z))
    return up(c)(z)


class Autoencoder(nn.Module):
  """encoder then decoder; returns (logits, codes). `decode`/`encode` are exposed for probes."""
  encoder: nn.Module
  decoder: nn.Module

  def __call__(self, x):
    z = self.encoder(x)
    return self.decoder(z), z

  def encode(self, x):
    return self.encoder(x)

  def decode(self, z):
    return self.decoder(z)


def mlp_autoencoder(latent: int, image_shape=(28, 28, 1), hidden=(512, 256), code_activation="linear"):
  """The MLP autoencoder used across experiments: 784-512-256-latent-256-512-784."""
  return Autoencoder(MLPEncoder(latent, tuple(hidden), code_activation),
                     MLPDecoder(tuple(image_shape), tuple(reversed(hidden))))


def conv_autoencoder(latent: int | None = None, image_shape=(28, 28, 1), features=(16, 32),
                     impl: str = "lax"):
  """The seed's conv autoencoder (latent=None), or the same with a dense bottleneck.

  impl="matmul" computes the same function with the same parameters with aejax.models.layers'
  Conv and ConvTranspose, whose backward passes run faster on a CPU (see benchmarks/seed_step.py).
  """
  return Autoencoder(ConvEncoder(latent, tuple(features), impl),
                     ConvDecoder(tuple(image_shape), tuple(reversed(features)), latent is not None, impl))
