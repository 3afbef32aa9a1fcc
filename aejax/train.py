"""Train state and pure train-step factories.

A step is `(state, batch) -> (state, metrics)`; jit/pmap/mesh wrap it from outside
(aejax.parallel). With `axis_name` set, gradients and metrics are `lax.pmean`-ed over that axis,
so the same step runs on one device or many.
"""

from typing import Any, Callable

import flax.struct
import jax
import jax.numpy as jnp
import optax
from flax import traverse_util

LossFn = Callable[..., tuple[jax.Array, dict]]


class TrainState(flax.struct.PyTreeNode):
  """Everything a step changes: params, optimiser state, step counter and the RNG key."""
  step: jax.Array
  params: Any
  opt_state: Any
  rng: jax.Array  # raw uint32[2] key, so checkpoints stay plain arrays
  tx: optax.GradientTransformation = flax.struct.field(pytree_node=False)

  def apply_gradients(self, grads):
    updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
    return self.replace(step=self.step + 1, params=optax.apply_updates(self.params, updates),
                        opt_state=opt_state)


def create_train_state(params, tx: optax.GradientTransformation, seed: int) -> TrainState:
  """A fresh state; `seed` seeds the key that rides in the state (noise, sampling, dropout)."""
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
                    rng=jax.random.PRNGKey(seed), tx=tx)


def freeze(tx: optax.GradientTransformation, params, trainable: Callable[[tuple], bool]):
  """Wrap `tx` so that only params whose path (tuple of names) passes `trainable` are updated.

  Example, a linear probe on a frozen encoder: freeze(optax.adam(1e-3), params, lambda p: "head" in p).
  """
  flat = traverse_util.flatten_dict(params)
  labels = traverse_util.unflatten_dict({k: "train" if trainable(k) else "frozen" for k in flat})
  return optax.multi_transform({"train": tx, "frozen": optax.set_to_zero()}, labels)


def _split_rng(state_rng, axis_name):
  """Next state key, and this step's key (distinct per device under pmap)."""
  next_rng, step_rng = jax.random.split(state_rng)
  if axis_name is not None:
    step_rng = jax.random.fold_in(step_rng, jax.lax.axis_index(axis_name))
  return next_rng, step_rng


def _mean(tree, axis_name):
  return tree if axis_name is None else jax.lax.pmean(tree, axis_name)


def make_train_step(loss_fn: LossFn, axis_name: str | None = None):
  """Build the step for `loss_fn(params, batch, rng) -> (loss, metrics)`."""
  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

  def train_step(state: TrainState, batch) -> tuple[TrainState, dict]:
    next_rng, step_rng = _split_rng(state.rng, axis_name)
    (_, metrics), grads = grad_fn(state.params, batch, step_rng)
    grads, metrics = _mean((grads, metrics), axis_name)
    return state.apply_gradients(grads).replace(rng=next_rng), metrics

  return train_step


def make_scan_steps(train_step: Callable):
  """Fuse many steps into one call: `(state, arrays, idx [K, B]) -> (state, metrics [K, ...])`.

  `arrays` is a dict of device-resident datasets; step k trains on {name: a[idx[k]]}. One
  dispatch (and one device sync, if any) per K steps instead of per step.
  """

  def scan_steps(state, arrays, idx):
    def body(s, i):
      return train_step(s, jax.tree.map(lambda a: a[i], arrays))

    return jax.lax.scan(body, state, idx)

  return scan_steps


def make_eval_step(loss_fn: LossFn, axis_name: str | None = None):
  """`(state, batch) -> metrics` with the loss's metrics, using a fixed key (deterministic)."""

  def eval_step(state: TrainState, batch) -> dict:
    _, metrics = loss_fn(state.params, batch, jax.random.PRNGKey(0))
    return _mean(metrics, axis_name)

  return eval_step


class GANState(flax.struct.PyTreeNode):
  """Generator and discriminator, each with its optimiser, sharing one step counter and key."""
  step: jax.Array
  g: TrainState
  d: TrainState
  rng: jax.Array

  @property
  def params(self):
    return {"g": self.g.params, "d": self.d.params}


def create_gan_state(g_params, d_params, g_tx, d_tx, seed: int) -> GANState:
  return GANState(step=jnp.zeros((), jnp.int32), g=create_train_state(g_params, g_tx, seed),
                  d=create_train_state(d_params, d_tx, seed), rng=jax.random.PRNGKey(seed))


def make_gan_step(d_loss_fn: Callable, g_loss_fn: Callable, axis_name: str | None = None,
                  d_steps: int = 1):
  """One jitted step: `d_steps` discriminator updates, then one generator update.

  d_loss_fn(d_params, g_params, batch, rng) and g_loss_fn(g_params, d_params, batch, rng) each
  return (loss, metrics), e.g. from aejax.losses.gan_nonsaturating.
  """
  d_grad = jax.value_and_grad(d_loss_fn, has_aux=True)
  g_grad = jax.value_and_grad(g_loss_fn, has_aux=True)

  def gan_step(state: GANState, batch) -> tuple[GANState, dict]:
    rng, step_rng = _split_rng(state.rng, axis_name)
    keys = jax.random.split(step_rng, d_steps + 1)
    d = state.d
    for k in keys[:-1]:
      (_, d_metrics), grads = d_grad(d.params, state.g.params, batch, k)
      d = d.apply_gradients(_mean(grads, axis_name))
    (_, g_metrics), grads = g_grad(state.g.params, d.params, batch, keys[-1])
    g = state.g.apply_gradients(_mean(grads, axis_name))
    metrics = _mean({**d_metrics, **g_metrics}, axis_name)
    return state.replace(step=state.step + 1, g=g, d=d, rng=rng), metrics

  return gan_step
