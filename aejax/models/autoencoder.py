"""MLP and convolutional autoencoders; images are float NHWC in [0, 1]."""

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp
from jax import lax


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
  impl: str = "lax"  # "lax" | "matmul": same params and function, see StridedConvMatmul

  @nn.compact
  def __call__(self, x):
    for i, f in enumerate(self.features):
      if self.impl == "matmul":
        x = nn.relu(StridedConvMatmul(f, name=f"Conv_{i}")(x))
      else:
        x = nn.relu(nn.Conv(f, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))(x))
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
  impl: str = "lax"  # "lax" | "matmul": same params and function, see SubpixelConvTranspose

  @nn.compact
  def __call__(self, z):
    h, w, c = self.out_shape
    if self.latent_input:
      z = nn.relu(nn.Dense((h // 4) * (w // 4) * self.features[0])(z))
      z = z.reshape((z.shape[0], h // 4, w // 4, self.features[0]))

    def up(f, i):
      if self.impl == "matmul":
        return SubpixelConvTranspose(f, name=f"ConvTranspose_{i}")
      return nn.ConvTranspose(f, (3, 3), strides=(2, 2), padding=((1, 2), (1, 2)))

    for i, f in enumerate(self.features[1:]):
      z = nn.relu(up(f, i)(z))
    return up(c, len(self.features) - 1)(z)


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

  impl="matmul" computes the same function with the same parameters as im2col matmuls and a
  sub-pixel transposed convolution (faster on CPU; see benchmarks/seed_step.py).
  """
  return Autoencoder(ConvEncoder(latent, tuple(features), impl),
                     ConvDecoder(tuple(image_shape), tuple(reversed(features)), latent is not None, impl))


# --- The same convolutions as matrix products (what XLA on CPU runs fastest) -----------------


def _patches(x, size: int, stride: int, pad):
  """im2col: [B, H, W, C] -> [B, Ho, Wo, size*size*C], taps ordered (row, col, channel) as HWIO."""
  x = jnp.pad(x, ((0, 0), *pad, (0, 0)))
  ho = (x.shape[1] - size) // stride + 1
  wo = (x.shape[2] - size) // stride + 1
  taps = [x[:, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride, :]
          for i in range(size) for j in range(size)]
  return jnp.concatenate(taps, axis=-1)


def _matmul(patches, kernel):
  """[B, H, W, K] @ [K, N] -> [B, H, W, N] as one 2-D matmul."""
  out = lax.dot(patches.reshape((-1, patches.shape[-1])), kernel)
  return out.reshape((*patches.shape[:3], kernel.shape[-1]))


class StridedConvMatmul(nn.Module):
  """nn.Conv(features, (3, 3), strides=2, padding=1), computed as im2col and one matmul.

  Same parameter names, shapes and initialisers as nn.Conv, so params are interchangeable.
  """
  features: int

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (3, 3, x.shape[-1], self.features))
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    patches = _patches(x, 3, 2, ((1, 1), (1, 1)))
    return _matmul(patches, kernel.reshape((-1, self.features))) + bias


def subpixel_kernel(kernel):
  """[3, 3, I, O] ConvTranspose kernel -> [2*2*I, 2*2*O] matrix of the equivalent sub-pixel conv.

  Flax's ConvTranspose (stride 2, padding ((1, 2), (1, 2)), kernel not flipped) is the 3x3 conv
  of the zero-dilated input. Output row 2m therefore reads only x[m] through kernel row 1, and
  row 2m+1 reads x[m] through row 0 and x[m+1] through row 2 (x[H] = 0); columns likewise. So
  y = depth_to_space(conv2x2(x padded by one at bottom/right, S)), where S maps input offset
  (di, dj) to output phase (a, b) with kernel tap (t(a, di), t(b, dj)), t(0,0)=1, t(1,0)=0,
  t(1,1)=2, and 0 where t is undefined. The dilated form wastes 3/4 of its products on zeros.
  """
  _, _, i, o = kernel.shape
  tap = {(0, 0): 1, (1, 0): 0, (1, 1): 2}  # (output phase, input offset) -> kernel index
  zero = jnp.zeros((i, o), kernel.dtype)
  rows = []
  for di in (0, 1):
    for dj in (0, 1):
      cols = [kernel[tap[a, di], tap[b, dj]] if (a, di) in tap and (b, dj) in tap else zero
              for a in (0, 1) for b in (0, 1)]
      rows.append(jnp.stack(cols, axis=1))  # [I, 4, O]
  return jnp.stack(rows).reshape((4 * i, 4 * o))  # rows (di, dj, I), columns (a, b, O)


class SubpixelConvTranspose(nn.Module):
  """nn.ConvTranspose(features, (3, 3), strides=2, padding=((1, 2), (1, 2))) as a sub-pixel conv.

  Same parameters (the 3x3 kernel is what is trained), same function (see `subpixel_kernel`):
  a 2x2 im2col, one matmul with the derived [4I, 4O] matrix, then depth-to-space.
  [B, H, W, I] -> [B, 2H, 2W, O]; equals PyTorch's ConvTranspose2d(k=3, s=2, p=1, output_padding=1)
  up to its kernel flip.
  """
  features: int

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (3, 3, x.shape[-1], self.features))
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    b, h, w, _ = x.shape
    y = _matmul(_patches(x, 2, 1, ((0, 1), (0, 1))), subpixel_kernel(kernel))
    y = y.reshape((b, h, w, 2, 2, self.features)).transpose((0, 1, 3, 2, 4, 5))
    return y.reshape((b, 2 * h, 2 * w, self.features)) + bias
