"""q1 runs end to end in the smoke profile and writes the metrics the issue names."""

import json

import pytest

import run


def test_q1_smoke_writes_issue_metrics(tmp_path):
  rc = run.main(["q1", "--profile", "smoke", "--out", str(tmp_path)])
  out = tmp_path / "q1_uses"
  assert rc == 0, (out / "FAILED.txt").read_text() if (out / "FAILED.txt").exists() else rc
  m = json.loads((out / "metrics.json").read_text())
  assert {"dimred", "denoise", "anomaly", "features", "generation", "semi_supervised"} <= set(m)
  assert 0 <= m["dimred"]["knn_acc_ae2d"] <= 1 and 0 <= m["dimred"]["knn_acc_pca2d"] <= 1
  for key in ("psnr_noisy", "psnr_denoised"):
    assert set(m["denoise"][key]) == {"0.1", "0.3", "0.5"}
  # more noise, lower input PSNR: the noise really is applied at the stated level
  assert m["denoise"]["psnr_noisy"]["0.1"] > m["denoise"]["psnr_noisy"]["0.3"] > m["denoise"]["psnr_noisy"]["0.5"]
  anomaly = m["anomaly"]
  assert len(anomaly["auroc_per_class"]) == m["_meta"]["config"]["anomaly"]["classes"]
  assert all(0 <= a <= 1 for a in anomaly["auroc_per_class"])
  assert anomaly["auroc_mean"] == pytest.approx(sum(anomaly["auroc_per_class"]) / len(anomaly["auroc_per_class"]))
  for key in ("probe_acc_ae", "probe_acc_pixels", "probe_acc_random"):
    assert 0 <= m["features"][key] <= 1
  assert m["semi_supervised"]["see"] == "q2_few_labels"
  for name in ("answer.md", "dimred_maps.png", "denoising.png", "vae_samples.png"):
    assert (out / name).stat().st_size > 0
  assert "Deep SVDD (published)" in (out / "answer.md").read_text()
