"""The one training loop: on-device data, per-epoch shuffles, checkpoints, metrics, NaN guard.

Every experiment trains through `fit`; only the step (a pure function) differs.
"""

import json
import math
import pathlib
import signal
import sys
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from aejax import parallel
from aejax.checkpoint import Checkpointer


class NonFiniteLossError(FloatingPointError):
  """Raised when a training metric becomes NaN or inf; the last good checkpoint is kept."""


class DeviceData:
  """A whole (MNIST-scale) dataset kept on device, served as shuffled global batches.

  Batch i of epoch e is fixed by (seed, e, i), so a resumed run sees exactly the batches an
  uninterrupted one would. Every process draws the same global indices and keeps its own slice.
  """

  def __init__(self, arrays: dict, batch_size: int, seed: int, mode: str = "jit"):
    sizes = {k: len(v) for k, v in arrays.items()}
    n = next(iter(sizes.values()))
    if len(set(sizes.values())) != 1:
      raise ValueError(f"arrays have different lengths: {sizes}")
    if batch_size > n:
      raise ValueError(f"batch_size={batch_size} exceeds the {n} training examples; lower batch_size")
    parallel.check_batch_size(batch_size, mode)
    self.arrays = jax.device_put({k: np.asarray(v) for k, v in arrays.items()})
    self.batch_size, self.seed, self.mode, self.n = batch_size, seed, mode, n
    self.steps_per_epoch = n // batch_size  # drop the remainder: fixed shapes, one compile
    self._rows = parallel.host_slice(batch_size)
    self._perm_epoch, self._perm = None, None
    self._gather = jax.jit(lambda arrays, idx: jax.tree.map(lambda a: a[idx], arrays))

  def batch(self, step: int):
    """The global batch for training step `step` (0-based), shaped for the parallel mode."""
    epoch, i = divmod(int(step), self.steps_per_epoch)
    if epoch != self._perm_epoch:
      key = jax.random.fold_in(jax.random.PRNGKey(self.seed), epoch)
      self._perm, self._perm_epoch = jax.random.permutation(key, self.n), epoch
    idx = self._perm[i * self.batch_size:(i + 1) * self.batch_size][self._rows]
    return parallel.put_batch(self._gather(self.arrays, idx), self.mode)


def _sigterm_flag():
  flag = {"set": False}

  def handler(signum, frame):
    flag["set"] = True

  try:
    previous = signal.signal(signal.SIGTERM, handler)
  except ValueError:  # not the main thread: no preemption handling
    previous = None
  return flag, previous


def fit(state, step_fn: Callable, data: DeviceData, num_steps: int, *, mode: str = "jit",
        workdir=None, checkpoint_every: int = 0, keep: int = 3, log_every: int = 100,
        desc: str = "train", eval_fn: Callable | None = None, progress: bool = True):
  """Run `step_fn` until `state.step == num_steps`; returns (state, history).

  step_fn: a pure step from aejax.train (not yet jitted); `fit` compiles it for `mode`.
  workdir: if set, checkpoints go to workdir/checkpoints (resumed from the latest) and the
    logged metrics are appended to workdir/metrics.jsonl.
  eval_fn(state) -> dict is called at each log point (host side, on the unreplicated state).
  SIGTERM saves a checkpoint and exits with status 143. A NaN/inf metric raises
  NonFiniteLossError without saving, so the last good checkpoint stays the latest.
  """
  ckpt = Checkpointer(pathlib.Path(workdir) / "checkpoints", keep) if workdir else None
  if ckpt is not None:
    restored = ckpt.restore(state)
    if restored is not None:
      state = restored
  step = parallel.compile_step(step_fn, mode)
  start = int(jax.device_get(state.step))
  state = parallel.put_state(state, mode)
  log_path = pathlib.Path(workdir) / "metrics.jsonl" if workdir else None
  history, pending, last_good = [], [], start
  flag, previous_handler = _sigterm_flag()
  bar = tqdm(total=num_steps, initial=start, desc=desc, disable=None if progress else True, leave=False,
             mininterval=2.0, file=sys.stderr)
  t0 = time.perf_counter()
  try:
    for s in range(start, num_steps):
      state, metrics = step(state, data.batch(s))
      pending.append(metrics)
      done = s + 1
      at_log = done % log_every == 0 or done == num_steps
      at_ckpt = ckpt is not None and checkpoint_every and done % checkpoint_every == 0
      if at_log or at_ckpt or flag["set"]:
        record = _summarise(pending, mode)
        pending = []
        bad = [k for k, v in record.items() if not math.isfinite(v)]
        if bad:
          where = f"; the last good checkpoint (step {ckpt.latest_step()}) is kept in {ckpt.directory}" if ckpt else ""
          raise NonFiniteLossError(
              f"{desc}: {', '.join(bad)} became non-finite at step {done}{where}. "
              "Lower the learning rate (--set lr=...) or check the data.")
        record.update(step=done, seconds=round(time.perf_counter() - t0, 3))
        if eval_fn is not None and at_log:
          record.update(eval_fn(parallel.get_state(state, mode)))
        history.append(record)
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k in ("loss", "d_loss", "g_loss")})
        if log_path is not None and jax.process_index() == 0:
          with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if ckpt is not None and (at_ckpt or flag["set"]):
          ckpt.save(done, parallel.get_state(state, mode))
          last_good = done
        if flag["set"]:
          raise SystemExit(143)
      bar.update(1)
  finally:
    bar.close()
    if previous_handler is not None:
      signal.signal(signal.SIGTERM, previous_handler)
  state = parallel.get_state(state, mode)
  if ckpt is not None:
    if last_good != num_steps and start != num_steps:
      ckpt.save(num_steps, state)
    ckpt.close()
  return state, history


