"""The one training loop: on-device data, per-epoch shuffles, checkpoints, metrics, NaN guard.

Every experiment trains through `fit`, most often by way of a recipe in aejax.recipes; only the step
(a pure function, built in aejax.train) differs. A `session`
(entered by aejax.experiment for each experiment) sets, for every run inside it, the parallel
mode and where each run checkpoints: `ROOT/runs/<run name>/`, so a rerun of the same experiment
restores finished runs and continues an interrupted one from its last checkpoint. Each run also
writes TensorBoard events to `ROOT/tb/<run name>/` (`tensorboard --logdir ROOT`).
"""

import collections
import contextlib
import contextvars
import dataclasses
import json
import math
import numbers
import pathlib
import re
import signal
import sys
import time
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from aejax import parallel
from aejax.checkpoint import Checkpointer


class NonFiniteLossError(FloatingPointError):
  """Raised when a training metric becomes NaN or inf; the last good checkpoint is kept."""


# Steps per dispatch on one device (fit's steps_per_dispatch=None): on a CPU, dispatching a step
# costs little next to running it (measured: no gain from fusing 16, and a slightly slower compile),
# so 1; on an accelerator, where a small step can take less time than its dispatch, 16.
STEPS_PER_DISPATCH = 16


@jax.jit
def _gather(arrays, idx):
  return jax.tree.map(lambda a: a[idx], arrays)


def trial_seeds(seed) -> tuple[int, ...] | None:
  """None for one seed (one run); the tuple of seeds for a sequence of them (trials side by side)."""
  if isinstance(seed, numbers.Integral):
    return None
  seeds = tuple(int(s) for s in seed)
  if not seeds:
    raise ValueError("trials need at least one seed")
  return seeds


def stack_trials(states: Sequence):
  """The trials' states (equal structures) stacked leaf by leaf on a leading trial axis."""
  return jax.tree.map(lambda *x: jnp.stack(x), *states)


def per_trial(make: Callable[[int], Any], seed):
  """make(seed) for one seed; for a sequence of seeds, make(s) for each stacked on a leading trial axis:
  the state (or params) of one run, or of T trials side by side."""
  seeds = trial_seeds(seed)
  return make(seed) if seeds is None else stack_trials([make(s) for s in seeds])


def take_trial(tree, t: int):
  """Trial t's slice of a stacked state (or of any tree with a leading trial axis)."""
  return jax.tree.map(lambda x: x[t], tree)


@dataclasses.dataclass(frozen=True)
class TrialStep:
  """`step` over a leading trial axis of both the state and the batch: each trial trains on its own
  params, optimiser, key and batch, in one program. vectorise: jax.vmap (the trials' matmuls batched
  together); False: lax.map, one trial after another inside the program, for models whose batched
  form is slower than T plain ones (on a CPU, convolutions with a kernel per trial become grouped
  convolutions: benchmarks/RESULTS.md, trials). `fit` wraps the step in it when the data hold
  trials. A value, equal for equal steps (one executable)."""
  step: Callable
  vectorise: bool = True

  def __call__(self, state, batch):
    if self.vectorise:
      return jax.vmap(self.step)(state, batch)
    return jax.lax.map(lambda state_batch: self.step(*state_batch), (state, batch))


