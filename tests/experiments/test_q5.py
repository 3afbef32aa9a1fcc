"""q5 smoke run: runs[size][tied|untied|greedy] with the issue's keys, tied has about half the params; the
code the answer shows is the source of the functions that tie the weights."""

import inspect
import json
import pathlib
import re
import textwrap

import pytest

import run
from aejax import config as C
from aejax import experiment
from experiments import q5_tied_weights as q5

KEYS = ("params", "recon_mse_train", "recon_mse_test", "sec_per_epoch")
ROOT = pathlib.Path(__file__).parents[2]
STORED = [ROOT / "tests/experiments/metrics/q5_tied_weights.json", ROOT / "results/q5_tied_weights/metrics.json"]


def test_q5_smoke(tmp_path):
  assert run.main(["q5", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q5_tied_weights"
  metrics = json.loads((out / "metrics.json").read_text())
  assert metrics["_meta"]["profile"] == "smoke"
  for size, by in metrics["runs"].items():
    for variant in ("tied", "untied", "greedy"):
      for key in KEYS:
        assert isinstance(by[variant][key], float) and by[variant][key] >= 0, (size, variant, key)
    # 784-300-150-300-784: tying removes exactly the two decoder kernels
    assert by["untied"]["params"] - by["tied"]["params"] == 784 * 300 + 300 * 150
    assert by["greedy"]["params"] == by["tied"]["params"]
  assert metrics["tying_code"] == q5.tying_code()
  assert q5.findings(metrics) == metrics["findings"]  # the stored derived numbers are what the answer uses
  assert sorted(p.name for p in (out / "runs").iterdir()) == [
      "greedy-n500-s0-finetune", "greedy-n500-s0-layer0", "greedy-n500-s0-layer1", "tied-n500-s0", "untied-n500-s0"]
  answer = (out / "answer.md").read_text()
  assert "kernel.T" in answer and "TiedDense" in answer and "nan" not in answer
  assert (out / "generalisation_gap.png").exists() and (out / "reconstructions.png").exists()


def test_tying_code_is_the_functions_source():
  """Whole functions, read from the objects (no line offsets into the file), and they do the tying."""
  code = q5.tying_code()
  assert list(code) == [f"{fn.__module__}.{fn.__qualname__}" for fn in q5.TYING_CODE]
  for fn, src in zip(q5.TYING_CODE, code.values()):
    assert src == textwrap.dedent(inspect.getsource(fn)).strip()
    assert "def __call__(" in src
  assert "kernel.T" in "\n".join(code.values()) and "if self.tied:" in "\n".join(code.values())


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.parent.name)
def test_shown_code_is_still_the_source(path):
  """The code a stored answer shows is the current source of the tying functions: a change to
  aejax/models/stacked.py (even a reformatting) fails here until the metrics are regenerated."""
  metrics = json.loads(path.read_text())
  if "tying_code" not in metrics:
    pytest.skip(f"{path} predates the stored tying code")
  text = experiment.answer(q5, metrics)
  for name, src in q5.tying_code().items():
    assert metrics["tying_code"].get(name) == src, f"{name} changed since {path} was written; rerun q5"
    assert src in text


def test_profiles_keep_their_values():
  smoke = experiment.schema(q5).build(q5.PROFILES["smoke"])
  assert (smoke.seeds, smoke.train.sizes, smoke.steps, smoke.eval.train, smoke.eval.test, smoke.bench.steps) == \
      (1, (500,), 30, 500, 500, 5)
  paper = experiment.schema(q5).build(q5.PROFILES["paper"])
  assert (paper.seeds, paper.steps, paper.train.sizes, paper.hidden) == (5, 20000, (1000, 5000, 60000), (300, 150))


@pytest.mark.parametrize("item,needle", [
    ("steps=7", "'steps' must be an integer >= 8"),
    ("activation=tanh", "'activation' must be one of selu, relu"),
    ("train.sizes=(100, 1000)", "every train.sizes entry must be >= batch_size"),
])
def test_bad_settings_name_the_key(item, needle):
  with pytest.raises(C.ConfigError, match=re.escape(needle)):
    experiment.prepare(q5, "default", [item])
