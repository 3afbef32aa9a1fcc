"""Losses, each a factory returning `loss_fn(params, batch, rng, **hparams) -> (loss, metrics)`.

`batch` is a dict with "image" (uint8 or float NHWC), optionally "label", and "index" (each
example's position in the global batch; the train steps add it). The apply function and the loss's
structure are closed over; numeric settings (noise levels, penalty weights) given to the factory are
defaults that keyword arguments at call time override, so the steps pass them as traced values
(`TrainState.hparams`) and one compiled step serves every setting. A setting that is a Python 0
switches its term off at trace time; a traced one always computes it. Each factory is
`static.by_value`: equal models and settings give equal losses, so the steps made from them share
one compiled executable (an unhashable setting raises a TypeError naming it).

Random draws are per example (`example_keys`), so every parallel mode draws the same
numbers for the same example.
"""

from typing import Callable

import jax
import jax.numpy as jnp
import optax

from aejax.static import by_value


def to_float(images):
  """uint8 [0, 255] -> float32 [0, 1]; float input is passed through."""
  if images.dtype == jnp.uint8:
    return images.astype(jnp.float32) / 255.0
  return images.astype(jnp.float32)


def _on(value) -> bool:
  """False only for a Python number equal to 0: that term is left out of the program."""
  return not (isinstance(value, (int, float)) and value == 0)


def _positions(index, n: int):
  """`index`, or 0..n-1 when there is none (one batch on one device)."""
  return jnp.arange(n, dtype=jnp.int32) if index is None else index


def _index(batch, x):
  return _positions(batch.get("index"), x.shape[0])


def example_keys(rng, index):
  """One key per example: fold_in(rng, index[i]), index = each example's position in the global
  batch, so one device, pmap over eight or a mesh over a pod draw the same numbers for it."""
  return jax.vmap(lambda i: jax.random.fold_in(rng, i))(index)


def per_example(rng, index, draw: Callable):
  """Stack `draw(key)` over examples, example i using its key from `example_keys`."""
  return jax.vmap(draw)(example_keys(rng, index))


def corrupt(x, rng, noise_std=0.0, dropout=0.0, index=None):
  """Denoising corruptions: additive Gaussian noise and/or masking noise (pixels set to 0).

  index: each row's position in the global batch (default 0..B-1); the draws for a row depend only
  on (rng, index), not on which device holds it.
  """
  index = _positions(index, x.shape[0])
  k_noise, k_drop = jax.random.split(rng)
  if _on(noise_std):
    x = x + noise_std * per_example(k_noise, index, lambda k: jax.random.normal(k, x.shape[1:], x.dtype))
  if _on(dropout):
    x = x * per_example(k_drop, index, lambda k: jax.random.bernoulli(k, 1.0 - dropout, x.shape[1:]))
  return x


@jax.custom_jvp
def _softplus(l):
  """log(1 + exp(l)), stable, in the few ops XLA's CPU backend runs fast (jax.nn.softplus,
  through logaddexp, is several times slower); the derivative is sigmoid(l), at l = 0 too."""
  return jnp.maximum(l, 0) + jnp.log1p(jnp.exp(-jnp.abs(l)))


@_softplus.defjvp
def _softplus_jvp(primals, tangents):
  (l,), (t,) = primals, tangents
  return _softplus(l), jax.nn.sigmoid(l) * t


def bce_with_logits(logits, x):
  """Bernoulli negative log-likelihood summed over all but the batch axis: [B].

  softplus(l) - x * l: the values and gradients of optax.sigmoid_binary_cross_entropy, about 8x
  faster on a CPU (measured on 10,000 x 784 logits, where the importance-sampled likelihood spends
  most of its time).
  """
  l, x = logits.reshape((x.shape[0], -1)), x.reshape((x.shape[0], -1))
  return jnp.sum(_softplus(l) - x * l, -1)


def kl_sparsity(codes, target: float):
  """KL(target || mean activation) summed over units; codes must lie in (0, 1) (sigmoid codes)."""
  rho = jnp.clip(codes.mean(0), 1e-6, 1 - 1e-6)
  return jnp.sum(target * jnp.log(target / rho) + (1 - target) * jnp.log((1 - target) / (1 - rho)))