def _summarise(metrics_list, mode):
  """Mean of each metric over the steps since the last log (one device sync)."""
  stacked = jax.device_get(jax.tree.map(lambda *xs: jnp.stack(xs), *metrics_list))
  if mode == "pmap":
    stacked = jax.tree.map(lambda x: x[:, 0], stacked)
  return {k: float(np.mean(v)) for k, v in stacked.items()}


def train(params, loss_fn, arrays: dict, *, steps: int, batch_size: int, lr: float, seed: int,
          tx=None, mode: str = "jit", workdir=None, log_every: int = 200, desc: str = "train",
          checkpoint_every: int = 0, eval_fn: Callable | None = None):
  """The common recipe: Adam(lr) (or `tx`) on `loss_fn` over `arrays` for `steps` steps.

  Returns (state, history). For anything non-standard, build the state and step yourself and
  call `fit`.
  """
  import optax
  from aejax.train import create_train_state, make_train_step
  params = jax.tree.map(jnp.array, params)  # a copy: the compiled step donates its state's buffers
  state = create_train_state(params, tx if tx is not None else optax.adam(lr), seed)
  step = make_train_step(loss_fn, parallel.axis_name(mode))
  data = DeviceData(arrays, batch_size, seed, mode)
  return fit(state, step, data, steps, mode=mode, workdir=workdir, log_every=log_every,
             desc=desc, checkpoint_every=checkpoint_every, eval_fn=eval_fn)


def train_autoencoder(model, images, *, steps: int, batch_size: int, lr: float, seed: int,
                      kind: str = "mse", noise_std: float = 0.0, dropout: float = 0.0,
                      l1_codes: float = 0.0, kl_target: float = 0.0, kl_weight: float = 0.0,
                      mode: str = "jit", desc: str = "autoencoder", log_every: int = 200,
                      eval_fn: Callable | None = None):
  """Initialise `model` (an aejax Autoencoder) from `seed` and train it to reconstruct `images`.

  The loss is losses.reconstruction with the given corruption/sparsity settings; images are
  uint8 NHWC. eval_fn(state) -> dict is called every `log_every` steps (see `fit`).
  Returns (params, history).
  """
  from aejax import losses
  params = model.init(jax.random.PRNGKey(seed), jnp.zeros((1, *images.shape[1:]), jnp.float32))
  loss_fn = losses.reconstruction(model.apply, kind=kind, noise_std=noise_std, dropout=dropout,
                                  l1_codes=l1_codes, kl_target=kl_target, kl_weight=kl_weight)
  state, history = train(params, loss_fn, {"image": images}, steps=steps, batch_size=batch_size,
                         lr=lr, seed=seed, mode=mode, log_every=log_every, desc=desc,
                         eval_fn=eval_fn)
  return state.params, history


_STEPS = {}


def _step_for(key: tuple, build: Callable):
  """(tx, step) built once per setting `key`: repeated runs get the same objects, so jit reuses
  one compiled step instead of compiling a fresh closure each time."""
  if key not in _STEPS:
    _STEPS[key] = build()
  return _STEPS[key]


def _classifier_step(apply_fn, params, lr, trainable, consistency, axis_name):
  """(tx, step) for train_classifier, one per setting."""
  import optax
  from aejax import losses
  from aejax.train import freeze, make_train_step

  def build():
    tx = optax.adam(lr) if trainable is None else freeze(optax.adam(lr), params, trainable)
    loss_fn = (losses.cross_entropy(apply_fn) if consistency is None
               else losses.consistency_cross_entropy(apply_fn, **consistency))
    return tx, make_train_step(loss_fn, axis_name)

  return _step_for(("classifier", apply_fn, lr, trainable, axis_name,
                    None if consistency is None else tuple(sorted(consistency.items()))), build)