class DeviceData:
  """A whole (MNIST-scale) dataset kept on device, served as shuffled global batches.

  Batch i of epoch e is fixed by (seed, e, i), so a resumed run sees exactly the batches an
  uninterrupted one would. Every process draws the same global indices and keeps its own slice.
  seed: an int, or a sequence of T seeds for T trials side by side (`trials` = T): each trial
  shuffles by its own seed, as a run with that seed alone would, and indices/batches get a
  leading trial axis ([T, B, ...]). Without trials, `trials` is None.
  """

  def __init__(self, arrays: dict, batch_size: int, seed: int | Sequence[int], mode: str | None = None):
    mode = resolve_mode(mode)
    sizes = {k: len(v) for k, v in arrays.items()}
    n = next(iter(sizes.values()))
    if len(set(sizes.values())) != 1:
      raise ValueError(f"arrays have different lengths: {sizes}")
    if batch_size > n:
      raise ValueError(f"batch_size={batch_size} exceeds the {n} training examples; lower batch_size")
    parallel.check_batch_size(batch_size, mode)
    self._rows = parallel.host_slice(batch_size)  # checks that it splits over the processes
    self.arrays = jax.device_put({k: np.asarray(v) for k, v in arrays.items()})
    self.batch_size, self.seed, self.mode, self.n = batch_size, seed, mode, n
    seeds = trial_seeds(seed)
    self.trials = None if seeds is None else len(seeds)
    self._seeds = (seed,) if seeds is None else seeds
    self.steps_per_epoch = n // batch_size  # drop the remainder: fixed shapes, one compile
    self._perm_epoch, self._perm = None, None

  def indices(self, step: int) -> np.ndarray:
    """This process's rows of the global batch of training step `step` (0-based): example indices
    [B] ([T, B] with trials)."""
    epoch, i = divmod(int(step), self.steps_per_epoch)
    if epoch != self._perm_epoch:
      keys = [jax.random.fold_in(jax.random.PRNGKey(s), epoch) for s in self._seeds]
      self._perm = np.stack([np.asarray(jax.random.permutation(k, self.n)) for k in keys])
      self._perm_epoch = epoch
    rows = self._perm[:, i * self.batch_size:(i + 1) * self.batch_size][:, self._rows]
    return rows[0] if self.trials is None else rows

  def batch(self, step: int):
    """The global batch for training step `step` (0-based), shaped for the parallel mode."""
    return parallel.put_batch(_gather(self.arrays, self.indices(step)), self.mode,
                              trial_axis=self.trials is not None)


RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9=._-]*")


class Session:
  """How every run of `fit` inside `with session(...)` is placed and kept.

  mode: "auto" (mesh over all devices when there are several, else jit), "jit", "pmap" or "mesh".
  root: if set, the run named NAME (by its caller: `fit(name=...)`) checkpoints to
    root/runs/NAME (its final state always; every `checkpoint_every` steps as well when > 0), logs
    root/runs/NAME/metrics.jsonl and writes TensorBoard events to root/tb/NAME; a run whose
    directory holds checkpoints resumes from the latest. A name used twice in one session is an
    error: two runs would share one checkpoint.
  """

  def __init__(self, mode: str = "auto", root=None, checkpoint_every: int = 0):
    self.mode = parallel.resolve_mode(mode)
    self.root = pathlib.Path(root) if root is not None else None
    self.checkpoint_every = checkpoint_every
    self._names = set()

  def workdir(self, name: str | None) -> pathlib.Path | None:
    """root/runs/<name>, claimed once; None without a root."""
    if self.root is None:
      return None
    if name is None:
      raise ValueError("a training run in a session that keeps checkpoints needs a name: fit(..., name=...)")
    if not RUN_NAME.fullmatch(name):
      raise ValueError(f"run name {name!r}: use letters, digits and . _ = - (it names a directory)")
    if name in self._names:
      raise ValueError(f"run name {name!r} is used twice in this experiment; give each run its own name "
                       f"(two runs would share one checkpoint)")
    self._names.add(name)
    return self.root / "runs" / name


_SESSION = contextvars.ContextVar("aejax_session", default=None)


@contextlib.contextmanager
def session(mode: str = "auto", root=None, checkpoint_every: int = 0):
  """Run the body's training runs with these settings (see Session); yields the Session."""
  token = _SESSION.set(Session(mode, root, checkpoint_every))
  try:
    yield _SESSION.get()
  finally:
    _SESSION.reset(token)


def current() -> Session:
  """The innermost session, or a plain one (auto mode, no checkpoints) outside any."""
  return _SESSION.get() or Session()


def resolve_mode(mode: str | None) -> str:
  """`mode` checked and resolved ("auto"), or the session's when None."""
  return current().mode if mode is None else parallel.resolve_mode(mode)


def _sigterm_flag():
  flag = {"set": False}

  def handler(signum, frame):
    flag["set"] = True

  try:
    previous = signal.signal(signal.SIGTERM, handler)
  except ValueError:  # not the main thread: no preemption handling
    previous = None
  return flag, previous


