"""Losses, each a factory returning `loss_fn(params, batch, rng) -> (loss, metrics)`.

`batch` is a dict with "image" (uint8 or float NHWC) and optionally "label". The apply function
is closed over, so a train step needs nothing but the loss.
"""

from typing import Callable

import jax
import jax.numpy as jnp
import optax


def to_float(images):
  """uint8 [0, 255] -> float32 [0, 1]; float input is passed through."""
  if images.dtype == jnp.uint8:
    return images.astype(jnp.float32) / 255.0
  return images.astype(jnp.float32)


def corrupt(x, rng, noise_std: float = 0.0, dropout: float = 0.0):
  """Denoising corruptions: additive Gaussian noise and/or masking noise (pixels set to 0)."""
  k_noise, k_drop = jax.random.split(rng)
  if noise_std > 0:
    x = x + noise_std * jax.random.normal(k_noise, x.shape, x.dtype)
  if dropout > 0:
    x = x * jax.random.bernoulli(k_drop, 1.0 - dropout, x.shape)
  return x


def bce_with_logits(logits, x):
  """Bernoulli negative log-likelihood summed over all but the batch axis: [B]."""
  ll = -optax.sigmoid_binary_cross_entropy(logits, x)
  return -ll.reshape((x.shape[0], -1)).sum(-1)


def kl_sparsity(codes, target: float):
  """KL(target || mean activation) summed over units; codes must lie in (0, 1) (sigmoid codes)."""
  rho = jnp.clip(codes.mean(0), 1e-6, 1 - 1e-6)
  return jnp.sum(target * jnp.log(target / rho) + (1 - target) * jnp.log((1 - target) / (1 - rho)))


def reconstruction(apply_fn: Callable, kind: str = "mse", noise_std: float = 0.0, dropout: float = 0.0,
                   l1_codes: float = 0.0, kl_target: float = 0.0, kl_weight: float = 0.0):
  """Autoencoder loss: reconstruct the clean image from a (optionally) corrupted one.

  apply_fn(params, x) -> (logits, codes). kind "mse" compares sigmoid(logits) with x (mean over
  pixels); "bce" is the Bernoulli NLL per image; "mse_linear" compares the raw output with x (for
  real-valued inputs, e.g. a lower layer's codes in greedy pretraining). l1_codes / kl_* add
  sparsity penalties on codes.
  """
  if kind not in ("mse", "bce", "mse_linear"):
    raise ValueError(f"reconstruction kind must be 'mse', 'bce' or 'mse_linear', got {kind!r}")

  def loss_fn(params, batch, rng):
    x = to_float(batch["image"])
    logits, codes = apply_fn(params, corrupt(x, rng, noise_std, dropout))
    mse = jnp.mean(((logits if kind == "mse_linear" else jax.nn.sigmoid(logits)) - x) ** 2)
    recon = bce_with_logits(logits, x).mean() if kind == "bce" else mse
    loss = recon
    metrics = {"recon_mse": mse}
    if l1_codes > 0:
      penalty = jnp.abs(codes).sum(-1).mean()
      loss = loss + l1_codes * penalty
      metrics["l1_codes"] = penalty
    if kl_weight > 0:
      penalty = kl_sparsity(codes.reshape((codes.shape[0], -1)), kl_target)
      loss = loss + kl_weight * penalty
      metrics["kl_sparsity"] = penalty
    metrics["loss"] = loss
    return loss, metrics

  return loss_fn


def binarize(x, rng):
  """Dynamic binarisation: each pixel ~ Bernoulli(intensity), resampled every time."""
  return jax.random.bernoulli(rng, x).astype(jnp.float32)


def log_likelihood(decoder_out, x, likelihood: str, obs_logvar=None):
  """log p(x | z) per example [B]: Bernoulli from logits, or Gaussian with a scalar log-variance."""
  if likelihood == "bernoulli":
    return -bce_with_logits(decoder_out, x)
  mean = jax.nn.sigmoid(decoder_out)
  ll = -0.5 * ((x - mean) ** 2 * jnp.exp(-obs_logvar) + obs_logvar + jnp.log(2 * jnp.pi))
  return ll.reshape((x.shape[0], -1)).sum(-1)


def gaussian_kl(mean, logvar):
  """KL(N(mean, exp(logvar)) || N(0, I)) per example [B]."""
  return 0.5 * jnp.sum(jnp.exp(logvar) + mean**2 - 1.0 - logvar, axis=-1)


def elbo(apply_fn: Callable, likelihood: str = "bernoulli", dynamic_binarization: bool = True,
         beta: float = 1.0):
  """Negative ELBO in nats per example: -(E_q[log p(x|z)] - beta * KL(q(z|x) || p(z))).

  apply_fn(params, x, rng) -> (decoder output, mean, logvar).
  """

  def loss_fn(params, batch, rng):
    k_bin, k_z = jax.random.split(rng)
    x = to_float(batch["image"])
    if dynamic_binarization:
      x = binarize(x, k_bin)
    out, mean, logvar = apply_fn(params, x, k_z)
    obs_logvar = params["params"].get("obs_logvar") if likelihood == "gaussian" else None
    rec = log_likelihood(out, x, likelihood, obs_logvar).mean()
    kl = gaussian_kl(mean, logvar).mean()
    loss = -(rec - beta * kl)
    return loss, {"loss": loss, "neg_elbo": -(rec - kl), "recon_nll": -rec, "kl": kl}

  return loss_fn