def train_classifier(apply_fn, params, images, labels, *, steps: int, batch_size: int, lr: float,
                     seed: int, trainable: Callable[[tuple], bool] | None = None, unlabeled=None,
                     consistency: dict | None = None, mode: str = "jit", desc: str = "classifier",
                     log_every: int = 200):
  """Train a classifier `apply_fn(params, x) -> logits` from `params` for a fixed number of Adam steps.

  The few-labels recipe: `params` is a random init (from scratch) or holds a pretrained encoder
  (fine-tuning); `trainable(path)` limits updates to matching params (aejax.train.freeze), e.g.
  `lambda p: "head" in p` for a probe on a frozen encoder. With `unlabeled` images the loss is
  losses.consistency_cross_entropy(**consistency) and the labelled set is tiled to the unlabeled
  set's length, so one shuffled batch holds both; otherwise losses.cross_entropy, with batch_size
  capped at the labelled set size. Calls with the same apply_fn, lr, `trainable` object and
  consistency settings share one compiled step. Returns (params, history).
  """
  if unlabeled is None:
    consistency = None
    arrays = {"image": images, "label": labels}
    batch_size = min(batch_size, len(images))
  else:
    consistency = dict(consistency or {})
    tile = np.arange(len(unlabeled)) % len(images)
    arrays = {"image": images[tile], "label": labels[tile], "unlabeled": unlabeled}
  tx, step = _classifier_step(apply_fn, params, lr, trainable, consistency, parallel.axis_name(mode))
  from aejax.train import create_train_state
  state = create_train_state(jax.tree.map(jnp.array, params), tx, seed)  # a copy: the step donates it
  data = DeviceData(arrays, batch_size, seed, mode)
  state, history = fit(state, step, data, steps, mode=mode, log_every=log_every, desc=desc)
  return state.params, history


def _gan_step(generator, discriminator, latent, lr, beta1, conditional, pack, image_output, loss_fns,
              d_steps, axis_name):
  """(tx, step) for train_gan, one per setting."""
  import optax
  from aejax import losses
  from aejax.train import make_gan_step

  def build():
    fns = loss_fns or losses.gan_nonsaturating(generator.apply, discriminator.apply, latent,
                                               conditional=conditional, pack=pack, image_output=image_output)
    return optax.adam(lr, b1=beta1), make_gan_step(*fns, axis_name=axis_name, d_steps=d_steps)

  return _step_for(("gan", generator, discriminator, latent, lr, beta1, conditional, pack, image_output,
                    loss_fns, d_steps, axis_name), build)


def train_gan(generator, discriminator, images, *, latent: int, steps: int, batch_size: int, lr: float,
              seed: int, beta1: float = 0.5, labels=None, d_steps: int = 1, pack: int = 1,
              image_output: bool = True, loss_fns: tuple | None = None, mode: str = "jit",
              desc: str = "gan", log_every: int = 200, eval_fn: Callable | None = None):
  """Initialise a generator and discriminator from `seed` and train them as a GAN on `images`.

  images: uint8 NHWC images (or float points [N, D] with image_output=False). With `labels` the
  pair is class-conditional. Loss: losses.gan_nonsaturating (PacGAN `pack`) unless `loss_fns` =
  (d_loss_fn, g_loss_fn) is given; Adam(lr, beta1) for both (lr may be an optax schedule); the step is
  train.make_gan_step, compiled once per setting and reused by later calls.
  Returns (GANState, history) with d_loss, g_loss, d_real, d_fake per log point.
  """
  from aejax.train import create_gan_state
  conditional = labels is not None
  k_g, k_d = jax.random.split(jax.random.PRNGKey(seed))
  y0 = jnp.zeros((1,), jnp.int32) if conditional else None
  g_params = generator.init(k_g, jnp.zeros((1, latent)), y0)
  x0 = jnp.zeros((1, *np.shape(images)[1:]), jnp.float32)
  if pack > 1:  # the loss packs points side by side and images along channels
    x0 = jnp.zeros((*x0.shape[:-1], x0.shape[-1] * pack) if x0.ndim == 4 else (1, x0.size * pack), jnp.float32)
  d_params = discriminator.init(k_d, x0, y0) if conditional else discriminator.init(k_d, x0)
  tx, step = _gan_step(generator, discriminator, latent, lr, beta1, conditional, pack, image_output,
                       loss_fns, d_steps, parallel.axis_name(mode))
  state = create_gan_state(g_params, d_params, tx, tx, seed)
  arrays = {"image": images} if not conditional else {"image": images, "label": labels}
  data = DeviceData(arrays, batch_size, seed, mode)
  return fit(state, step, data, steps, mode=mode, log_every=log_every, desc=desc, eval_fn=eval_fn)
