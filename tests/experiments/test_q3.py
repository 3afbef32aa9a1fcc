"""q3 smoke run: the metrics the issue names, the figures and answer.md."""

import json

import run

MODELS = ("overcomplete_plain", "undercomplete", "overcomplete_denoising", "overcomplete_sparse")
KEYS = ("recon_mse_train", "recon_mse_test", "probe_acc", "knn_acc", "denoise_psnr")


def test_q3_smoke(tmp_path):
  assert run.main(["q3", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q3_evaluation"
  metrics = json.loads((out / "metrics.json").read_text())
  for name in MODELS:
    for key in KEYS:
      assert isinstance(metrics["models"][name][key], float), (name, key)
      assert key + "_std" in metrics["models"][name]
    assert 0.0 <= metrics["models"][name]["probe_acc"] <= 1.0
  assert metrics["_meta"]["profile"] == "smoke"
  answer = (out / "answer.md").read_text()
  assert "linear probe" in answer.lower() and "nan" not in answer
  assert (out / "denoising.png").exists() and (out / "plain_training.png").exists()


def test_q3_rejects_more_knn_references_than_probe_codes(tmp_path):
  assert run.main(["q3", "--profile", "smoke", "--set", "knn.ref=2000", "--out", str(tmp_path)]) == 2
