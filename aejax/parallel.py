"""Running one step on one device or many: `jit`, `pmap` or `mesh`, picked by a config switch.

- "jit": one device.
- "pmap": `jax.pmap(step, axis_name=AXIS)`; state replicated over local devices; batches shaped
  [local_devices, per_device, ...]; the step `lax.pmean`s gradients and metrics.
- "mesh": the path JAX recommends for pods: the same single-device step under `jax.jit`, the batch
  sharded over a 1-D `Mesh` of all devices with `NamedSharding`, the state replicated; XLA inserts
  the gradient all-reduce.
Across hosts, each process feeds its own slice of every global batch (see `host_slice`).
"""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

AXIS = "batch"
MODES = ("jit", "pmap", "mesh")
CHOICES = ("auto", *MODES)


def maybe_initialize_distributed() -> bool:
  """Call `jax.distributed.initialize()` when launched under a cluster (or AEJAX_COORDINATOR set).

  Must run before anything touches the JAX backend. Returns True if this is a multi-process run.
  Safe to call more than once.
  """
  cluster_env = ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "TPU_WORKER_HOSTNAMES", "AEJAX_COORDINATOR",
                 "AEJAX_DISTRIBUTED")
  if any(v in os.environ for v in cluster_env) and not jax.distributed.is_initialized():
    if os.environ.get("JAX_PLATFORMS") == "cpu" and "JAX_CPU_COLLECTIVES_IMPLEMENTATION" not in os.environ:
      jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU processes reduce over TCP
    if "AEJAX_COORDINATOR" in os.environ:
      jax.distributed.initialize(os.environ["AEJAX_COORDINATOR"],
                                 int(os.environ["AEJAX_NUM_PROCESSES"]),
                                 int(os.environ["AEJAX_PROCESS_ID"]))
    else:
      jax.distributed.initialize()
  return jax.process_count() > 1


def enable_compilation_cache() -> str | None:
  """Keep compiled executables on disk, so a rerun (or the next experiment with the same model)
  loads them instead of compiling: `run.py` calls this. The directory is per CPU feature set,
  as an executable built for one CPU's instructions must not load on another. AEJAX_XLA_CACHE=0
  turns it off; AEJAX_XLA_CACHE=DIR puts it elsewhere. Returns the directory used."""
  import hashlib
  import pathlib
  setting = os.environ.get("AEJAX_XLA_CACHE", "")
  if setting == "0":
    return None
  try:
    flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags"))
  except (OSError, StopIteration):
    flags = ""
  base = pathlib.Path(setting or pathlib.Path(os.environ.get("AEJAX_CACHE", "~/.cache/aejax")) / "xla")
  path = base.expanduser() / f"cpu-{hashlib.sha256(flags.encode()).hexdigest()[:12]}"
  jax.config.update("jax_compilation_cache_dir", str(path))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
  return str(path)


def barrier(name: str) -> None:
  """Wait until every process gets here (a no-op in a single-process run)."""
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices(name)


def check_mode(mode: str):
  if mode not in MODES:
    raise ValueError(f"parallel mode must be one of {MODES}, got {mode!r}")


def resolve_mode(mode: str) -> str:
  """"auto" -> "mesh" over all devices when there are several, else "jit". "jit" trains on one
  device, so it is refused when several processes make one run."""
  if mode not in CHOICES:
    raise ValueError(f"parallel mode must be one of {CHOICES}, got {mode!r}")
  if mode == "auto":
    return "mesh" if jax.device_count() > 1 else "jit"
  if mode == "jit" and jax.process_count() > 1:
    raise ValueError(f"parallel=jit trains on one device, but this run spans {jax.process_count()} "
                     "processes; use parallel=mesh, pmap or auto")
  return mode


def axis_name(mode: str) -> str | None:
  """The axis name the step factory needs: only pmap steps reduce explicitly."""
  check_mode(mode)
  return AXIS if mode == "pmap" else None


def _mesh() -> Mesh:
  return Mesh(np.array(jax.devices()), (AXIS,))


def run_step(step, state, batch):
  """The function every mode compiles: `step` is static, so equal steps share an executable."""
  return step(state, batch)


# One wrapper per mode with the step as a static argument: JAX's own cache then keys the
# executable on the step's value (aejax's steps and losses compare by value), not on a new closure.
_JIT = {d: jax.jit(run_step, static_argnums=0, donate_argnums=(1,) if d else ()) for d in (True, False)}
_PMAP = {d: jax.pmap(run_step, axis_name=AXIS, static_broadcasted_argnums=0, donate_argnums=(1,) if d else ())
         for d in (True, False)}


