"""q4 smoke run: sweep[latent] with the metrics the issue names, the regularised variants, figures, answer.md."""

import json
import re

import pytest

import run
from aejax import config as C
from aejax import experiment
from experiments import q4_completeness as q4


def test_q4_smoke(tmp_path):
  assert run.main(["q4", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q4_completeness"
  metrics = json.loads((out / "metrics.json").read_text())
  cfg = metrics["_meta"]["config"]
  latents = cfg["latents"]
  assert [int(k) for k in metrics["sweep"]] == list(latents)
  for k in latents:
    for key in ("recon_mse_train", "recon_mse_test", "probe_acc"):
      assert isinstance(metrics["sweep"][str(k)][key], float), (k, key)
  for variant in ("denoising", "sparse"):
    assert set(metrics["regularised"][variant]) == {str(k) for k in cfg["regularised"]["latents"]}
  assert metrics["knee"] in latents
  # information loss at the small end: a 2-d code reconstructs worse than a 784-d one
  assert metrics["sweep"]["2"]["recon_mse_test"] > metrics["sweep"]["784"]["recon_mse_test"]
  assert q4.findings(metrics) == metrics["findings"]  # the stored derived numbers are what the answer uses
  answer = (out / "answer.md").read_text()
  assert "knee" in answer and "nan" not in answer
  assert sorted(p.name for p in (out / "runs").iterdir()) == [  # one named run per training, its seeds as trials
      "denoising-z784", "plain-z16", "plain-z2", "plain-z784", "small-z16", "small-z784", "sparse-z784"]
  for png in ("reconstruction_vs_latent.png", "probe_vs_latent.png", "reconstructions.png"):
    assert (out / png).exists()


def test_profiles_keep_their_values():
  smoke = experiment.schema(q4).build(q4.PROFILES["smoke"])
  assert (smoke.steps, smoke.latents, smoke.regularised.latents, smoke.small.latents) == \
      (20, (2, 16, 784), (784,), (16, 784))
  assert (smoke.subset.train, smoke.subset.test, smoke.probe.train, smoke.knn.ref) == (2000, 400, 1000, 400)
  paper = experiment.schema(q4).build(q4.PROFILES["paper"])
  assert (paper.seeds, paper.steps, paper.regularised.noise, paper.eval.sigma) == (5, 20000, 0.3, 0.3)


@pytest.mark.parametrize("item,needle", [
    ("regularised.noise=-0.1", "'regularised.noise' must be a number >= 0"),
    ("latents=(0, 2)", "'latents' must be a tuple of integers >= 1"),
    ("small.train=64", "small.train (64) must be at least batch_size"),
    ("latents=(2, 16, 32)", "latents must include"),
    ("regularised.latents=(784, 999)", "regularised.latents must be among latents"),
])
def test_bad_settings_name_the_key(item, needle):
  with pytest.raises(C.ConfigError, match=re.escape(needle)):
    experiment.prepare(q4, "default", [item])
