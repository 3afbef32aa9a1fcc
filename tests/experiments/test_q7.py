"""q7 smoke run: the metrics the issue names, the figures and answer.md."""

import json

import run


def test_q7_smoke(tmp_path):
  assert run.main(["q7", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q7_gan_tasks"
  metrics = json.loads((out / "metrics.json").read_text())
  dc = metrics["dcgan"]["mnist"]
  for key in ("fd", "classifier_score", "fd_floor"):
    assert isinstance(dc[key], float) and dc[key] >= 0, key
  assert 1.0 <= dc["classifier_score"] <= 10.0 + 1e-6
  for n in ("100", "1000"):
    row = metrics["augmentation"]["test_error"][n]
    for key in ("without", "with_gan", "without_std", "with_gan_std"):
      assert 0.0 <= row[key] <= 1.0, (n, key)
  assert isinstance(metrics["inpainting"]["hole_psnr_gan"], float)
  f = metrics["findings"]
  assert f["classifier_score_met"] == (dc["classifier_score"] >= 9.0) and f["fd_met"] == (dc["fd"] <= 10.0)
  assert f["ood_works"] is None  # the smoke profile trains no second data set
  answer = (out / "answer.md").read_text()
  assert "fd" in answer and "nan" not in answer.lower()
  # a missed target or a failed task is said plainly
  assert ("**missed**" in answer) == (not (f["classifier_score_met"] and f["fd_met"]))
  assert ("Inpainting failed here" in answer) == (not f["inpainting_works"])
  for fig in ("samples.png", "cgan_samples.png", "inpainting.png"):
    assert (out / fig).exists(), fig