@by_value
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

  defaults = dict(noise_std=noise_std, dropout=dropout, l1_codes=l1_codes, kl_target=kl_target,
                  kl_weight=kl_weight)

  def loss_fn(params, batch, rng, **hparams):
    hp = {**defaults, **hparams}
    x = to_float(batch["image"])
    logits, codes = apply_fn(params, corrupt(x, rng, hp["noise_std"], hp["dropout"], _index(batch, x)))
    mse = jnp.mean(((logits if kind == "mse_linear" else jax.nn.sigmoid(logits)) - x) ** 2)
    recon = bce_with_logits(logits, x).mean() if kind == "bce" else mse
    loss = recon
    metrics = {"recon_mse": mse}
    if _on(hp["l1_codes"]):
      penalty = jnp.abs(codes).sum(-1).mean()
      loss = loss + hp["l1_codes"] * penalty
      metrics["l1_codes"] = penalty
    if _on(hp["kl_weight"]):
      penalty = kl_sparsity(codes.reshape((codes.shape[0], -1)), hp["kl_target"])
      loss = loss + hp["kl_weight"] * penalty
      metrics["kl_sparsity"] = penalty
    metrics["loss"] = loss
    return loss, metrics

  return loss_fn


def binarize(x, rng, index=None):
  """Dynamic binarisation: each pixel ~ Bernoulli(intensity), resampled every time (per example)."""
  keys = example_keys(rng, _positions(index, x.shape[0]))
  return jax.vmap(jax.random.bernoulli)(keys, x).astype(jnp.float32)


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


@by_value
def elbo(apply_fn: Callable, likelihood: str = "bernoulli", dynamic_binarization: bool = True,
         beta: float = 1.0):
  """Negative ELBO in nats per example: -(E_q[log p(x|z)] - beta * KL(q(z|x) || p(z))).

  apply_fn(params, x, rng) -> (decoder output, mean, logvar); it gets one key per example [B, 2]
  (aejax.models.vae.VAE draws each example's z from its own key). beta may be traced.
  """

  def loss_fn(params, batch, rng, beta=beta):
    k_bin, k_z = jax.random.split(rng)
    x = to_float(batch["image"])
    index = _index(batch, x)
    if dynamic_binarization:
      x = binarize(x, k_bin, index)
    out, mean, logvar = apply_fn(params, x, example_keys(k_z, index))
    obs_logvar = params["params"].get("obs_logvar") if likelihood == "gaussian" else None
    rec = log_likelihood(out, x, likelihood, obs_logvar).mean()
    kl = gaussian_kl(mean, logvar).mean()
    loss = -(rec - beta * kl)
    return loss, {"loss": loss, "neg_elbo": -(rec - kl), "recon_nll": -rec, "kl": kl}

  return loss_fn


@by_value
def cross_entropy(apply_fn: Callable, augment_noise: float = 0.0):
  """Softmax cross-entropy classification loss with accuracy; apply_fn(params, x) -> logits."""

  def loss_fn(params, batch, rng, augment_noise=augment_noise):
    x = to_float(batch["image"])
    x = corrupt(x, rng, augment_noise, index=_index(batch, x))
    logits = apply_fn(params, x)
    labels = batch["label"]
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    return loss, {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels)}

  return loss_fn


