"""Train state and pure train-step factories.

A step is `(state, batch) -> (state, metrics)`; jit/pmap/mesh wrap it from outside
(aejax.parallel). With `axis_name` set, gradients and metrics are `lax.pmean`-ed over that axis,
so the same step runs on one device or many.

Hyperparameters are values, not constants: the learning rate and Adam betas live in the optimiser
state (`adam`, built on `optax.inject_hyperparams`), loss weights in `state.hparams` (passed to the
loss as keyword arguments), and a frozen-parameter mask in `state.trainable`. So runs that differ
only in those settings reuse one compiled step.

Randomness is drawn per example (aejax.losses.example_keys): example i of a global batch gets
`fold_in(step_key, batch["index"][i])`, so one device, pmap over eight or a mesh over a pod draw
the same numbers for the same example.
"""

from typing import Any, Callable

import dataclasses

import flax.struct
import jax
import jax.numpy as jnp
import optax
from flax import traverse_util

from aejax.static import static_fn

LossFn = Callable[..., tuple[jax.Array, dict]]


class TrainState(flax.struct.PyTreeNode):
  """Everything a step changes or reads: params, optimiser state, step counter, RNG key, and the
  traced settings (`hparams`: loss weights; `trainable`: a 0/1 mask per param leaf, or None)."""
  step: jax.Array
  params: Any
  opt_state: Any
  rng: jax.Array  # raw uint32[2] key, so checkpoints stay plain arrays
  tx: optax.GradientTransformation = flax.struct.field(pytree_node=False)
  hparams: Any = flax.struct.field(default_factory=dict)
  trainable: Any = None

  def apply_gradients(self, grads):
    if self.trainable is not None:  # frozen leaves get zero gradients, so Adam leaves them exactly as they are
      grads = jax.tree.map(lambda g, m: g * m.astype(g.dtype), grads, self.trainable)
    updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
    return self.replace(step=self.step + 1, params=optax.apply_updates(self.params, updates),
                        opt_state=opt_state)


def _hparams(values: dict | None) -> dict:
  return {k: jnp.asarray(v, jnp.float32) for k, v in (values or {}).items()}


def create_train_state(params, tx: optax.GradientTransformation, seed: int, hparams: dict | None = None,
                       trainable: Callable[[tuple], bool] | None = None) -> TrainState:
  """A fresh state; `seed` seeds the key that rides in the state (noise, sampling, dropout).

  hparams: loss settings passed to the loss as keyword arguments (traced float32 scalars).
  trainable(path) -> bool: only params whose path (tuple of names) passes are updated, e.g.
  `lambda p: "head" in p` for a linear probe on a frozen encoder.
  """
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
                    rng=jax.random.PRNGKey(seed), tx=tx, hparams=_hparams(hparams),
                    trainable=None if trainable is None else trainable_mask(params, trainable))


def trainable_mask(params, trainable: Callable[[tuple], bool]):
  """A float32 0/1 scalar per param leaf: 1 where `trainable(path)`."""
  flat = traverse_util.flatten_dict(params)
  return traverse_util.unflatten_dict({k: jnp.float32(bool(trainable(k))) for k in flat})


def _adam(learning_rate, b1, b2, decay_steps, alpha):
  """Adam whose learning rate decays as optax.cosine_decay_schedule(learning_rate, decay_steps,
  alpha) when decay_steps > 0, and stays learning_rate when it is 0; every argument may be traced."""
  def schedule(count):
    frac = jnp.where(decay_steps > 0, jnp.minimum(count, decay_steps) / jnp.maximum(decay_steps, 1), 0.0)
    return learning_rate * ((1 - alpha) * 0.5 * (1 + jnp.cos(jnp.pi * frac)) + alpha)
  return optax.chain(optax.scale_by_adam(b1, b2), optax.scale_by_learning_rate(schedule))


# One Adam for every run: its learning rate, betas and cosine decay are state, so changing them
# reuses the compile.
ADAM = optax.inject_hyperparams(_adam)(learning_rate=1e-3, b1=0.9, b2=0.999, decay_steps=0.0, alpha=1.0)


