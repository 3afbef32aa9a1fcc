"""Recipes: initialise a model and train it the common way (Adam, traced settings) through `fit`.

One function per kind of model: `train` (any loss), `train_autoencoder`, `train_classifier`,
`train_gan`, `train_semi_supervised_gan`. Each builds its state and step (aejax.train) and hands
them to aejax.trainer.fit, inside whatever session (parallel mode, checkpoints) the caller entered.
Each takes the run's `name` (its checkpoint directory in that session) and returns
(state, history).
"""

import dataclasses
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from aejax import losses, parallel
from aejax.train import default_average_decay, create_adam_gan_state, create_adam_state, create_train_state, make_gan_step, make_train_step
from aejax.trainer import DeviceData, fit, per_trial, resolve_mode, stack_trials, take_trial, trial_seeds


# Model initialisation jitted with the module as a static argument: one compile per architecture
# (eager init compiles every op of the forward pass separately), and without XLA's backend
# optimisations, which cost seconds per architecture on a CPU for a function that runs once
# (measured: a DCGAN pair's init compiles in 0.5 s instead of 2.4 s).
_init = jax.jit(lambda module, key, *inputs: module.init(key, *inputs), static_argnums=0,
                compiler_options={"xla_backend_optimization_level": 0})


def init(module, seed_or_key, *inputs):
  """`module.init` compiled once per (module value, input shapes)."""
  key = jax.random.PRNGKey(seed_or_key) if isinstance(seed_or_key, int) else seed_or_key
  return _init(module, key, *inputs)


def _global_statistics(module, mode: str):
  """Under pmap, `module` with its batch statistics (batch norm, minibatch std) taken over all
  devices (its axis_name field set), as on one device; otherwise `module` itself."""
  if mode == "pmap" and "axis_name" in getattr(module, "__dataclass_fields__", {}):
    return module.clone(axis_name=parallel.AXIS)
  return module


def train(params, loss_fn, arrays: dict, *, steps: int, batch_size: int, lr, seed: int | Sequence[int], tx=None,
          b1: float = 0.9, decay_steps: int = 0, alpha: float = 1.0, hparams: dict | None = None,
          trainable: Callable[[tuple], bool] | None = None,
          mode: str | None = None, workdir=None, log_every: int = 200, name: str | None = None,
          checkpoint_every: int | None = None, eval_fn: Callable | None = None, vectorise_trials: bool = True):
  """The common recipe: Adam(lr, b1) (or `tx`) on `loss_fn` over `arrays` for `steps` steps.

  lr, b1, the cosine decay (decay_steps > 0: to alpha * lr, as optax.cosine_decay_schedule) and
  `hparams` (the loss's keyword settings) are traced values: runs that differ only in them share
  one compiled step. trainable(path): update only the matching params.
  Returns (state, history). For anything non-standard, build the state and step yourself and
  call `fit`.

  seed: a sequence of T seeds trains T trials of this configuration side by side, in one program:
  `params` then holds the trials' initial params stacked on a leading axis (trainer.stack_trials),
  and trial t draws its noise and shuffles its data by seeds[t], as train(seed=seeds[t]) from
  params[t] would. The state comes back stacked (trainer.take_trial), the history per `fit`'s
  trials; vectorise_trials as trainer.TrialStep's (False: lax.map, for convolutional models on a CPU).
  """
  mode = resolve_mode(mode)
  data = DeviceData(arrays, batch_size, seed, mode)  # checks the batch before anything compiles
  params = jax.tree.map(jnp.array, params)  # a copy: the compiled step donates its state's buffers

  def start(params, seed):
    return (create_adam_state(params, seed, lr, b1, hparams=hparams, trainable=trainable, decay_steps=decay_steps,
                              alpha=alpha) if tx is None
            else create_train_state(params, tx, seed, hparams, trainable))

  seeds = trial_seeds(seed)
  if seeds is None:
    state = start(params, seed)
  else:
    leading = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in jax.tree.leaves(params)}
    if leading != {len(seeds)}:
      raise ValueError(f"{name or 'train'}: {len(seeds)} seeds need params stacked on a leading axis of {len(seeds)} "
                       f"(trainer.stack_trials); their leading sizes are {sorted(leading, key=str)}")
    state = stack_trials([start(take_trial(params, t), s) for t, s in enumerate(seeds)])
  step = make_train_step(loss_fn, parallel.axis_name(mode))
  return fit(state, step, data, steps, mode=mode, workdir=workdir, log_every=log_every,
             name=name, checkpoint_every=checkpoint_every, eval_fn=eval_fn, vectorise_trials=vectorise_trials)


