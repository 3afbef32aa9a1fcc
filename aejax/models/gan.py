"""GAN generators and discriminators: MLPs for 2-D mixtures, DCGAN for 28x28 images.

`num_classes > 0` makes either one class-conditional (one-hot label concatenated / projected).
"""

import functools
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from aejax.models import layers
from aejax.static import static_fn


def minibatch_std(h, axis_name: str | None = None):
  """Append the batch's mean per-feature standard deviation as one more feature [B, ..., C + 1].

  A discriminator that sees how varied its batch is can tell a collapsed generator's batch from a
  real one (Karras et al. 2018, a simpler form of minibatch discrimination, Salimans et al. 2016).
  axis_name: under pmap, the statistic is taken over the global batch (all devices), as on one device.
  """
  across = (lambda v: jax.lax.pmean(v, axis_name)) if axis_name is not None else (lambda v: v)
  mean = across(h.mean(0))
  var = across(((h - mean) ** 2).mean(0))
  s = jnp.sqrt(var + 1e-8).mean()
  return jnp.concatenate([h, jnp.broadcast_to(s, (*h.shape[:-1], 1)).astype(h.dtype)], axis=-1)


def _with_label(h, labels, num_classes):
  if num_classes == 0:
    return h
  return jnp.concatenate([h, jax.nn.one_hot(labels, num_classes, dtype=h.dtype)], axis=-1)


class BatchNorm(nn.Module):
  """Batch normalisation with the batch's own statistics, in training and sampling alike (no
  running averages, so no mutable state): a generator sampled in batches of hundreds sees
  statistics as close to its population's as the running averages would be.
  axis_name: under pmap, the statistics are taken over the global batch (all devices)."""
  axis_name: str | None = None
  epsilon: float = 1e-5

  @nn.compact
  def __call__(self, h):
    across = (lambda v: jax.lax.pmean(v, self.axis_name)) if self.axis_name is not None else (lambda v: v)
    axes = tuple(range(h.ndim - 1))  # every axis but the features: batch (and positions, for images)
    mean = across(h.mean(axes))
    var = across(((h - mean) ** 2).mean(axes))
    scale = self.param("scale", nn.initializers.ones, (h.shape[-1],))
    bias = self.param("bias", nn.initializers.zeros, (h.shape[-1],))
    return (h - mean) * jax.lax.rsqrt(var + self.epsilon) * scale + bias


class MLPGenerator(nn.Module):
  """z [B, latent] -> x [B, out_dim].

  batch_norm: each hidden layer is Dense (no bias) -> BatchNorm -> ReLU, as PacGAN's 2-D generator.
  init_std: weights drawn from N(0, init_std) (PacGAN: 0.02); 0 keeps Flax's default (LeCun normal).
  """
  out_dim: int = 2
  hidden: Sequence[int] = (128, 128)
  num_classes: int = 0
  batch_norm: bool = False
  init_std: float = 0.0
  axis_name: str | None = None  # set by the trainer under pmap: batch statistics over all devices

  @nn.compact
  def __call__(self, z, labels=None):
    init = nn.initializers.normal(self.init_std) if self.init_std else nn.linear.default_kernel_init
    h = _with_label(z, labels, self.num_classes)
    for width in self.hidden:
      h = nn.Dense(width, use_bias=not self.batch_norm, kernel_init=init)(h)
      if self.batch_norm:
        h = BatchNorm(self.axis_name)(h)
      h = nn.relu(h)
    return nn.Dense(self.out_dim, kernel_init=init)(h)