def adam(params, lr, b1: float = 0.9, b2: float = 0.999, decay_steps: int = 0, alpha: float = 1.0):
  """(tx, opt_state) for Adam with traced settings: learning rate `lr`, decayed over `decay_steps`
  updates to alpha * lr by a cosine (as optax.cosine_decay_schedule; 0: constant). `lr` may also be
  any optax schedule (then a tx of its own, compiled per schedule object)."""
  if callable(lr):
    tx = optax.adam(lr, b1=b1, b2=b2)
    return tx, tx.init(params)
  opt_state = ADAM.init(params)
  opt_state.hyperparams.update(_hparams({"learning_rate": lr, "b1": b1, "b2": b2, "decay_steps": decay_steps,
                                         "alpha": alpha if decay_steps else 1.0}))
  return ADAM, opt_state


def create_adam_state(params, seed: int, lr, b1: float = 0.9, b2: float = 0.999, hparams: dict | None = None,
                      trainable: Callable[[tuple], bool] | None = None, decay_steps: int = 0,
                      alpha: float = 1.0) -> TrainState:
  """create_train_state with `adam`: the common recipe, one compile whatever lr, betas, decay and hparams."""
  tx, opt_state = adam(params, lr, b1, b2, decay_steps, alpha)
  return create_train_state(params, tx, seed, hparams, trainable).replace(opt_state=opt_state)


def with_index(batch: dict, axis_name: str | None):
  """`batch` with "index", each example's position in the global batch (added if missing: under
  pmap, device d holds rows d*B..(d+1)*B-1)."""
  if "index" in batch:
    return batch
  n = jax.tree.leaves(batch)[0].shape[0]
  offset = 0 if axis_name is None else jax.lax.axis_index(axis_name) * n
  return {**batch, "index": offset + jnp.arange(n, dtype=jnp.int32)}


def _split_rng(state_rng):
  """Next state key, and this step's key (the same on every device: draws are per example)."""
  next_rng, step_rng = jax.random.split(state_rng)
  return next_rng, step_rng


def _mean(tree, axis_name):
  return tree if axis_name is None else jax.lax.pmean(tree, axis_name)


@dataclasses.dataclass(frozen=True)
class TrainStep:
  """The step for `loss_fn(params, batch, rng, **hparams) -> (loss, metrics)`: a value, equal for
  equal losses (aejax.losses builds them by value; partials and bound methods go through
  `static_fn`), so jit reuses one executable."""
  loss_fn: LossFn
  axis_name: str | None = None

  def __post_init__(self):
    object.__setattr__(self, "loss_fn", static_fn(self.loss_fn, "the train step's loss_fn"))

  def __call__(self, state: TrainState, batch) -> tuple[TrainState, dict]:
    next_rng, step_rng = _split_rng(state.rng)
    grad_fn = jax.value_and_grad(self.loss_fn, has_aux=True)
    (_, metrics), grads = grad_fn(state.params, with_index(batch, self.axis_name), step_rng, **state.hparams)
    grads, metrics = _mean((grads, metrics), self.axis_name)
    return state.apply_gradients(grads).replace(rng=next_rng), metrics


def make_train_step(loss_fn: LossFn, axis_name: str | None = None) -> TrainStep:
  """Build the step for `loss_fn(params, batch, rng, **hparams) -> (loss, metrics)`."""
  return TrainStep(loss_fn, axis_name)


class GANState(flax.struct.PyTreeNode):
  """Generator and discriminator, each with its optimiser, sharing one step counter and key, and an
  exponential moving average of both networks' weights (`average`, {"g", "d"}): after each step
  average <- decay * average + (1 - decay) * weights, with a traced `average_decay` (0: the raw
  weights). Averaged generator weights are what GAN papers sample from (Yazici et al. 2019); an
  averaged discriminator is Salimans et al.'s classifier. Batch norm here uses the batch's
  statistics, so the averaged weights need no statistics of their own."""
  step: jax.Array
  g: TrainState
  d: TrainState
  rng: jax.Array
  average: dict
  average_decay: jax.Array

  @property
  def params(self):
    return {"g": self.g.params, "d": self.d.params}


def _copy(tree):
  """Fresh buffers: the compiled step donates its state, and one buffer cannot be donated twice."""
  return jax.tree.map(jnp.copy, tree)


