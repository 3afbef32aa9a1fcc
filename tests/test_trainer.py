"""The loop: resume equals uninterrupted, SIGTERM saves and exits 143, NaN stops with the last good checkpoint."""

import os
import signal
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from aejax import losses, trainer
from aejax.checkpoint import Checkpointer
from aejax.models import autoencoder
from aejax.train import create_train_state, make_train_step

IMAGES = np.random.default_rng(0).integers(0, 256, (96, 28, 28, 1)).astype(np.uint8)


def fresh():
  model = autoencoder.mlp_autoencoder(4, hidden=(16,))
  params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
  loss_fn = losses.reconstruction(model.apply, noise_std=0.2)  # uses the RNG: resume must restore it
  return create_train_state(params, optax.adam(1e-2), seed=1), make_train_step(loss_fn)


def fit(steps, workdir=None, mode=None, log_every=2, **kw):
  state, step = fresh()
  data = trainer.DeviceData({"image": IMAGES}, 16, seed=3, mode=mode)
  return trainer.fit(state, step, data, steps, workdir=workdir, log_every=log_every, progress=False, **kw)


@pytest.mark.parametrize("mode,fuse", [(None, None), ("jit", 16)])  # 4-device mesh; one device, 16 steps a dispatch
def test_resume_equals_uninterrupted(tmp_path, mode, fuse):
  straight, h_straight = fit(10, mode=mode, steps_per_dispatch=fuse)
  fit(4, workdir=tmp_path, checkpoint_every=2, mode=mode, steps_per_dispatch=fuse)  # "interrupted" after 4 steps
  resumed, h_resumed = fit(10, workdir=tmp_path, checkpoint_every=2, mode=mode, steps_per_dispatch=fuse)
  assert int(resumed.step) == 10
  for a, b in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed)):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
  assert h_resumed[-1]["loss"] == pytest.approx(h_straight[-1]["loss"], rel=1e-6)
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert len(lines) == 5  # steps 2, 4, then 6, 8, 10


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path):
  state, _ = fresh()
  calls = {"n": 0}

  def step(state, batch):  # a loss that goes NaN from step 5 on
    loss = jnp.where(state.step >= 4, jnp.nan, 1.0)
    return state.replace(step=state.step + 1), {"loss": loss}

  data = trainer.DeviceData({"image": IMAGES}, 16, seed=0)
  with pytest.raises(trainer.NonFiniteLossError, match="non-finite at step 6.*last good checkpoint \\(step 4\\)"):
    trainer.fit(state, step, data, 10, workdir=tmp_path, checkpoint_every=2, log_every=2, progress=False)
  assert Checkpointer(tmp_path / "checkpoints").latest_step() == 4


def test_sigterm_saves_then_exits_143(tmp_path):
  script = textwrap.dedent(f"""
      import os, signal, sys
      sys.path.insert(0, {os.getcwd()!r})
      import jax, jax.numpy as jnp, numpy as np
      from aejax import trainer
      from aejax.train import create_train_state
      import optax
      state = create_train_state({{"w": jnp.zeros(3)}}, optax.sgd(0.1), seed=0)
      def step(state, batch):
        return state.replace(step=state.step + 1), {{"loss": jnp.float32(1.0)}}
      class Data:
        def batch(self, s):
          if s == 7:
            os.kill(os.getpid(), signal.SIGTERM)
          return {{"image": jnp.zeros(2)}}
      trainer.fit(state, step, Data(), 1000, workdir={str(tmp_path)!r}, log_every=1000, progress=False)
  """)
  proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
  assert proc.returncode == 143, proc.stderr
  assert Checkpointer(tmp_path / "checkpoints").latest_step() == 8


def test_batch_too_large_is_named():
  with pytest.raises(ValueError, match="batch_size=200 exceeds the 96"):
    trainer.DeviceData({"image": IMAGES}, 200, seed=0)


def test_batch_not_divisible_by_devices_is_named():
  with pytest.raises(ValueError, match="multiple of 4"):
    trainer.DeviceData({"image": IMAGES}, 18, seed=0, mode="pmap")


def test_fused_dispatches_equal_single_steps(tmp_path):
  """On one device `fit` can run up to 16 steps per lax.scan call (chunks cut at log points): the
  same params as one compiled step per call."""
  from aejax import parallel
  from tests.tolerance import assert_trained_close
  fused, history = fit(20, mode="jit", log_every=7, steps_per_dispatch=16)  # chunks of 7, 7, 6: masked scan steps included
  assert [h["step"] for h in history] == [7, 14, 20]
  state, step = fresh()
  data = trainer.DeviceData({"image": IMAGES}, 16, seed=3, mode="jit")
  one = parallel.compile_step(step, "jit")
  for s in range(20):
    state, _ = one(state, data.batch(s))
  assert_trained_close(fused.params, state.params, lr=1e-2, steps=20)
  np.testing.assert_array_equal(fused.rng, state.rng)


def test_runs_are_named_by_their_callers(tmp_path):
  """In a session that keeps checkpoints, the caller's name is the run's directory; the label is only
  a label; a run without a name, a name used twice, or a name that is not a directory name is refused."""
  with trainer.session("jit", root=tmp_path):
    fit(2, name="seed-0", desc="a label with spaces")
    assert (tmp_path / "runs" / "seed-0" / "metrics.jsonl").exists()
    with pytest.raises(ValueError, match="used twice"):
      fit(2, name="seed-0")
    with pytest.raises(ValueError, match="needs a name"):
      fit(2)
    with pytest.raises(ValueError, match="directory"):
      fit(2, name="../up")
