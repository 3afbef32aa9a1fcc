"""q2 smoke run: test_error[N][arm] and test_error_std[N][arm], the figure and answer.md."""

import json
import re

import run

ARMS = ("scratch", "frozen_probe", "finetune", "finetune_consistency")


def test_q2_smoke(tmp_path):
  assert run.main(["q2", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q2_few_labels"
  metrics = json.loads((out / "metrics.json").read_text())
  labels = [str(n) for n in metrics["_meta"]["config"]["labels"]]
  assert set(metrics["test_error"]) == set(labels) == set(metrics["test_error_std"])
  for n in labels:
    for arm in ARMS:
      assert 0.0 <= metrics["test_error"][n][arm] <= 100.0, (n, arm)
      assert metrics["test_error_std"][n][arm] >= 0.0
    assert metrics["best_arm"][n] in ARMS
  assert (out / "test_error.png").exists()
  answer = (out / "answer.md").read_text()
  assert "M1+M2" in answer and not re.search(r"\bnan\b", answer.lower())


def test_q2_rejects_labels_that_cannot_be_balanced(tmp_path):
  assert run.main(["q2", "--profile", "smoke", "--set", "labels=(105,)", "--out", str(tmp_path)]) == 2


def test_q2_rejects_a_threshold_above_one(tmp_path):
  assert run.main(["q2", "--profile", "smoke", "--set", "consistency.threshold=1.5", "--out", str(tmp_path)]) == 2
