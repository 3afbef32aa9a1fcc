"""q7 smoke run: the metrics the issue names, the figures and answer.md; the averaged networks reported
beside the raw ones; samples said not to be the data set's items when the classifier reads few of them;
the comparison with q2, rendered from q2's metrics.json when it is beside q7's, and said to be missing
when it is not; a run from before weight averaging said not to have measured it."""

import json
import pathlib

import pytest

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
  # the averaged generator is reported, the raw one beside it; confident shares of samples and real images
  assert set(dc["raw_weights"]) == {"fd", "classifier_score"} and dc["raw_weights"]["fd"] >= 0
  assert 0.0 <= dc["confident_pct"] <= 100.0 and 0.0 <= dc["confident_pct_test"] <= 100.0
  ssl = metrics["semi_supervised"]
  assert 0.0 <= ssl["test_error_pct"] <= 100.0 and 0.0 <= ssl["test_error_pct_raw"] <= 100.0
  assert metrics["protocol"]["average_decay"] == {"gan": 0.5, "aug_gan": 0.0, "ssl": 0.5}  # 1 - 10/steps in smoke
  module = load("q7")
  f = module.findings(metrics, experiment.published(module), experiment.Results(tmp_path))
  assert f["classifier_score_met"] == (dc["classifier_score"] >= 9.0) and f["fd_met"] == (dc["fd"] <= 10.0)
  assert f["ood_works"] is None  # the smoke profile trains no second data set
  answer = (out / "answer.md").read_text()
  assert "fd" in answer and "nan" not in answer.lower()
  # a missed target or a failed task is said plainly
  assert ("**missed**" in answer) == (not (f["classifier_score_met"] and f["fd_met"]))
  assert ("Inpainting failed here" in answer) == (not f["inpainting_works"])
  assert f["averaged"] and "With the generator's last (raw) weights instead of their average" in answer
  assert "Test error of the averaged discriminator" in answer and "its last, raw weights" in answer
  assert ("most samples are not digits" in answer) == f["not_items"]
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


def test_average_decay_keeps_little_of_the_initial_weights():
  decay = load("q7").average_decay
  assert decay(20000) == 0.999 and decay(20) == 0.5 and decay(10) == 0.0 and decay(5) == 0.0
  assert abs(decay(3000) - (1 - 1 / 300)) < 1e-12 and decay(3000) ** 3000 < 1e-4


def render_metrics(tmp_path, metrics) -> str:
  (tmp_path / "q7_gan_tasks").mkdir()
  (tmp_path / "q7_gan_tasks" / "metrics.json").write_text(json.dumps(metrics))
  return experiment.render(load("q7"), tmp_path / "q7_gan_tasks").read_text()


@pytest.mark.parametrize("suffix,items", [("", "digits"), (".fashion_mnist", "garments")])
@pytest.mark.parametrize("fraction", [0.1, 0.9])
def test_q7_says_when_samples_are_not_the_items(tmp_path, suffix, items, fraction):
  metrics = json.loads((FIXTURES / f"q7_gan_tasks{suffix}.json").read_text())
  dc = metrics["dcgan"][metrics["data"]["name"]]
  dc["confident_pct_test"], dc["confident_pct"] = 80.0, 80.0 * fraction  # below a quarter of the real share: not items
  answer = render_metrics(tmp_path, metrics)
  short = answer.split("\n\n", 2)[1]
  assert ("**most of its samples are not " + items + "**" in short) == (fraction < 0.25)
  assert ("**most samples are not " + items + "**" in answer) == (fraction < 0.25)
  assert f"{80.0 * fraction:.3g}% of the samples at max softmax ≥ 0.9, against 80% of real test images" in answer


def test_q7_run_before_weight_averaging_says_not_measured(tmp_path):
  metrics = json.loads((FIXTURES / "q7_gan_tasks.json").read_text())
  for dc in metrics["dcgan"].values():
    for key in ("raw_weights", "confident_pct", "confident_pct_test"):
      del dc[key]
  for row in [metrics["semi_supervised"], *metrics["semi_supervised"]["per_seed"]]:
    row.pop("test_error_pct_raw"), row.pop("test_error_pct_raw_std", None)
  del metrics["protocol"]["average_decay"], metrics["protocol"]["confidence"]
  answer = render_metrics(tmp_path, metrics)
  assert "This run predates weight averaging" in answer and "the averaged one was not measured in this run" in answer
  assert "raw) weights" not in answer and "confidently read" not in answer and "averaged discriminator" not in answer