@by_value(parts=2)
def gan_nonsaturating(g_apply: Callable, d_apply: Callable, latent: int, conditional: bool = False,
                      pack: int = 1, image_output: bool = True, unroll: int = 0, unroll_lr: float = 1e-2,
                      axis_name: str | None = None, r1: float = 0.0, hinge: bool = False):
  """Standard GAN losses (Goodfellow et al.), non-saturating generator loss; or, with hinge=True, the
  hinge loss (Lim & Ye 2017; Miyato et al. 2018's with spectral normalisation): the discriminator
  minimises E relu(1 - D(x)) + E relu(1 + D(G(z))), the generator -E D(G(z)).

  Returns (d_loss_fn, g_loss_fn) with signatures
    d_loss_fn(d_params, g_params, batch, rng) and g_loss_fn(g_params, d_params, batch, rng).
  `pack` > 1 is PacGAN: the discriminator judges `pack` samples concatenated together.
  image_output: generator outputs logits to squash with a sigmoid (images); False for 2-D points.
  unroll > 0 is the Unrolled GAN (Metz et al. 2017): the generator is scored by the discriminator
  after `unroll` gradient steps of size unroll_lr on its loss against the current
  generator, differentiated through those steps, so it is pushed towards moves the discriminator
  cannot simply answer by following it to the next mode. axis_name: under pmap, the batch axis the
  inner steps' gradients are averaged over, so they follow the whole batch's gradient as on one device.
  r1 > 0 (or traced) adds the R1 penalty r1 / 2 * E ||grad_x D(x)||^2 on the real data to the
  discriminator's loss (Mescheder et al. 2018), which keeps it from sharpening without bound.
  """

  def fake(g_params, batch, rng):
    k_z, k_y = jax.random.split(rng)
    z = per_example(k_z, _index(batch, batch["image"]), lambda k: jax.random.normal(k, (latent,)))
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

  def d_terms(d_params, g_params, batch, rng, through_generator: bool):
    """The discriminator's loss, its real and fake logits; the gradient reaches the generator only
    when through_generator (the Unrolled GAN's inner steps)."""
    x_fake, labels = fake(g_params, batch, rng)
    if not through_generator:
      x_fake = jax.lax.stop_gradient(x_fake)
    real = d_logits(d_params, to_float(batch["image"]), labels)
    fake_logits = d_logits(d_params, x_fake, labels)
    if hinge:
      loss = jax.nn.relu(1.0 - real).mean() + jax.nn.relu(1.0 + fake_logits).mean()
    else:
      loss = (optax.sigmoid_binary_cross_entropy(real, jnp.ones_like(real)).mean()
              + optax.sigmoid_binary_cross_entropy(fake_logits, jnp.zeros_like(fake_logits)).mean())
    return loss, real, fake_logits

  def r1_penalty(d_params, batch):
    x, labels = to_float(batch["image"]), batch["label"] if conditional else None
    grad = jax.grad(lambda x: d_logits(d_params, x, labels).sum())(x)  # each logit depends on its own pack only
    return 0.5 * jnp.sum(grad.reshape((grad.shape[0] // pack, -1)) ** 2, -1).mean()

  def d_loss_fn(d_params, g_params, batch, rng, r1=r1):
    loss, real, fake_logits = d_terms(d_params, g_params, batch, rng, through_generator=False)
    metrics = {"d_loss": loss, "d_real": jax.nn.sigmoid(real).mean(), "d_fake": jax.nn.sigmoid(fake_logits).mean()}
    if _on(r1):
      penalty = r1_penalty(d_params, batch)
      loss, metrics["r1"] = loss + r1 * penalty, penalty
    return loss, metrics

  def g_loss_fn(g_params, d_params, batch, rng, unroll_lr=unroll_lr):
    if unroll:
      def d_step(d, key):
        grads = jax.grad(lambda d: d_terms(d, g_params, batch, key, through_generator=True)[0])(d)
        grads = grads if axis_name is None else jax.lax.pmean(grads, axis_name)
        return jax.tree.map(lambda p, g: p - unroll_lr * g, d, grads), None
      d_params, _ = jax.lax.scan(d_step, d_params, jax.random.split(jax.random.fold_in(rng, 1), unroll))
    x_fake, labels = fake(g_params, batch, rng)
    logits = d_logits(d_params, x_fake, labels)
    loss = -logits.mean() if hinge else optax.sigmoid_binary_cross_entropy(logits, jnp.ones_like(logits)).mean()
    return loss, {"g_loss": loss}

  return d_loss_fn, g_loss_fn


@by_value(parts=2)
def gan_semi_supervised(g_apply: Callable, d_apply: Callable, latent: int, unlabeled_weight: float = 1.0,
                        axis_name: str | None = None):
  """Semi-supervised GAN with feature matching (Salimans et al. 2016, Section 5).

  The discriminator is a K-class classifier, d_apply(params, x, noise_keys) -> (logits, features);
  its "real" probability is Z / (Z + 1), Z = sum_k exp(logit_k). Its loss is the cross-entropy on
  the labelled images plus unlabeled_weight times the GAN loss on unlabeled and generated images;
  the generator matches the mean of the discriminator's last hidden features on unlabeled images.
  The generator (g_apply(params, z) -> pixel logits [B, D]) is squashed by a sigmoid.
  batch: "image" and "label" (the labelled set, tiled) and "unlabeled" images. axis_name: under pmap,
  the batch axis the matched feature means are taken over (the whole batch's means, as on one device).
  Returns (d_loss_fn, g_loss_fn) for train.make_gan_step.
  """

  def fake(g_params, batch, rng):
    z = per_example(rng, _index(batch, batch["unlabeled"]), lambda k: jax.random.normal(k, (latent,)))
    return jax.nn.sigmoid(g_apply(g_params, z))

  def d_apply_noisy(d_params, x, rng, index):
    return d_apply(d_params, x, example_keys(rng, index))

  def d_loss_fn(d_params, g_params, batch, rng, unlabeled_weight=unlabeled_weight):
    index = _index(batch, batch["unlabeled"])
    k_fake, k_lab, k_unl, k_gen = jax.random.split(rng, 4)
    x_fake = jax.lax.stop_gradient(fake(g_params, batch, k_fake))
    logits_l, _ = d_apply_noisy(d_params, to_float(batch["image"]), k_lab, index)
    logits_u, _ = d_apply_noisy(d_params, to_float(batch["unlabeled"]), k_unl, index)
    logits_f, _ = d_apply_noisy(d_params, x_fake, k_gen, index)
    supervised = optax.softmax_cross_entropy_with_integer_labels(logits_l, batch["label"]).mean()
    lse_u, lse_f = jax.nn.logsumexp(logits_u, -1), jax.nn.logsumexp(logits_f, -1)
    # -log D(x) = softplus(lse) - lse on unlabeled data; -log(1 - D(G(z))) = softplus(lse) on samples
    unsupervised = (_softplus(lse_u) - lse_u).mean() + _softplus(lse_f).mean()
    loss = supervised + unlabeled_weight * unsupervised
    accuracy = (logits_l.argmax(-1) == batch["label"]).mean()
    return loss, {"d_loss": loss, "supervised": supervised, "unsupervised": unsupervised, "train_acc": accuracy}

  def g_loss_fn(g_params, d_params, batch, rng, unlabeled_weight=unlabeled_weight):
    index = _index(batch, batch["unlabeled"])
    k_fake, k_unl, k_gen = jax.random.split(rng, 3)
    _, feats_u = d_apply_noisy(d_params, to_float(batch["unlabeled"]), k_unl, index)
    _, feats_f = d_apply_noisy(d_params, fake(g_params, batch, k_fake), k_gen, index)
    means = (feats_u.mean(0), feats_f.mean(0))
    mean_u, mean_f = means if axis_name is None else jax.lax.pmean(means, axis_name)
    loss = jnp.mean((jax.lax.stop_gradient(mean_u) - mean_f) ** 2)
    return loss, {"g_loss": loss}

  return d_loss_fn, g_loss_fn


def random_shift(x, rng, max_shift: int, index=None):
  """Translate each image [B, H, W, C] by up to `max_shift` pixels in each direction (zero fill)."""
  if max_shift <= 0:
    return x
  b, h, w, c = x.shape
  index = _positions(index, b)
  padded = jnp.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
  offsets = per_example(rng, index, lambda k: jax.random.randint(k, (2,), 0, 2 * max_shift + 1))
  crop = lambda img, o: jax.lax.dynamic_slice(img, (o[0], o[1], 0), (h, w, c))
  return jax.vmap(crop)(padded, offsets)


@by_value
def consistency_cross_entropy(apply_fn: Callable, unlabeled_weight: float = 1.0, threshold: float = 0.95,
                              max_shift: int = 2, noise_std: float = 0.0, dropout: float = 0.0):
  """Semi-supervised classification loss (FixMatch-style pseudo-label consistency).

  batch: "image"/"label" (labelled) and "unlabeled" images. The labelled term is cross-entropy on
  shifted images; on each unlabeled image, the prediction for the clean image, where its top
  probability reaches `threshold`, is the hard target for the same image shifted and corrupted
  (noise, masking). apply_fn(params, x) -> logits. max_shift is structural; the rest may be traced.
  """

  def loss_fn(params, batch, rng, unlabeled_weight=unlabeled_weight, threshold=threshold, noise_std=noise_std,
              dropout=dropout):
    k_lab, k_shift, k_corrupt = jax.random.split(rng, 3)
    index = _index(batch, batch["image"])
    x, labels = random_shift(to_float(batch["image"]), k_lab, max_shift, index), batch["label"]
    logits = apply_fn(params, x)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    u = to_float(batch["unlabeled"])
    probs = jax.nn.softmax(jax.lax.stop_gradient(apply_fn(params, u)))
    mask = (probs.max(-1) >= threshold).astype(jnp.float32)
    strong = corrupt(random_shift(u, k_shift, max_shift, index), k_corrupt, noise_std, dropout, index)
    u_ce = optax.softmax_cross_entropy_with_integer_labels(apply_fn(params, strong), probs.argmax(-1))
    u_loss = (u_ce * mask).mean()
    loss = ce + unlabeled_weight * u_loss
    return loss, {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels),
                  "unlabeled_ce": u_loss, "confident_fraction": mask.mean()}

  return loss_fn
