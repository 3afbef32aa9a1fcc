"""Every answer renders from its stored metrics.json alone, and quotes no number that is not in it.

tests/experiments/metrics/<name>.json is a smoke run's metrics.json on MNIST, and
<name>.fashion_mnist.json one on Fashion-MNIST (regenerate with `python run.py qN --profile smoke
--out /tmp/x [--set dataset=fashion_mnist]` and copy it). A number in the answer is *in the
metrics* when some stored value (any leaf, key or number inside a string, the config included), a
number of the experiment's published tables (answers/<name>.toml) or one its pure findings(metrics)
derive from them (a difference, a mean of published cells), as it is, or as a percentage
(x100), rounds to it at the precision the answer prints. Integers up to 10 are exempt: they count
things in prose ("3 std", "Table 1", "two layers"). Each answer is rendered beside the other
experiments' fixtures of the same data set, as the report renders it.
"""

import json
import pathlib
import re

import pytest

from aejax import experiment
from experiments import EXPERIMENTS, load

HERE = pathlib.Path(__file__).parent / "metrics"
# a number not glued to a word or a dot (so "q5", "x2", "fig.3" are not numbers), or a ratio like "107.9x"
NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?(?:(?=x\b)|(?!\w))")
SKIP = re.compile(r"!\[[^\]]*\]\([^)]*\)|<!--.*?-->|https?://\S+", re.S)


def stored_numbers(obj, out=None) -> list[float]:
  out = [] if out is None else out
  if isinstance(obj, dict):
    for k, v in obj.items():
      stored_numbers(k, out)
      stored_numbers(v, out)
  elif isinstance(obj, (list, tuple)):
    for v in obj:
      stored_numbers(v, out)
  elif isinstance(obj, bool) or obj is None:
    pass
  elif isinstance(obj, (int, float)):
    out.append(float(obj))
  elif isinstance(obj, str):
    out += [float(t) for t in re.findall(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?", obj)]
  return out


def quoted_numbers(text: str) -> list[str]:
  return NUMBER.findall(SKIP.sub(" ", text))


def unsupported(text: str, metrics: dict, published: dict | None = None) -> list[str]:
  """The numbers quoted in `text` that no stored or published value rounds to."""
  values = stored_numbers(metrics) + stored_numbers(published or {})
  values += [100 * v for v in values]
  missing = []
  for token in quoted_numbers(text):
    x = float(token.replace(",", ""))
    mantissa = token.split("e")[0]
    if "." not in mantissa and "e" not in token and x <= 10:
      continue
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    half = 0.5 * 10.0 ** (-decimals)
    if "e" in token:
      half = 0.5 * 10.0 ** (int(token.split("e")[1]) - decimals)
    if not any(abs(abs(v) - x) <= half * (1 + 1e-9) + 1e-12 for v in values):
      missing.append(token)
  return missing


def test_checker_finds_a_number_not_in_the_metrics():
  metrics = {"nll": 93.456, "acc": 0.9712, "_meta": {"config": {"steps": 1200}}}
  assert unsupported("NLL 93.5 nats, 97.1% accurate, 1200 steps, 3 std", metrics) == []
  assert unsupported("NLL 93.4 nats", metrics) == ["93.4"]
  assert unsupported("published 86.76", metrics) == ["86.76"]
  assert unsupported("fd 107.9x the floor.", {"ratio": 107.9}) == []
  assert unsupported("fd 107.9x the floor.", {"ratio": 107.0}) == ["107.9"]  # a ratio is read whole


FIXTURES = [(name, suffix) for name in EXPERIMENTS for suffix in ("", ".fashion_mnist")
            if (HERE / f"{name}{suffix}.json").exists()]


@pytest.mark.parametrize("name,suffix", FIXTURES)
def test_answer_renders_from_stored_metrics(name, suffix, tmp_path):
  module = load(name)
  for other in EXPERIMENTS:  # every experiment's fixture of this data set, as in one output directory
    if (HERE / f"{other}{suffix}.json").exists():
      (tmp_path / other).mkdir()
      (tmp_path / other / "metrics.json").write_text((HERE / f"{other}{suffix}.json").read_text())
  metrics = json.loads((tmp_path / name / "metrics.json").read_text())
  answer = experiment.render(module, tmp_path / name).read_text()
  assert answer.startswith(f"## {module.QUESTION}")
  assert "**Short answer.**" in answer.split("\n\n", 2)[1], "each answer starts with a short answer"
  published = experiment.published(module)
  found = module.findings(metrics, published, experiment.Results(tmp_path)) if hasattr(module, "findings") else {}
  assert unsupported(answer, metrics, {"published": published, "findings": found}) == []


def test_every_experiment_has_a_fashion_mnist_fixture():
  assert [n for n in EXPERIMENTS if not (HERE / f"{n}.fashion_mnist.json").exists()] == []


RESULTS = pathlib.Path(__file__).parents[2] / "results"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_committed_answers_are_what_their_metrics_render(name, tmp_path):
  """results/<name>/answer.md is its metrics.json rendered by today's template (run.py report --out results
  leaves it as it is): a template change comes with the answers it changes."""
  for other in EXPERIMENTS:
    if (RESULTS / other / "metrics.json").exists():
      (tmp_path / other).mkdir()
      (tmp_path / other / "metrics.json").write_text((RESULTS / other / "metrics.json").read_text())
  rendered = experiment.render(load(name), tmp_path / name).read_text()
  assert rendered == (RESULTS / name / "answer.md").read_text()