def fit(state, step_fn: Callable, data: DeviceData, num_steps: int, *, mode: str | None = None,
        name: str | None = None, workdir=None, checkpoint_every: int | None = None, keep: int = 2,
        log_every: int = 100, desc: str | None = None, eval_fn: Callable | None = None, progress: bool = True,
        steps_per_dispatch: int | None = None, tb_dir=None, vectorise_trials: bool = True):
  """Run `step_fn` until `state.step == num_steps`; returns (state, history).

  step_fn: a pure step from aejax.train (not yet jitted); `fit` compiles it for `mode` (default:
    the one `data` was placed for). Equal steps (aejax's compare by value) share one executable.
  name: the run's name, given by its caller: in a session with a root, its directory
    root/runs/<name> (and TensorBoard's root/tb/<name>). desc: the progress bar's label (default:
    the name); it never decides where anything is saved.
  workdir: if set (default: the session's directory for the run `name`), checkpoints go to
    workdir/checkpoints and are resumed from the latest, and the logged metrics go to
    workdir/metrics.jsonl; a resumed run's history is read back from it, so it equals an
    uninterrupted run's (timings aside).
  eval_fn(state) -> dict is called at each log point (host side, on a single-device copy); its
    entries join the logged row. Its optional key "images" stays out of the history and
    metrics.jsonl: it is drawn as one image grid in TensorBoard at that step. "images" is an array [N, H, W, C] (C = 1, 3 or 4; [N, H, W]
    is read as C = 1) of floats in [0, 1] (clipped) or uint8 in [0, 255], tag "images"; or a dict
    {name: such an array}, one grid per name, tag "images/<name>".
  tb_dir: if set (default: root/tb/<run name> when the run's workdir is the session's), process
    0 writes TensorBoard events there: every number of each logged row as a scalar at its step, and
    eval_fn's image grids. A resumed run adds a new event file that purges the steps after its
    checkpoint, so TensorBoard shows each step once, as the history does. Outside a session,
    nothing is written unless tb_dir is given.
  SIGTERM saves a checkpoint and exits with status 143. A NaN/inf metric raises
  NonFiniteLossError without saving, so the last good checkpoint stays the latest.
  steps_per_dispatch: on one device (jit), run up to this many steps in one lax.scan call
  (default: STEPS_PER_DISPATCH on an accelerator, 1 on a CPU).
  Trials: when `data` holds T trials (DeviceData with T seeds), `state` is their states stacked on
  a leading axis (stack_trials) and the step runs as TrialStep(step_fn, vectorise_trials). Each
  logged number is then the mean over the trials under its usual key, and trial t's value under
  "<key>/trial<t>" (trial_history(history, t) gives one trial's rows); eval_fn gets the stacked
  state, and each value it returns of shape [T] is logged the same way (others as they are).
  Checkpoints hold the stacked state. Under pmap and mesh every device holds every trial and each
  trial's batch is split over the devices as a single run's (parallel.put_batch's trial_axis).
  """
  sess = current()
  desc = desc or name or "train"
  if steps_per_dispatch is None:
    steps_per_dispatch = 1 if jax.default_backend() == "cpu" else STEPS_PER_DISPATCH
  placed = getattr(data, "mode", None)  # DeviceData knows its mode; any object with .batch(step) will do
  mode = (placed or sess.mode) if mode is None else parallel.resolve_mode(mode)
  checkpoint_every = sess.checkpoint_every if checkpoint_every is None else checkpoint_every
  if workdir is None:
    workdir = sess.workdir(name)
    if tb_dir is None and workdir is not None:
      tb_dir = sess.root / "tb" / workdir.name
  else:
    workdir = pathlib.Path(workdir)
  if placed is not None and mode != placed:
    raise ValueError(f"{desc}: the data were placed for parallel mode {data.mode!r}, the run is {mode!r}")
  trials = getattr(data, "trials", None)
  if trials is not None:
    step_fn = TrialStep(step_fn, vectorise_trials)
  ckpt = Checkpointer(workdir / "checkpoints", keep) if workdir else None
  if ckpt is not None:
    restored = ckpt.restore(state)
    if restored is not None:
      state = restored
      print(f"{desc}: resumed from step {ckpt.latest_step()} of {num_steps} ({ckpt.directory})", file=sys.stderr,
            flush=True)
  step = parallel.compile_step(step_fn, mode)
  # On one device, steps can run several at a time in one lax.scan (nothing host-side runs
  # between them); chunks restart at every log and checkpoint step, so a resumed run makes the same
  # chunks as an uninterrupted one.
  fused = (parallel.compile_steps(step_fn) if mode == "jit" and steps_per_dispatch > 1 and hasattr(data, "indices")
           else None)
  start = _start(state, trials, desc)
  state = parallel.put_state(state, mode)
  log_path = workdir / "metrics.jsonl" if workdir else None
  history = _history(log_path, start)
  board = _Board(tb_dir, start) if tb_dir is not None and jax.process_index() == 0 else None
  pending, last_good = [], start
  flag, previous_handler = _sigterm_flag()
  bar = tqdm(total=num_steps, initial=start, desc=desc, disable=None if progress else True, leave=False,
             mininterval=2.0, file=sys.stderr)
  t0 = time.perf_counter()
  try:
    done = start
    while done < num_steps:
      s = done
      if fused is not None:
        events = [num_steps, (s // log_every + 1) * log_every]
        if ckpt is not None and checkpoint_every:
          events.append((s // checkpoint_every + 1) * checkpoint_every)
        count = min(steps_per_dispatch, min(events) - s)
        idx = np.stack([data.indices(s + k) for k in range(count)]
                       + [data.indices(s)] * (steps_per_dispatch - count))
        state, metrics, active = fused(state, data.arrays, idx, count)
        pending.append((metrics, active))
      else:
        count = 1
        state, metrics = step(state, data.batch(s))
        pending.append((metrics, None))
      done = s + count
      at_log = done % log_every == 0 or done == num_steps
      at_ckpt = ckpt is not None and checkpoint_every and done % checkpoint_every == 0
      if at_log or at_ckpt or flag["set"]:
        record = _summarise(pending, mode, trials)
        pending = []
        bad = [k for k, v in record.items() if not math.isfinite(v)]
        if bad:
          where = f"; the last good checkpoint (step {ckpt.latest_step()}) is kept in {ckpt.directory}" if ckpt else ""
          raise NonFiniteLossError(
              f"{desc}: {', '.join(bad)} became non-finite at step {done}{where}. "
              "Lower the learning rate (--set lr=...) or check the data.")
        record.update(step=done, seconds=round(time.perf_counter() - t0, 3))
        images = None
        if eval_fn is not None and at_log:
          evaluated = dict(eval_fn(parallel.get_state(state, mode)))
          images = evaluated.pop("images", None)
          record.update(evaluated if trials is None else _per_trial(evaluated, trials))
        history.append(record)
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k in ("loss", "d_loss", "g_loss")})
        if log_path is not None and jax.process_index() == 0:
          with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if board is not None:
          board.write(record, images)
        if ckpt is not None and (at_ckpt or flag["set"]):
          ckpt.save(done, parallel.get_state(state, mode))
          last_good = done
        if flag["set"]:
          raise SystemExit(143)
      bar.update(count)
  finally:
    bar.close()
    if board is not None:
      board.close()
    if previous_handler is not None:
      signal.signal(signal.SIGTERM, previous_handler)
  state = parallel.get_state(state, mode)
  if ckpt is not None:
    if last_good != num_steps and start != num_steps:
      ckpt.save(num_steps, state)
    ckpt.close()
  return state, history


class _Board:
  """TensorBoard events of one run: each logged row's numbers as scalars, eval_fn's images as grids.

  Only this call's rows are written (a resumed run's restored history is in earlier files), and the
  writer opens at the first of them, so a restored finished run adds no file. The file starts with a
  purge at step start + 1, which hides the steps an interrupted run logged after its last checkpoint
  and this run logs again.
  """

  def __init__(self, logdir, start: int):
    self.logdir, self.start, self.writer = pathlib.Path(logdir), start, None

  def write(self, record: dict, images=None):
    if self.writer is None:
      self.writer = _summary_writer()(
          str(self.logdir), purge_step=self.start + 1, flush_secs=10,
          filename_suffix=f".from{self.start:010d}")  # two files in the same second get distinct, ordered names
    step = record["step"]
    for k, v in record.items():
      if k != "step" and isinstance(v, numbers.Real):
        self.writer.add_scalar(k, v, step)
    if images is not None:
      for tag, grid in _image_grids(images).items():
        self.writer.add_image(tag, grid, step, dataformats="HWC")

  def close(self):
    if self.writer is not None:
      self.writer.close()  # flushes what the writer's thread still holds


def _summary_writer():
  """tensorboardX's SummaryWriter, imported without torch: tensorboardX imports torch whenever it is
  installed (seconds), only to accept torch tensors, and aejax passes numpy arrays."""
  if "torch" in sys.modules or "tensorboardX" in sys.modules:
    from tensorboardX import SummaryWriter
    return SummaryWriter
  sys.modules["torch"] = None  # makes `import torch` raise ImportError, which tensorboardX handles
  try:
    from tensorboardX import SummaryWriter
  finally:
    del sys.modules["torch"]
  return SummaryWriter


def _image_grids(images) -> dict:
  """eval_fn's "images" as {tag: grid [H, W, C] uint8}: an array gives tag "images", a dict "images/<name>"."""
  named = images if isinstance(images, dict) else {None: images}
  return {"images" if k is None else f"images/{k}": _grid(v) for k, v in named.items()}


def _grid(images) -> np.ndarray:
  """[N, H, W, C] (or [N, H, W]) floats in [0, 1] or uint8 -> one near-square grid [rows*H, cols*W, C] uint8."""
  a = np.asarray(images)
  if a.ndim == 3:
    a = a[..., None]
  if a.ndim != 4 or a.shape[-1] not in (1, 3, 4) or not len(a):
    raise ValueError(f"images must be [N, H, W, C] with C in 1, 3, 4 (or [N, H, W]); got shape {a.shape}")
  if a.dtype != np.uint8:
    a = np.round(np.clip(a.astype(np.float32), 0.0, 1.0) * 255).astype(np.uint8)
  n, h, w, c = a.shape
  cols = math.ceil(math.sqrt(n))
  rows = math.ceil(n / cols)
  a = np.concatenate([a, np.zeros((rows * cols - n, h, w, c), np.uint8)])
  return a.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)


def _history(log_path, start: int) -> list[dict]:
  """The records logged up to step `start` (a restored run's past); later ones are dropped."""
  if log_path is None or not log_path.exists():
    return []
  records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
  records = [r for r in records if r["step"] <= start]
  if jax.process_index() == 0:
    tmp = log_path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    tmp.replace(log_path)
  return records


def _start(state, trials, desc) -> int:
  """The step a run starts from; with trials, the one step all of them are at."""
  steps = np.asarray(jax.device_get(state.step))
  if trials is None:
    return int(steps)
  if steps.shape != (trials,):
    raise ValueError(f"{desc}: the data hold {trials} trials, but the state's step has shape {steps.shape}; "
                     "pass the trials' states stacked (trainer.stack_trials)")
  if np.any(steps != steps[0]):
    raise ValueError(f"{desc}: the trials' states are at different steps {steps.tolist()}")
  return int(steps[0])


def _per_trial(values: dict, trials: int) -> dict:
  """Each value of shape [trials] as its mean under its key and trial t's under "<key>/trial<t>";
  other values as they are."""
  out = {}
  for k, v in values.items():
    a = np.asarray(v)
    if a.shape != (trials,):
      out[k] = v
      continue
    out[k] = float(np.mean(a))
    out.update({f"{k}/trial{t}": float(a[t]) for t in range(trials)})
  return out


TRIAL_KEY = re.compile(r"(.+)/trial(\d+)")


def trial_history(history: list[dict], t: int) -> list[dict]:
  """Trial t's history out of a run with trials: each row's per-trial values under their usual
  keys, in place of the means; the rows' shared entries (step, seconds) as they are."""
  rows = []
  for record in history:
    row, own = {}, {}
    for k, v in record.items():
      m = TRIAL_KEY.fullmatch(k)
      if m is None:
        row[k] = v
      elif int(m.group(2)) == t:
        own[m.group(1)] = v
    rows.append({**row, **own})
  return rows


def _summarise(pending, mode, trials=None):
  """Mean of each metric over the steps since the last log (one transfer, nothing to compile).

  pending: (metrics, active) per dispatch; a fused dispatch has metrics [K] and its mask `active`.
  With trials every metric has a last axis [T]: each trial's mean is its own (see _per_trial)."""
  host = jax.device_get(pending)
  values = collections.defaultdict(list)
  for metrics, active in host:
    for k, v in metrics.items():
      v = np.asarray(v)
      if active is not None:
        v = v[np.asarray(active)]
      elif mode == "pmap":
        v = v[:1]
      values[k].append(np.ravel(v) if trials is None else np.reshape(v, (-1, trials)))
  if trials is None:
    return {k: float(np.mean(np.concatenate(v))) for k, v in values.items()}
  return _per_trial({k: np.concatenate(v).mean(0) for k, v in values.items()}, trials)
