"""Every answer renders from its stored metrics.json alone, and quotes no number that is not in it.

tests/experiments/metrics/<name>.json is a smoke run's metrics.json (regenerate with
`python run.py qN --profile smoke --out /tmp/x` and copy it). A number in the answer is *in the
metrics* when some stored value (any leaf, key or number inside a string, the config included),
as it is, or as a percentage (x100), rounds to it at the precision the answer prints. Integers up
to 10 are exempt: they count things in prose ("3 std", "Table 1", "two layers").
"""

import json
import pathlib
import re

import pytest

from aejax import experiment
from experiments import EXPERIMENTS, load

HERE = pathlib.Path(__file__).parent / "metrics"
# a number not glued to a word or a dot (so "q5", "x2", "fig.3" are not numbers)
NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?(?![\w])")
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


def unsupported(text: str, metrics: dict) -> list[str]:
  """The numbers quoted in `text` that no stored value rounds to."""
  values = stored_numbers(metrics)
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


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_answer_renders_from_stored_metrics(name, tmp_path):
  module = load(name)
  assert hasattr(module, "answer"), f"{name} has no answer(metrics)"
  stored = HERE / f"{name}.json"
  metrics = json.loads(stored.read_text())
  (tmp_path / "metrics.json").write_text(stored.read_text())
  answer = experiment.render(module, tmp_path).read_text()
  assert answer.startswith(f"## {module.QUESTION}")
  assert "**Short answer.**" in answer.split("\n\n", 2)[1], "each answer starts with a short answer"
  assert unsupported(answer, metrics) == []