def train_autoencoder(model, images, *, steps: int, batch_size: int, lr: float, seed: int | Sequence[int],
                      kind: str = "mse", noise_std: float = 0.0, dropout: float = 0.0,
                      l1_codes: float = 0.0, kl_target: float = 0.0, kl_weight: float = 0.0,
                      mode: str | None = None, name: str | None = None, log_every: int = 200,
                      eval_fn: Callable | None = None, vectorise_trials: bool = True):
  """Initialise `model` (an aejax Autoencoder) from `seed` and train it to reconstruct `images`.

  The loss is losses.reconstruction with the given corruption/sparsity settings, passed as traced
  values (the set of non-zero ones is structural); images are uint8 NHWC. eval_fn(state) -> dict is
  called every `log_every` steps (see `fit`). Returns (state, history).
  seed: a sequence of seeds trains that many trials side by side, each initialised from its own
  seed (`train`'s trials); the state comes back stacked on a leading trial axis.
  """
  x0 = jnp.zeros((1, *images.shape[1:]), jnp.float32)
  params = per_trial(lambda s: init(model, s, x0), seed)
  hparams = {k: v for k, v in dict(noise_std=noise_std, dropout=dropout, l1_codes=l1_codes,
                                   kl_weight=kl_weight).items() if v}
  if kl_weight:
    hparams["kl_target"] = kl_target
  return train(params, losses.reconstruction(model.apply, kind=kind), {"image": images}, steps=steps,
               batch_size=batch_size, lr=lr, seed=seed, hparams=hparams, mode=mode,
               log_every=log_every, name=name, eval_fn=eval_fn, vectorise_trials=vectorise_trials)


