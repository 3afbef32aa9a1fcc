"""q8 smoke run: mode counts on ring/grid/Stacked MNIST, the lr x beta1 sweep with fd, answer.md."""

import json
import pathlib

import pytest

import run
from aejax import experiment
from aejax.config import ConfigError
from experiments import q8_gan_difficulties as q8


def test_q8_smoke(tmp_path):
  assert run.main(["q8", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q8_gan_difficulties"
  metrics = json.loads((out / "metrics.json").read_text())
  cfg = metrics["_meta"]["config"]
  for kind, num_modes in (("ring", 8), ("grid", 25)):
    assert set(metrics[kind]) == set(cfg["mix"]["methods"]) == {"gan", "pacgan2"}
    for row in metrics[kind].values():
      assert 0 <= row["modes"] <= num_modes and 0.0 <= row["hq_pct"] <= 100.0
      assert "modes_std" in row and "hq_pct_std" in row
  for method in ("dcgan", "pacdcgan2", "dcgan_minibatch_std"):
    row = metrics["stacked_mnist"][method]
    assert 1 <= row["modes"] <= 1000 and 0.0 <= row["kl"] <= 6.91
  assert len(metrics["instability"]) == 2
  for setting in metrics["instability"].values():
    assert setting["fd"] > 0 and len(setting["curve"]["fd"]) == len(setting["curve"]["g_loss"]) == 2
  published = experiment.published(q8)
  f = q8.findings(metrics, published, None)
  assert f["targets_total"] == 8 and 0 <= f["targets_met"] <= 8  # 4 on the mixtures, 4 on Stacked MNIST
  assert f["targets_stacked"]["measured"] and "confident_pct" in metrics["stacked_mnist"]["noise_control"]
  for kind in ("ring", "grid"):
    for method, target in f["targets_2d"][kind].items():
      assert target["met"] == (abs(metrics[kind][method]["modes"] - target["published_modes"]) <= 1 + 1e-9
                               and metrics[kind][method]["hq_pct"] >= 50), (kind, method)
  answer = (out / "answer.md").read_text()
  assert "VEEGAN Table 1" in answer and "PacGAN Table 1" in answer and "VEEGAN Table 2" in answer
  assert "nan" not in answer.lower()
  for fig in ("ring.png", "grid.png", "stacked_mnist.png", "sweep_fd.png", "sweep_samples.png"):
    assert (out / fig).exists(), fig


def test_q8_config_checks_each_value_where_it_is_declared():
  cfg = experiment.prepare(q8, "smoke", ["mix.steps=100", "sweep.lr=1e-3,1e-2"])
  assert cfg.mix.steps == 100 and cfg.sweep.lr == (1e-3, 1e-2) and cfg.stacked.batch == 64
  for bad in ("mix.steps=7", "mix.lr=0", "sweep.beta1=1.0", "mix.methods=gan,foo", "dataset=cifar10",
              "sweep.evals=20", "mix.methods=gan", "mix_steps=100"):
    with pytest.raises(ConfigError):
      experiment.prepare(q8, "smoke", [bad])


def test_q8_published_rows_apply_only_to_mnist():
  metrics = json.loads((pathlib.Path(__file__).parent / "metrics" / "q8_gan_difficulties.fashion_mnist.json").read_text())
  f = q8.findings(metrics, experiment.published(q8), None)
  assert not f["stacked_published_apply"] and f["targets_total"] == 7
  body = experiment.answer(q8, metrics)
  assert "DCGAN (VEEGAN Table 2, published)" not in body and "does not apply" in body
  assert "Stacked Fashion-MNIST" in body and "digit" not in body.replace("MNIST digits", "")