class MLPDiscriminator(nn.Module):
  """x [B, in_dim * pack] -> logits [B]. PacGAN packing is done by the loss, which reshapes.

  maxout > 1: each hidden layer is a maxout layer of that many pieces (PacGAN's 2-D discriminator:
  three layers of 200 units, 5 pieces); otherwise Dense + leaky ReLU.
  batch_std: append the minibatch-std feature after the first hidden layer (see minibatch_std).
  init_std: as MLPGenerator.
  """
  hidden: Sequence[int] = (128, 128)
  num_classes: int = 0
  batch_std: bool = False
  maxout: int = 1
  init_std: float = 0.0
  axis_name: str | None = None  # set by the trainer under pmap: batch statistics over all devices

  @nn.compact
  def __call__(self, x, labels=None):
    init = nn.initializers.normal(self.init_std) if self.init_std else nn.linear.default_kernel_init
    h = _with_label(x.reshape((x.shape[0], -1)), labels, self.num_classes)
    for i, width in enumerate(self.hidden):
      if self.maxout > 1:
        h = nn.Dense(width * self.maxout, kernel_init=init)(h).reshape((h.shape[0], width, self.maxout)).max(-1)
      else:
        h = nn.leaky_relu(nn.Dense(width, kernel_init=init)(h), 0.2)
      if self.batch_std and i == 0:
        h = minibatch_std(h, self.axis_name)
    return nn.Dense(1, kernel_init=init)(h)[:, 0]


class DCGANGenerator(nn.Module):
  """z [B, latent] -> logits [B, 28, 28, C] (apply sigmoid for pixels).

  batch_norm: BatchNorm (batch statistics) after the hidden layers, as Radford et al.'s DCGAN;
  otherwise LayerNorm (each sample normalised on its own).
  hidden > 0: a fully connected layer of that width (normalised, ReLU) before the 7x7 projection, as
  InfoGAN's MNIST generator (Chen et al. 2016: 1024).
  """
  channels: int = 1
  base: int = 64
  num_classes: int = 0
  batch_norm: bool = True
  hidden: int = 0
  axis_name: str | None = None  # set by the trainer under pmap: batch statistics over all devices
  conv_transpose: Any = layers.ConvTranspose  # or nn.ConvTranspose: same params and function, slower on a CPU

  def _norm(self, h):
    return BatchNorm(self.axis_name)(h) if self.batch_norm else nn.LayerNorm()(h)

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    h = _with_label(z, labels, self.num_classes)
    if self.hidden:
      h = nn.relu(self._norm(nn.Dense(self.hidden)(h)))
    h = nn.Dense(7 * 7 * 2 * self.base)(h)
    h = self._norm(h.reshape((z.shape[0], 7, 7, 2 * self.base))) if self.batch_norm else nn.LayerNorm()(h)
    h = nn.relu(h).reshape((z.shape[0], 7, 7, 2 * self.base))
    h = self.conv_transpose(self.base, (4, 4), strides=(2, 2), padding="SAME")(h)
    h = nn.relu(self._norm(h))
    return self.conv_transpose(self.channels, (4, 4), strides=(2, 2), padding="SAME")(h)