def _gan_state(g: TrainState, d: TrainState, seed: int, average_decay: float) -> GANState:
  """The two networks' states, one step counter and key, and their weights' average starting at them."""
  return GANState(step=jnp.zeros((), jnp.int32), g=g, d=d, rng=jax.random.PRNGKey(seed),
                  average=_copy({"g": g.params, "d": d.params}), average_decay=jnp.float32(average_decay))


def create_gan_state(g_params, d_params, g_tx, d_tx, seed: int, average_decay: float = 0.999) -> GANState:
  return _gan_state(create_train_state(g_params, g_tx, seed), create_train_state(d_params, d_tx, seed), seed,
                    average_decay)


def create_adam_gan_state(g_params, d_params, seed: int, lr, b1: float = 0.5, b2: float = 0.999,
                          decay_steps: int = 0, alpha: float = 1.0, average_decay: float = 0.999,
                          d_lr=None) -> GANState:
  """A GAN state with `adam` for both networks (traced lr, betas, decay, average decay: one compile
  per architecture). d_lr: the discriminator's learning rate when it differs from the generator's `lr`."""
  kw = dict(decay_steps=decay_steps, alpha=alpha)
  return _gan_state(create_adam_state(g_params, seed, lr, b1, b2, **kw),
                    create_adam_state(d_params, seed, lr if d_lr is None else d_lr, b1, b2, **kw), seed, average_decay)


def default_average_decay(steps: int, cap: float = 0.999) -> float:
  """The weights' moving-average decay for a run of `steps` updates: min(cap, 1 - 10 / steps), so that
  the initial weights keep at most e^-10 of the average at the end (it has no bias correction)."""
  return max(0.0, min(cap, 1.0 - 10.0 / steps))


def moving_average(average, params, decay):
  """One step of an exponential moving average: decay * average + (1 - decay) * params, leaf by leaf."""
  return jax.tree.map(lambda a, p: a + (1 - decay) * (p - a), average, params)


def make_gan_step(d_loss_fn: Callable, g_loss_fn: Callable, axis_name: str | None = None,
                  d_steps: int = 1, g_steps: int = 1):
  """One jitted step: `d_steps` discriminator updates, then `g_steps` generator updates (PacGAN's and
  VEEGAN's Stacked MNIST code makes two), each on its own noise.

  d_loss_fn(d_params, g_params, batch, rng) and g_loss_fn(g_params, d_params, batch, rng) each
  return (loss, metrics), e.g. from aejax.losses.gan_nonsaturating. Learning rates and betas ride
  in each network's optimiser state (`adam`).
  """
  return GANStep(d_loss_fn, g_loss_fn, axis_name, d_steps, g_steps)


@dataclasses.dataclass(frozen=True)
class GANStep:
  """make_gan_step's step, a value like TrainStep."""
  d_loss_fn: Callable
  g_loss_fn: Callable
  axis_name: str | None = None
  d_steps: int = 1
  g_steps: int = 1

  def __post_init__(self):
    for name in ("d_loss_fn", "g_loss_fn"):
      object.__setattr__(self, name, static_fn(getattr(self, name), f"the GAN step's {name}"))

  def __call__(self, state: GANState, batch) -> tuple[GANState, dict]:
    d_grad = jax.value_and_grad(self.d_loss_fn, has_aux=True)
    g_grad = jax.value_and_grad(self.g_loss_fn, has_aux=True)
    rng, step_rng = _split_rng(state.rng)
    batch = with_index(batch, self.axis_name)
    keys = jax.random.split(step_rng, self.d_steps + self.g_steps)
    d, g = state.d, state.g
    for k in keys[:self.d_steps]:
      (_, d_metrics), grads = d_grad(d.params, g.params, batch, k, **d.hparams)
      d = d.apply_gradients(_mean(grads, self.axis_name))
    for k in keys[self.d_steps:]:
      (_, g_metrics), grads = g_grad(g.params, d.params, batch, k, **g.hparams)
      g = g.apply_gradients(_mean(grads, self.axis_name))
    metrics = _mean({**d_metrics, **g_metrics}, self.axis_name)
    average = moving_average(state.average, {"g": g.params, "d": d.params}, state.average_decay)
    return state.replace(step=state.step + 1, g=g, d=d, rng=rng, average=average), metrics
