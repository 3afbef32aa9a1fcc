"""Shared by the benchmark scripts: the library's train steps on synthetic MNIST-shaped data, timing, output."""

import json
import os
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from aejax import losses  # noqa: E402
from aejax.models import autoencoder, gan, stacked, vae  # noqa: E402
from aejax.train import create_gan_state, create_train_state, make_gan_step, make_train_step  # noqa: E402

MODELS = ("mlp_ae", "conv_ae", "conv_ae_matmul", "tied_stack", "vae", "dcgan")


def images(n: int, seed: int = 0):
  """uint8 [n, 28, 28, 1]: throughput does not depend on pixel values."""
  return np.random.default_rng(seed).integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)


def build(name: str, batch_size: int, axis_name=None, seed: int = 0, noise_std: float = 0.1):
  """(state, step, batch) for one of MODELS: the library's model, loss and step factory."""
  x = jnp.zeros((1, 28, 28, 1))
  key = jax.random.PRNGKey(seed)
  batch = {"image": images(batch_size, seed)}
  if name == "dcgan":
    g, d = gan.DCGANGenerator(), gan.DCGANDiscriminator()
    g_params = g.init(key, jnp.zeros((1, 64)))
    d_params = d.init(key, x)
    d_loss, g_loss = losses.gan_nonsaturating(g.apply, d.apply, latent=64)
    tx = optax.adam(2e-4, b1=0.5)
    return create_gan_state(g_params, d_params, tx, tx, seed), make_gan_step(d_loss, g_loss, axis_name), batch
  if name == "vae":
    model = vae.VAE(latent=50)
    params = model.init(key, x, key)
    loss = losses.elbo(model.apply)
  else:
    model = {"mlp_ae": lambda: autoencoder.mlp_autoencoder(32),
             "conv_ae": lambda: autoencoder.conv_autoencoder(None),
             "conv_ae_matmul": lambda: autoencoder.conv_autoencoder(None, impl="matmul"),
             "tied_stack": lambda: stacked.StackedAutoencoder((300, 150), tied=True)}[name]()
    params = model.init(key, x)
    loss = losses.reconstruction(model.apply, noise_std=noise_std)
  return create_train_state(params, optax.adam(1e-3), seed), make_train_step(loss, axis_name), batch


def time_calls(fn, state, args, seconds: float = 1.0, repeats: int = 3, max_calls: int = 1000):
  """Median seconds per call of `state = fn(state, *args)[0]`, after a compile call.

  Calls per repeat are chosen so a repeat lasts about `seconds`. Returns (sec_per_call, state).
  """
  state = jax.block_until_ready(fn(state, *args)[0])  # compile + first run
  t0 = time.perf_counter()
  state = jax.block_until_ready(fn(state, *args)[0])
  calls = int(min(max_calls, max(1, seconds / max(time.perf_counter() - t0, 1e-6))))
  per_call = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    for _ in range(calls):
      state = fn(state, *args)[0]
    jax.block_until_ready(state)
    per_call.append((time.perf_counter() - t0) / calls)
  return float(np.median(per_call)), state


def check_mirror(name: str, got, want, rtol: float = 1e-4):
  """A PyTorch mirror computes gan.py's function: its outputs agree with Flax's to float32 rounding,
  relative to the largest output (else it is not a mirror and its timings say nothing)."""
  got, want = np.asarray(got), np.asarray(want)
  err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-6)
  if not err < rtol:
    raise AssertionError(f"the PyTorch {name} is not gan.py's: relative difference {err:.2g}")


def machine() -> dict:
  d = jax.devices()[0]
  return {"backend": jax.default_backend(), "device": d.device_kind, "device_count": jax.device_count(),
          "cpu_count": os.cpu_count(), "load_avg": [round(x, 2) for x in os.getloadavg()],
          "jax": jax.__version__, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def write(out, filename: str, result: dict):
  if out:
    path = pathlib.Path(out)
    path.mkdir(parents=True, exist_ok=True)
    (path / filename).write_text(json.dumps(result, indent=1))


def table(rows: list[dict], columns: list[str]) -> str:
  """Plain fixed-width table of dict rows."""
  fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
  cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
  widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
  lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
  lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
  return "\n".join(lines)