def run_steps(step, state, arrays, idx, count):
  """Up to K = len(idx) steps in one dispatch: step k trains on {name: a[idx[k]]} if k < count, and
  is skipped otherwise (lax.cond runs one branch), so any chunk of 1..K steps uses one executable.
  Returns (state, metrics stacked [K], active mask [K])."""
  def body(s, k_i):
    k, i = k_i
    batch = jax.tree.map(lambda a: a[i], arrays)
    active = k < count
    shapes = jax.eval_shape(step, s, batch)
    skip = lambda s, b: (s, jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes[1]))
    s, metrics = jax.lax.cond(active, step, skip, s, batch)
    return s, (metrics, active)

  state, (metrics, active) = jax.lax.scan(body, state, (jnp.arange(len(idx)), idx))
  return state, metrics, active


_SCAN = jax.jit(run_steps, static_argnums=0, donate_argnums=(1,))


def compile_steps(step):
  """run_steps compiled (jit, one device) with the step static: `(state, arrays, idx [K, B], count)`."""
  return functools.partial(_SCAN, step)


def compile_step(step, mode: str, donate: bool = True):
  """Wrap a pure step for the mode; the state is donated to save a copy. Equal steps share one
  compiled executable per mode, input shapes and state structure."""
  check_mode(mode)
  if mode == "pmap":
    return functools.partial(_PMAP[donate], step)
  if mode == "mesh":
    replicated = NamedSharding(_mesh(), P())
    return functools.partial(jax.jit(run_step, static_argnums=0, donate_argnums=(1,) if donate else (),
                                     out_shardings=replicated), step)
  return functools.partial(_JIT[donate], step)


def put_state(state, mode: str):
  """Place a host/single-device state for the mode (replicated for pmap and mesh)."""
  check_mode(mode)
  if mode == "pmap":  # from host copies: whatever placement the state had, pmap shards it afresh
    n = jax.local_device_count()
    return jax.tree.map(lambda x: np.broadcast_to(np.asarray(x), (n, *np.shape(x))), state)
  if mode == "mesh":  # from host copies: each process fills its own devices (no cross-host transfer)
    replicated = NamedSharding(_mesh(), P())

    def place(x):
      x = np.asarray(x)
      return jax.make_array_from_callback(x.shape, replicated, lambda index: x[index])

    return jax.tree.map(place, state)
  return jax.device_put(state)


def get_state(state, mode: str):
  """Inverse of put_state: one single-device copy of the state (the first local replica), so that
  evaluation after training runs on this process's devices alone."""
  check_mode(mode)
  if mode == "pmap":  # this process's first replica, reshaped: its shard may keep the device axis
    return jax.tree.map(lambda x: x.addressable_data(0).reshape(x.shape[1:]), state)
  if mode == "mesh":
    return jax.tree.map(lambda x: x.addressable_data(0) if isinstance(x, jax.Array) else x, state)
  return state


def host_slice(global_batch_size: int) -> slice:
  """This process's rows of a global batch (all processes draw the same global indices)."""
  if global_batch_size % jax.process_count():
    raise ValueError(f"batch size {global_batch_size} is not divisible by the "
                     f"{jax.process_count()} processes")
  per_host = global_batch_size // jax.process_count()
  return slice(jax.process_index() * per_host, (jax.process_index() + 1) * per_host)


def batch_split(mode: str) -> int:
  """How many devices a global batch is split over in this (resolved) mode."""
  return 1 if mode == "jit" else jax.device_count()


def check_batch_size(global_batch_size: int, mode: str):
  """Fail early, naming the fix, if the batch does not split evenly over devices."""
  n = batch_split(mode)
  if global_batch_size % n:
    raise ValueError(f"batch_size={global_batch_size} must be divisible by the {n} devices in "
                     f"parallel mode {mode!r}; set batch_size to a multiple of {n}")


def put_batch(local_batch, mode: str, trial_axis: bool = False):
  """Shape this host's rows of a global batch for the mode.

  pmap: [local_devices, per_device, ...]; mesh: a global array sharded along the batch axis.
  trial_axis: the batch is [trials, rows, ...] (trainer.TrialStep's); its rows split as without
  trials, and every device holds every trial (pmap: [local_devices, trials, per_device, ...]).
  """
  check_mode(mode)
  if mode == "pmap":
    n = jax.local_device_count()
    if trial_axis:
      return jax.tree.map(lambda x: jnp.moveaxis(x.reshape((x.shape[0], n, x.shape[1] // n, *x.shape[2:])), 1, 0),
                          local_batch)
    return jax.tree.map(lambda x: x.reshape((n, x.shape[0] // n, *x.shape[1:])), local_batch)
  if mode == "mesh":
    sharding = NamedSharding(_mesh(), P(None, AXIS) if trial_axis else P(AXIS))
    if jax.process_count() == 1:
      return jax.device_put(local_batch, sharding)
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)),
                        local_batch)
  return local_batch
