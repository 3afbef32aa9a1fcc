"""Preemption: a real `run.py` process gets SIGTERM mid-training, exits 143, and `--resume` finishes
with the metrics an uninterrupted run writes (timings aside)."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import run
from tests.experiments.compare import differences, strip_timings

SETTINGS = ["q5", "--profile", "smoke", "--set", "steps=400", "--set", "checkpoint_every=50", "--set", "parallel=jit"]


def launch(out, *extra):
  env = {**os.environ, "XLA_FLAGS": "", "JAX_PLATFORMS": "cpu"}
  return subprocess.Popen([sys.executable, "run.py", *SETTINGS, "--out", str(out), *extra], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def mid_training(runs):
  """One run finished (final checkpoint at 400) and another has a checkpoint but not its final one:
  the window lasts most of a run's 400 steps, so a 20 ms poll finds it on a fast CPU too."""
  if not runs.exists():
    return False
  steps = [{p.name for p in (run_dir / "checkpoints").glob("*") if p.name.isdigit()} for run_dir in runs.iterdir()]
  return any("400" in s for s in steps) and any(s and "400" not in s for s in steps)


def test_sigterm_then_resume_equals_uninterrupted(tmp_path):
  out = tmp_path / "interrupted"
  proc = launch(out)
  runs = out / "q5_tied_weights" / "runs"
  deadline = time.time() + 300
  while not mid_training(runs) and proc.poll() is None and time.time() < deadline:
    time.sleep(0.02)
  assert proc.poll() is None, "the run ended before it could be interrupted:\n" + proc.communicate()[1][-2000:]
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=300)
  assert proc.returncode == 143, err[-3000:]
  assert not (out / "q5_tied_weights" / "metrics.json").exists()

  # without --resume nothing already written is touched
  assert run.main([*SETTINGS, "--out", str(out)]) == 2

  resumed = launch(out, "--resume")
  _, err = resumed.communicate(timeout=600)
  assert resumed.returncode == 0, err[-3000:]
  assert "resumed from step 400 of 400" in err  # a finished run restored, not retrained
  steps = [int(k) for k in re.findall(r"resumed from step (\d+) of 400", err)]
  assert any(50 <= k < 400 for k in steps), err[-2000:]  # the interrupted run continued from its checkpoint

  straight = launch(tmp_path / "straight")
  _, err = straight.communicate(timeout=600)
  assert straight.returncode == 0, err[-3000:]
  a, b = (json.loads((d / "q5_tied_weights" / "metrics.json").read_text()) for d in (out, tmp_path / "straight"))
  # the same programs on the same inputs, restored from exact float32 copies: equal to the bit
  assert differences(strip_timings(a), strip_timings(b), rtol=0, atol=0) == []
  assert a["_meta"]["parallel"] == "jit"

  # a complete experiment is skipped by --resume
  again = launch(out, "--resume")
  stdout, err = again.communicate(timeout=300)
  assert again.returncode == 0 and "skipped (--resume)" in stdout, err[-2000:]