class DCGANDiscriminator(nn.Module):
  """x [B, 28, 28, C] in [0, 1] -> logits [B]. batch_std: minibatch-std feature map before the last conv.
  num_classes > 0: class-conditional by projection of the label embedding onto the features.
  hidden > 0: a fully connected layer of that width (leaky ReLU) before the logit, as InfoGAN's MNIST
  discriminator (Chen et al. 2016: 1024), so that the logit is a non-linear function of the whole image's
  features rather than a sum of local ones."""
  base: int = 64
  num_classes: int = 0
  batch_std: bool = False
  batch_norm: bool = True  # BatchNorm after the second conv, as Radford et al.'s DCGAN (else none)
  hidden: int = 0
  spectral_norm: bool = False  # every kernel spectrally normalised (Miyato et al. 2018; layers.spectral_normalised)
  axis_name: str | None = None  # set by the trainer under pmap: batch statistics over all devices
  conv: Any = layers.Conv  # or nn.Conv: same params and function, slower on a CPU

  @nn.compact
  def __call__(self, x, labels=None):
    sn = {"spectral_norm": True} if self.spectral_norm else {}
    h = nn.leaky_relu(self.conv(self.base, (4, 4), strides=(2, 2), padding="SAME", **sn)(2 * x - 1), 0.2)
    if self.batch_std:
      h = minibatch_std(h, self.axis_name)
    h = self.conv(2 * self.base, (4, 4), strides=(2, 2), padding="SAME", **sn)(h)
    h = nn.leaky_relu(BatchNorm(self.axis_name)(h) if self.batch_norm else h, 0.2)
    h = h.reshape((x.shape[0], -1))
    if self.hidden:
      h = nn.leaky_relu(layers.Dense(self.hidden, spectral_norm=self.spectral_norm)(h), 0.2)
    logits = (layers.Dense(1, spectral_norm=True) if self.spectral_norm else nn.Dense(1))(h)[:, 0]
    if self.num_classes:
      # projection (Miyato & Koyama 2018): a one-hot label concatenated before this last linear layer
      # would only shift the logit per class, so D could not judge whether x matches its label
      logits = logits + jnp.sum(nn.Embed(self.num_classes, h.shape[-1])(labels) * h, -1)
    return logits


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _sample(g_apply, conditional: bool, image_output: bool, g_params, z, y):
  """One chunk of samples; g_apply is static (by value: `g.apply` of an equal generator reuses the compile)."""
  out = g_apply(g_params, z, y) if conditional else g_apply(g_params, z)
  return jax.nn.sigmoid(out) if image_output else out


def generate(g_apply, g_params, n: int, latent: int, seed: int, labels=None, image_output: bool = True,
             batch_size: int = 500):
  """n samples (numpy) of a trained generator: images in [0, 1] (sigmoid of its logits) or raw points.

  labels [n] (class-conditional generators) or None. Sampled in fixed-size chunks (one compile).
  """
  import numpy as np
  sample = functools.partial(_sample, static_fn(g_apply, "generate's g_apply"), labels is not None, image_output)
  # always whole chunks of batch_size (extra samples dropped): a batch-norm generator's samples then see
  # batch statistics of batch_size samples, whatever n is
  z = jax.random.normal(jax.random.PRNGKey(seed), (-(-n // batch_size) * batch_size, latent))
  y = np.zeros(len(z), np.int32)
  if labels is not None:
    y[:n] = np.asarray(labels, np.int32)
  outs = [np.asarray(sample(g_params, z[i:i + batch_size], y[i:i + batch_size]))
          for i in range(0, len(z), batch_size)]
  return np.concatenate(outs)[:n]


class SemiSupervisedDiscriminator(nn.Module):
  """Salimans et al. (2016)'s permutation-invariant MNIST discriminator, a K-class classifier.

  x [B, ...] in [0, 1] -> (class logits [B, K], last hidden features [B, F]). The GAN's "real"
  probability is Z / (Z + 1) with Z = sum_k exp(logit_k) (losses.gan_semi_supervised).
  noise_keys [B, 2] (per example) adds Gaussian noise to the input (input_noise) and to every
  hidden layer (hidden_noise) while training; None (evaluation) adds none.
  """
  hidden: Sequence[int] = (1000, 500, 250, 250, 250)
  num_classes: int = 10
  input_noise: float = 0.3
  hidden_noise: float = 0.5
  weight_norm: bool = True  # every Dense weight-normalised (Salimans & Kingma 2016), as the paper's

  @nn.compact
  def __call__(self, x, noise_keys=None):
    dense = (lambda n: nn.WeightNorm(nn.Dense(n))) if self.weight_norm else nn.Dense
    def noisy(h, std, i):
      if noise_keys is None or not std:
        return h
      draw = lambda k: jax.random.normal(jax.random.fold_in(k, i), h.shape[1:], h.dtype)
      return h + std * jax.vmap(draw)(noise_keys)
    h = noisy(x.reshape((x.shape[0], -1)), self.input_noise, 0)
    for i, width in enumerate(self.hidden):
      h = noisy(nn.relu(dense(width)(h)), self.hidden_noise, i + 1)
    return dense(self.num_classes)(h), h
