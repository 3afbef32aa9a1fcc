"""q7 smoke run: the metrics the issue names, the figures and answer.md; the comparison with q2,
rendered from q2's metrics.json when it is beside q7's, and said to be missing when it is not."""

import json
import pathlib

import run
from aejax import experiment
from experiments import load

FIXTURES = pathlib.Path(__file__).parent / "metrics"


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
  module = load("q7")
  f = module.findings(metrics, experiment.published(module), experiment.Results(tmp_path))
  assert f["classifier_score_met"] == (dc["classifier_score"] >= 9.0) and f["fd_met"] == (dc["fd"] <= 10.0)
  assert f["ood_works"] is None  # the smoke profile trains no second data set
  answer = (out / "answer.md").read_text()
  assert "fd" in answer and "nan" not in answer.lower()
  # a missed target or a failed task is said plainly
  assert ("**missed**" in answer) == (not (f["classifier_score_met"] and f["fd_met"]))
  assert ("Inpainting failed here" in answer) == (not f["inpainting_works"])
  for fig in ("samples.png", "cgan_samples.png", "inpainting.png"):
    assert (out / fig).exists(), fig


def render_beside(tmp_path, names) -> str:
  """q7's answer rendered from its fixture, with the fixtures of `names` in the same output directory."""
  for name in ("q7_gan_tasks", *names):
    (tmp_path / name).mkdir()
    (tmp_path / name / "metrics.json").write_text((FIXTURES / f"{name}.json").read_text())
  return experiment.render(load("q7"), tmp_path / "q7_gan_tasks").read_text()


def test_q7_says_q2_is_missing(tmp_path):
  answer = render_beside(tmp_path, [])
  assert "q2's results are missing from this output directory" in answer
  assert "q2's best autoencoder arm" not in answer


def test_q7_compares_with_q2_beside_it(tmp_path):
  answer = render_beside(tmp_path, ["q2_few_labels"])
  q2 = json.loads((FIXTURES / "q2_few_labels.json").read_text())
  errors = q2["test_error"]["100"]
  arm = min(errors, key=errors.get)
  assert f"q2's best autoencoder arm at the same N ({arm}, {errors[arm]:.2f}% in its `{q2['_meta']['profile']}` run" in answer
  assert "missing" not in answer
