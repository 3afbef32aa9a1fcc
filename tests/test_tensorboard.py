"""fit's TensorBoard events: scalars equal the history, eval_fn's images become one grid, a resume shows each step once."""

import io
import struct

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from PIL import Image

from aejax import trainer
from aejax.train import create_train_state

X = np.arange(64, dtype=np.float32)


def make_step(offset, nan_from=10**9):
  def step(state, batch):
    loss = jnp.mean(batch["x"]) / 64 + offset + 0.01 * state.step
    loss = jnp.where(state.step >= nan_from, jnp.nan, loss)
    return state.replace(step=state.step + 1), {"loss": loss, "aux": 2 * loss}
  return step


def fit(steps, step, **kw):
  state = create_train_state({"w": jnp.zeros(3)}, optax.sgd(0.1), seed=0)
  data = trainer.DeviceData({"x": X}, 8, seed=0, mode="jit")
  return trainer.fit(state, step, data, steps, log_every=2, progress=False, **kw)


def events(run_dir):
  """(file name, Event) for each record of run_dir's event files, files in TensorBoard's order (by name)."""
  from tensorboardX.proto import event_pb2
  out = []
  for path in sorted(run_dir.glob("events.out.tfevents.*")):
    blob, pos = path.read_bytes(), 0
    while pos < len(blob):  # TFRecord: length (8 bytes), its crc (4), the Event, its crc (4)
      (n,) = struct.unpack("<Q", blob[pos:pos + 8])
      out.append((path.name, event_pb2.Event.FromString(blob[pos + 12:pos + 12 + n])))
      pos += 12 + n + 4
  return out


def shown(run_dir):
  """{tag: [(step, number or Image proto)]} as TensorBoard shows them: a session START at step s hides the
  events before it at steps >= s."""
  series = {}
  for _, e in events(run_dir):
    if e.HasField("session_log") and e.session_log.status == e.session_log.START:
      series = {tag: [(s, x) for s, x in points if s < e.step] for tag, points in series.items()}
    for v in e.summary.value:
      series.setdefault(v.tag, []).append((e.step, v.image if v.HasField("image") else v.simple_value))
  return series


def pixels(image_proto) -> np.ndarray:
  return np.asarray(Image.open(io.BytesIO(image_proto.encoded_image_string)))


def same_series(points, history, key):
  """`points` [(step, value)] are the history's `key`, step by step, each step once."""
  return ([s for s, _ in points] == [r["step"] for r in history]
          and [x for _, x in points] == pytest.approx([r[key] for r in history], rel=1e-6))


def test_scalars_equal_history_and_images_become_a_grid(tmp_path):
  images = np.linspace(0, 1, 5 * 4 * 3, dtype=np.float32).reshape(5, 4, 3, 1)
  with trainer.session("jit", root=tmp_path):
    _, history = fit(6, make_step(0.0), name="toy_run", desc="toy run", eval_fn=lambda state: {"images": images, "score": 1.5})
  assert [r["step"] for r in history] == [2, 4, 6]
  assert all("images" not in r for r in history)
  assert "images" not in (tmp_path / "runs" / "toy_run" / "metrics.jsonl").read_text()
  series = shown(tmp_path / "tb" / "toy_run")  # same run name as runs/
  for key in ("loss", "aux", "score", "seconds"):
    assert same_series(series[key], history, key)
  assert [s for s, _ in series["images"]] == [2, 4, 6]
  grid = pixels(series["images"][-1][1])  # 5 images -> 2 rows of 3
  assert grid.shape[:2] == (8, 9)
  expected = np.round(images[..., 0] * 255).astype(np.uint8)
  np.testing.assert_array_equal(grid[0:4, 0:3, 0], expected[0])
  np.testing.assert_array_equal(grid[4:8, 3:6, 0], expected[4])
  assert not grid[4:8, 6:9].any()  # the empty sixth cell


def test_outside_a_session_only_with_tb_dir(tmp_path):
  fit(2, make_step(0.0), workdir=tmp_path / "run")
  assert not list(tmp_path.rglob("events.out.tfevents.*"))
  samples = np.full((3, 5, 5, 3), 200, np.uint8)
  _, history = fit(2, make_step(0.0), tb_dir=tmp_path / "tb",
                   eval_fn=lambda state: {"images": {"samples": samples, "reconstructions": samples // 2}})
  series = shown(tmp_path / "tb")
  assert same_series(series["loss"], history, "loss")
  assert pixels(series["images/samples"][0][1])[0, 0].tolist() == [200, 200, 200]
  assert pixels(series["images/reconstructions"][0][1])[0, 0].tolist() == [100, 100, 100]


def test_only_process_0_writes(tmp_path, monkeypatch):
  state = create_train_state({"w": jnp.zeros(3)}, optax.sgd(0.1), seed=0)
  data = trainer.DeviceData({"x": X}, 8, seed=0, mode="jit")  # process 0's rows: the batch is not empty
  monkeypatch.setattr(jax, "process_index", lambda *a: 1)
  with trainer.session("jit", root=tmp_path):
    _, history = trainer.fit(state, make_step(0.0), data, 2, log_every=2, progress=False, name="r")
  assert [r["step"] for r in history] == [2] and not (tmp_path / "tb").exists()


def interrupted_then_resumed(root):
  """A run that logs steps 2, 4, 6, checkpoints at 4 and stops on a NaN at 8; then resumed from 4 with other
  values. Returns its TensorBoard directory and the resumed history."""
  with trainer.session("jit", root=root, checkpoint_every=4):
    with pytest.raises(trainer.NonFiniteLossError):
      fit(10, make_step(1.0, nan_from=7), name="r")
  with trainer.session("jit", root=root, checkpoint_every=4):
    _, history = fit(10, make_step(0.0), name="r")
  return root / "tb" / "r", history


def test_resume_writes_each_step_once(tmp_path):
  run, history = interrupted_then_resumed(tmp_path)
  written = [(e.step, v.tag) for _, e in events(run) for v in e.summary.value]
  assert written.count((2, "loss")) == written.count((4, "loss")) == 1  # up to the checkpoint: once
  assert written.count((6, "loss")) == 2  # logged after the checkpoint, then again by the resumed run
  assert len({name for name, _ in events(run)}) == 2  # the resumed run appends a file
  assert same_series(shown(run)["loss"], history, "loss")  # ... whose purge hides the old 6


def test_tensorboard_reads_the_resumed_run(tmp_path):
  """TensorBoard's own reader (optional package) agrees: the interrupted run's step 6 is purged."""
  event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
  run, history = interrupted_then_resumed(tmp_path)
  acc = event_accumulator.EventAccumulator(str(run), size_guidance={event_accumulator.SCALARS: 0})
  acc.Reload()
  assert same_series([(s.step, s.value) for s in acc.Scalars("loss")], history, "loss")
