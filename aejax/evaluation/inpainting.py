"""Inpainting with a trained generator: search its latent space for the image that agrees with the
visible pixels (Yeh et al. 2017, "Semantic image inpainting with deep generative models")."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from aejax.evaluation import static_fn


def center_mask(shape, size: int) -> np.ndarray:
  """float mask [H, W, 1]: 1 = visible, 0 = the hidden centre square of side `size`."""
  h, w = shape[:2]
  m = np.ones((h, w, 1), np.float32)
  top, left = (h - size) // 2, (w - size) // 2
  m[top:top + size, left:left + size] = 0
  return m


@functools.partial(jax.jit, static_argnames=("g_apply", "latent", "steps"))
def _search(g_apply, g_params, x, mask, key, *, latent, steps, lr, prior_weight):
  tx = optax.adam(lr)

  def loss(z):
    out = jax.nn.sigmoid(g_apply(g_params, z))
    visible = (((out - x) * mask) ** 2).reshape((len(x), -1)).sum(-1)
    return (visible + prior_weight * 0.5 * (z**2).sum(-1)).sum(), visible

  def body(carry, _):
    z, opt = carry
    (_, visible), g = jax.value_and_grad(loss, has_aux=True)(z)
    updates, opt = tx.update(g, opt, z)
    return (optax.apply_updates(z, updates), opt), visible.mean()

  z0 = jax.random.normal(key, (len(x), latent))
  (z, _), curve = jax.lax.scan(body, (z0, tx.init(z0)), None, length=steps)
  return jax.nn.sigmoid(g_apply(g_params, z)), curve


def inpaint(g_apply, g_params, images, mask, *, latent: int, steps: int = 200, lr: float = 0.05,
            prior_weight: float = 0.01, seed: int = 0, batch_size: int = 100):
  """Fill the hidden pixels (mask 0) of `images` [N, H, W, C] in [0, 1] from G(z*), where
  z* = argmin_z ||mask * (G(z) - x)||^2 + prior_weight/2 ||z||^2 (Adam, `steps` steps).
  Returns (completed images [N, H, W, C] with the visible pixels kept, mean visible-pixel loss per step).
  g_params are traced: one compile per (g_apply, batch shape, latent, steps), reused for new params."""
  x = np.asarray(images, np.float32)
  mask = np.broadcast_to(np.asarray(mask, np.float32), x.shape[1:])
  outs, curves = [], []
  for i in range(0, len(x), batch_size):
    chunk = x[i:i + batch_size]
    gen, curve = _search(static_fn(g_apply), g_params, jnp.asarray(chunk), jnp.asarray(mask),
                         jax.random.PRNGKey(seed + i), latent=latent, steps=steps, lr=lr,
                         prior_weight=prior_weight)
    outs.append(mask * chunk + (1 - mask) * np.asarray(gen))
    curves.append(np.asarray(curve))
  return np.concatenate(outs), np.mean(curves, 0)


def hole_psnr(reference, estimate, mask) -> np.ndarray:
  """PSNR (dB) per image [N] over the hidden pixels only; inputs in [0, 1]."""
  hole = np.broadcast_to(1 - np.asarray(mask, np.float32), np.shape(reference)[1:]).astype(bool)
  err = (np.asarray(reference, np.float32) - np.asarray(estimate, np.float32))[:, hole]
  return 10 * np.log10(1.0 / np.maximum((err**2).mean(-1), 1e-12))
