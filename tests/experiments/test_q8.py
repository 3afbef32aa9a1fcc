"""q8 smoke run: mode counts on ring/grid/Stacked MNIST, the lr x beta1 sweep with fd, answer.md."""

import json

import run
from experiments import q8_gan_difficulties as q8


def test_q8_smoke(tmp_path):
  assert run.main(["q8", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q8_gan_difficulties"
  metrics = json.loads((out / "metrics.json").read_text())
  for kind, num_modes in (("ring", 8), ("grid", 25)):
    assert set(metrics[kind]) == set(q8.config("smoke")["mix_methods"])
    for row in metrics[kind].values():
      assert 0 <= row["modes"] <= num_modes and 0.0 <= row["hq_pct"] <= 100.0
      assert "modes_std" in row and "hq_pct_std" in row
  for method in ("dcgan", "pacdcgan2", "dcgan_minibatch_std"):
    row = metrics["stacked_mnist"][method]
    assert 1 <= row["modes"] <= 1000 and 0.0 <= row["kl"] <= 6.91
  assert len(metrics["instability"]) == 2
  for setting in metrics["instability"].values():
    assert setting["fd"] > 0 and len(setting["curve"]["fd"]) == len(setting["curve"]["g_loss"]) == 2
  f = metrics["findings"]
  assert f["targets_total"] == 7 and 0 <= f["targets_met"] <= 7
  for kind in ("ring", "grid"):
    for method, target in f["targets_2d"][kind].items():
      assert target["met"] == (abs(metrics[kind][method]["modes"] - target["published_modes"]) <= 1 + 1e-9
                               and metrics[kind][method]["hq_pct"] >= 50), (kind, method)
  answer = (out / "answer.md").read_text()
  assert "VEEGAN Table 1" in answer and "PacGAN Table 1" in answer and "nan" not in answer.lower()
  for fig in ("ring.png", "grid.png", "stacked_mnist.png", "sweep_fd.png", "sweep_samples.png"):
    assert (out / fig).exists(), fig