def cross_entropy(apply_fn: Callable, augment_noise: float = 0.0):
  """Softmax cross-entropy classification loss with accuracy; apply_fn(params, x) -> logits."""

  def loss_fn(params, batch, rng):
    x = corrupt(to_float(batch["image"]), rng, augment_noise)
    logits = apply_fn(params, x)
    labels = batch["label"]
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    return loss, {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels)}

  return loss_fn


def gan_nonsaturating(g_apply: Callable, d_apply: Callable, latent: int, conditional: bool = False,
                      pack: int = 1, image_output: bool = True):
  """Standard GAN losses (Goodfellow et al.), non-saturating generator loss.

  Returns (d_loss_fn, g_loss_fn) with signatures
    d_loss_fn(d_params, g_params, batch, rng) and g_loss_fn(g_params, d_params, batch, rng).
  `pack` > 1 is PacGAN: the discriminator judges `pack` samples concatenated together.
  image_output: generator outputs logits to squash with a sigmoid (images); False for 2-D points.
  """

  def fake(g_params, batch, rng):
    n = batch["image"].shape[0]
    k_z, k_y = jax.random.split(rng)
    z = jax.random.normal(k_z, (n, latent))
    labels = batch["label"] if conditional else None
    out = g_apply(g_params, z, labels)
    return (jax.nn.sigmoid(out) if image_output else out), labels

  def packed(x):
    """[B, D] -> [B / pack, pack * D]; images [B, H, W, C] -> [B / pack, H, W, pack * C] (channels)."""
    if pack == 1:
      return x
    if x.ndim == 4:
      b, h, w, c = x.shape
      return x.reshape((b // pack, pack, h, w, c)).transpose(0, 2, 3, 1, 4).reshape((b // pack, h, w, pack * c))
    return x.reshape((x.shape[0] // pack, -1))

  def d_logits(d_params, x, labels):
    if pack > 1:
      return d_apply(d_params, packed(x))
    return d_apply(d_params, x, labels) if conditional else d_apply(d_params, x)

  def d_loss_fn(d_params, g_params, batch, rng):
    x_fake, labels = fake(g_params, batch, rng)
    x_fake = jax.lax.stop_gradient(x_fake)
    real = d_logits(d_params, to_float(batch["image"]), labels)
    fake_logits = d_logits(d_params, x_fake, labels)
    loss = (optax.sigmoid_binary_cross_entropy(real, jnp.ones_like(real)).mean()
            + optax.sigmoid_binary_cross_entropy(fake_logits, jnp.zeros_like(fake_logits)).mean())
    return loss, {"d_loss": loss, "d_real": jax.nn.sigmoid(real).mean(),
                  "d_fake": jax.nn.sigmoid(fake_logits).mean()}

  def g_loss_fn(g_params, d_params, batch, rng):
    x_fake, labels = fake(g_params, batch, rng)
    logits = d_logits(d_params, x_fake, labels)
    loss = optax.sigmoid_binary_cross_entropy(logits, jnp.ones_like(logits)).mean()
    return loss, {"g_loss": loss}

  return d_loss_fn, g_loss_fn


def random_shift(x, rng, max_shift: int):
  """Translate each image [B, H, W, C] by up to `max_shift` pixels in each direction (zero fill)."""
  if max_shift <= 0:
    return x
  b, h, w, c = x.shape
  padded = jnp.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
  offsets = jax.random.randint(rng, (b, 2), 0, 2 * max_shift + 1)
  crop = lambda img, o: jax.lax.dynamic_slice(img, (o[0], o[1], 0), (h, w, c))
  return jax.vmap(crop)(padded, offsets)


def consistency_cross_entropy(apply_fn: Callable, unlabeled_weight: float = 1.0, threshold: float = 0.95,
                              max_shift: int = 2, noise_std: float = 0.0, dropout: float = 0.0):
  """Semi-supervised classification loss (FixMatch-style pseudo-label consistency).

  batch: "image"/"label" (labelled) and "unlabeled" images. The labelled term is cross-entropy on
  shifted images; on each unlabeled image, the prediction for the clean image, where its top
  probability reaches `threshold`, is the hard target for the same image shifted and corrupted
  (noise, masking). apply_fn(params, x) -> logits.
  """

  def loss_fn(params, batch, rng):
    k_lab, k_shift, k_corrupt = jax.random.split(rng, 3)
    x, labels = random_shift(to_float(batch["image"]), k_lab, max_shift), batch["label"]
    logits = apply_fn(params, x)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    u = to_float(batch["unlabeled"])
    probs = jax.nn.softmax(jax.lax.stop_gradient(apply_fn(params, u)))
    mask = (probs.max(-1) >= threshold).astype(jnp.float32)
    strong = corrupt(random_shift(u, k_shift, max_shift), k_corrupt, noise_std, dropout)
    u_ce = optax.softmax_cross_entropy_with_integer_labels(apply_fn(params, strong), probs.argmax(-1))
    u_loss = (u_ce * mask).mean()
    loss = ce + unlabeled_weight * u_loss
    return loss, {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels),
                  "unlabeled_ce": u_loss, "confident_fraction": mask.mean()}

  return loss_fn
