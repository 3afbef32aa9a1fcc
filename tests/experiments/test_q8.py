"""q8 smoke run: mode counts on ring/grid/Stacked MNIST, the lr x beta1 sweep with fd, answer.md."""

import json

import run


def test_q8_smoke(tmp_path):
  assert run.main(["q8", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q8_gan_difficulties"
  metrics = json.loads((out / "metrics.json").read_text())
  for kind, num_modes in (("ring", 8), ("grid", 25)):
    assert set(metrics[kind]) == {"gan", "pacgan2", "minibatch_std"}
    for row in metrics[kind].values():
      assert 0 <= row["modes"] <= num_modes and 0.0 <= row["hq_pct"] <= 100.0
      assert "modes_std" in row and "hq_pct_std" in row
  for method in ("dcgan", "pacdcgan2", "dcgan_minibatch_std"):
    row = metrics["stacked_mnist"][method]
    assert 1 <= row["modes"] <= 1000 and 0.0 <= row["kl"] <= 6.91
  assert len(metrics["instability"]) == 2
  for setting in metrics["instability"].values():
    assert setting["fd"] > 0 and len(setting["curve"]["fd"]) == len(setting["curve"]["g_loss"]) == 2
  answer = (out / "answer.md").read_text()
  assert "VEEGAN" in answer and "nan" not in answer.lower()
  for fig in ("ring.png", "grid.png", "stacked_mnist.png", "sweep_fd.png", "sweep_samples.png"):
    assert (out / fig).exists(), fig