def train_classifier(apply_fn, params, images, labels, *, steps: int, batch_size: int, lr: float,
                     seed: int, trainable: Callable[[tuple], bool] | None = None, unlabeled=None,
                     consistency: dict | None = None, mode: str | None = None, name: str | None = None,
                     log_every: int = 200):
  """Train a classifier `apply_fn(params, x) -> logits` from `params` for a fixed number of Adam steps.

  The few-labels recipe: `params` is a random init (from scratch) or holds a pretrained encoder
  (fine-tuning); `trainable(path)` limits updates to matching params (a 0/1 mask in the state), e.g.
  `lambda p: "head" in p` for a probe on a frozen encoder. With `unlabeled` images the loss is
  losses.consistency_cross_entropy(**consistency) and the labelled set is tiled to the unlabeled
  set's length, so one shuffled batch holds both; otherwise losses.cross_entropy, with batch_size
  capped at the labelled set size (rounded down to a multiple of the devices it splits over). lr,
  the mask and the consistency weights are traced (only `max_shift` is structural), so scratch,
  probe and fine-tune runs share one compiled step.
  Returns (state, history).
  """
  if unlabeled is None:
    arrays = {"image": images, "label": labels}
    mode = resolve_mode(mode)
    split = parallel.batch_split(mode)  # a capped batch must still split over the devices
    batch_size = min(batch_size, len(images) // split * split)
    loss, hparams = losses.cross_entropy(apply_fn), {}
  else:
    hparams = dict(consistency or {})
    tile = np.arange(len(unlabeled)) % len(images)
    arrays = {"image": images[tile], "label": labels[tile], "unlabeled": unlabeled}
    loss = losses.consistency_cross_entropy(apply_fn, max_shift=hparams.pop("max_shift", 2))
  return train(params, loss, arrays, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
               hparams=hparams, trainable=trainable or (lambda path: True), mode=mode,
               log_every=log_every, name=name)


# A GAN's steps fused per dispatch (train_gan's steps_per_dispatch=None, on one device): measured faster
# on a CPU for both kinds of GAN (q8's 2-D GAN at batch 100: 12.5 -> 10.0 ms a step with 50 fused, issue 16's
# table, a 2-core CPU without AVX-512; the DCGAN step: 1.19x -> 1.30x PyTorch eager's throughput,
# benchmarks/RESULTS.md, gan_step), unlike the small
# autoencoder steps, where fusing bought nothing (fit's CPU default stays 1).
GAN_STEPS_PER_DISPATCH = 50


@dataclasses.dataclass(frozen=True)
class GANOptions:
  """How `train_gan` trains: sizes, Adam's schedule for both networks (cosine-decayed over
  decay_steps to alpha * lr when decay_steps > 0; all traced, so settings share one compile) and
  the loss's variant (PacGAN `pack`, Unrolled GAN `unroll` steps of `unroll_lr`). batch_size counts
  samples: with pack m the discriminator judges batch_size / m packs of m samples each."""
  latent: int
  steps: int
  batch_size: int
  lr: float
  beta1: float = 0.5
  decay_steps: int = 0
  alpha: float = 1.0
  d_steps: int = 1
  g_steps: int = 1  # generator updates per step, after the d_steps discriminator updates
  d_lr: float | None = None  # the discriminator's learning rate (traced), when not `lr`
  r1: float = 0.0  # weight of the R1 penalty on D's gradient at real data (traced; 0: no penalty term)
  hinge: bool = False  # the hinge loss instead of the non-saturating one (losses.gan_nonsaturating)
  pack: int = 1
  unroll: int = 0
  unroll_lr: float = 1e-2
  image_output: bool = True
  average_decay: float | None = None  # of the weights' moving average, state.average (traced); None: train.default_average_decay(steps)


def train_gan(generator, discriminator, images, opts: GANOptions, *, seed: int | Sequence[int],
              name: str | None = None, labels=None, loss_fns: tuple | None = None, mode: str | None = None,
              log_every: int = 200, eval_fn: Callable | None = None, steps_per_dispatch: int | None = None,
              vectorise_trials: bool = True):
  """Initialise a generator and discriminator from `seed` and train them as a GAN on `images`.

  images: uint8 NHWC images (or float points [N, D] with opts.image_output=False). With `labels`
  the pair is class-conditional. Loss: losses.gan_nonsaturating unless `loss_fns` =
  (d_loss_fn, g_loss_fn) is given; the step is train.make_gan_step, one compile per architecture
  and batch shape. Returns (GANState, history) with d_loss, g_loss, d_real, d_fake per log point.

  seed: a sequence of T seeds trains T trials of this configuration side by side, in one program
  (one compile, one dispatch per step for all of them): trial t starts from, draws its noise and
  shuffles its data by seeds[t], as train_gan(seed=seeds[t]) would, so it matches that run up to
  float32 rounding. The state comes back stacked on a leading trial axis (trainer.take_trial(state,
  t) is trial t's); the history and eval_fn follow `fit`'s trials (means under the usual keys,
  "<key>/trial<t>" per trial; trainer.trial_history). One checkpoint, `name`'s, holds all trials.
  vectorise_trials=False runs the trials one after another inside the one program (lax.map, see
  trainer.TrialStep): on a CPU the faster form for convolutional networks. steps_per_dispatch:
  steps fused per dispatch on one device, GAN_STEPS_PER_DISPATCH unless given.
  Under pmap and mesh every device holds every trial (the trial axis is replicated, not sharded),
  and each trial's batch is split over the devices on its batch axis as a single run's is: the
  batch is [T, B] sharded on B, so any T runs on any device count and each trial's statistics and
  gradients are taken over its whole batch exactly as in a run of its own.
  """
  o, mode = opts, resolve_mode(mode)
  conditional = labels is not None
  arrays = {"image": images} if not conditional else {"image": images, "label": labels}
  data = DeviceData(arrays, o.batch_size, seed, mode)
  if o.batch_size % (o.pack * parallel.batch_split(mode)):
    raise ValueError(f"{name or 'train_gan'}: batch_size={o.batch_size} must be a multiple of pack={o.pack} on each device")
  y0 = jnp.zeros((1,), jnp.int32) if conditional else None
  x0 = jnp.zeros((1, *np.shape(images)[1:]), jnp.float32)
  if o.pack > 1:  # the loss packs points side by side and images along channels
    x0 = jnp.zeros((*x0.shape[:-1], x0.shape[-1] * o.pack) if x0.ndim == 4 else (1, x0.size * o.pack), jnp.float32)

  def start(seed):
    k_g, k_d = jax.random.split(jax.random.PRNGKey(seed))
    g_params = init(generator, k_g, jnp.zeros((1, o.latent)), y0)
    d_params = init(discriminator, k_d, x0, y0) if conditional else init(discriminator, k_d, x0)
    state = create_adam_gan_state(g_params, d_params, seed, o.lr, o.beta1, decay_steps=o.decay_steps, alpha=o.alpha, d_lr=o.d_lr,
                                 average_decay=default_average_decay(o.steps) if o.average_decay is None else o.average_decay)
    return state if not o.r1 else state.replace(d=state.d.replace(hparams={"r1": jnp.float32(o.r1)}))

  state = per_trial(start, seed)
  generator, discriminator = _global_statistics(generator, mode), _global_statistics(discriminator, mode)
  fns = loss_fns or losses.gan_nonsaturating(generator.apply, discriminator.apply, o.latent, conditional=conditional,
                                             pack=o.pack, image_output=o.image_output, unroll=o.unroll,
                                             unroll_lr=o.unroll_lr, axis_name=parallel.axis_name(mode),
                                             r1=1.0 if o.r1 else 0.0,  # on or off; its weight is traced
                                             hinge=o.hinge)
  step = make_gan_step(*fns, axis_name=parallel.axis_name(mode), d_steps=o.d_steps, g_steps=o.g_steps)
  return fit(state, step, data, o.steps, mode=mode, log_every=log_every, name=name, eval_fn=eval_fn,
             steps_per_dispatch=steps_per_dispatch or GAN_STEPS_PER_DISPATCH, vectorise_trials=vectorise_trials)


def train_semi_supervised_gan(generator, discriminator, images, labels, unlabeled, *, latent: int, steps: int,
                              batch_size: int, lr, seed: int, beta1: float = 0.5, decay_steps: int = 0,
                              alpha: float = 1.0, unlabeled_weight: float = 1.0, average_decay: float | None = None,
                              mode: str | None = None,
                              name: str | None = None, log_every: int = 200, eval_fn: Callable | None = None):
  """The semi-supervised GAN (losses.gan_semi_supervised): `discriminator` classifies the labelled
  `images`/`labels` and tells `unlabeled` images from the generator's; the labelled set is tiled to
  the unlabeled set's length, so one shuffled batch holds both. Returns (GANState, history); the
  classifier is `discriminator.apply(state.d.params, x)[0]`, or with the averaged weights
  (Salimans et al. evaluate those) `discriminator.apply(state.average["d"], x)[0]`."""
  mode = resolve_mode(mode)
  tile = np.arange(len(unlabeled)) % len(images)
  data = DeviceData({"image": images[tile], "label": labels[tile], "unlabeled": unlabeled}, batch_size, seed, mode)
  k_g, k_d = jax.random.split(jax.random.PRNGKey(seed))
  g_params = init(generator, k_g, jnp.zeros((1, latent)))
  d_params = init(discriminator, k_d, jnp.zeros((1, *np.shape(images)[1:]), jnp.float32))
  generator = _global_statistics(generator, mode)
  fns = losses.gan_semi_supervised(generator.apply, discriminator.apply, latent, axis_name=parallel.axis_name(mode))
  state = create_adam_gan_state(g_params, d_params, seed, lr, beta1, decay_steps=decay_steps, alpha=alpha,
                                average_decay=default_average_decay(steps) if average_decay is None else average_decay)
  state = state.replace(d=state.d.replace(hparams={"unlabeled_weight": jnp.float32(unlabeled_weight)}),
                        g=state.g.replace(hparams={"unlabeled_weight": jnp.float32(unlabeled_weight)}))
  step = make_gan_step(*fns, axis_name=parallel.axis_name(mode))
  return fit(state, step, data, steps, mode=mode, log_every=log_every, name=name, eval_fn=eval_fn,
             steps_per_dispatch=GAN_STEPS_PER_DISPATCH)
