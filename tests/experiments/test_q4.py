"""q4 smoke run: sweep[latent] with the metrics the issue names, the regularised variants, figures, answer.md."""

import json

import run


def test_q4_smoke(tmp_path):
  assert run.main(["q4", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q4_completeness"
  metrics = json.loads((out / "metrics.json").read_text())
  latents = metrics["_meta"]["config"]["latents"]
  assert [int(k) for k in metrics["sweep"]] == list(latents)
  for k in latents:
    for key in ("recon_mse_train", "recon_mse_test", "probe_acc"):
      assert isinstance(metrics["sweep"][str(k)][key], float), (k, key)
  for variant in ("denoising", "sparse"):
    assert set(metrics["regularised"][variant]) == {str(k) for k in metrics["_meta"]["config"]["regularised_latents"]}
  assert metrics["knee"] in latents
  # information loss at the small end: a 2-d code reconstructs worse than a 784-d one
  assert metrics["sweep"]["2"]["recon_mse_test"] > metrics["sweep"]["784"]["recon_mse_test"]
  answer = (out / "answer.md").read_text()
  assert "knee" in answer and "nan" not in answer
  for png in ("reconstruction_vs_latent.png", "probe_vs_latent.png", "reconstructions.png"):
    assert (out / png).exists()
