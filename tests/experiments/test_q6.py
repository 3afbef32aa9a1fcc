"""q6 smoke run: ELBO and IW NLL per model (NLL below -ELBO), the NLL-while-training curve, figures;
Burda et al.'s schedule in its eight stages."""

import json

import numpy as np
import pytest

import run
from aejax import experiment
from experiments import q6_vae


def test_q6_smoke(tmp_path):
  # checkpoints between log points: their history rows carry no eval_fn results
  assert run.main(["q6", "--profile", "smoke", "--out", str(tmp_path), "--set", "checkpoint_every=15"]) == 0
  out = tmp_path / "q6_vae"
  metrics = json.loads((out / "metrics.json").read_text())
  cfg = metrics["_meta"]["config"]
  assert metrics["_meta"]["profile"] == "smoke" and metrics["iw_samples"] >= 1
  for name in ("mlp_vae", "conv_vae", "vae_2d"):
    m = metrics["models"][name]
    assert 0 < m["test_nll_nats"] < 784 * 0.7 and 0 < m["test_elbo_nats"] < 784 * 0.7, name
    # on the same images the importance-weighted estimate is a tighter bound than the ELBO
    assert m["test_nll_nats"] <= m["nll_subset_elbo_nats"] + 1e-3 and m["iw_tightening_nats"] >= -1e-3, name
  nll = metrics["iw_curve"]["nll_nats"]
  assert nll[-1] <= nll[0] + 1e-3
  curve = metrics["nll_curve"]  # one point per curve_every_epochs, the last at the end of training
  assert curve["epochs"] == [float(e) for e in range(1, cfg["mlp"]["epochs"] + 1)] and len(curve["nll_nats"]) == 2
  assert metrics["models"]["mlp_vae"]["epochs"] == cfg["mlp"]["epochs"]
  answer = (out / "answer.md").read_text()
  assert "86.76" in answer and "nan" not in answer
  for fig in ("samples.png", "manifold.png", "interpolation.png", "latent_2d.png", "training.png", "nll_vs_epochs.png"):
    assert (out / fig).exists(), fig
  assert (out / "tb" / "mlp_vae").is_dir()  # samples and the NLL curve in TensorBoard, under the run's name


@pytest.mark.parametrize("per_epoch", [1, 3])
def test_burda_schedule_steps_down_at_three_to_the_i_epochs(per_epoch):
  steps = 3280 * per_epoch
  schedule = q6_vae.burda_schedule(1e-3, steps)
  starts = np.cumsum([0, 1, 3, 9, 27, 81, 243, 729])  # each stage's first epoch
  for i, epoch in enumerate(starts):
    assert float(schedule(epoch * per_epoch)) == pytest.approx(1e-3 * 10 ** (-i / 7), rel=1e-5)
    if epoch:
      assert float(schedule(epoch * per_epoch - 1)) == pytest.approx(1e-3 * 10 ** (-(i - 1) / 7), rel=1e-5)
  assert float(schedule(steps - 1)) == pytest.approx(1e-4, rel=1e-5)
  paper = experiment.schema(q6_vae).build(q6_vae.PROFILES["paper"])
  assert "tx" in q6_vae.mlp_optimizer(paper.mlp, steps)
