"""run.py: the list, and bad input refused with a named key before any data or compile."""

import json

import pytest

import run
from aejax import config, experiment
from experiments import load


@pytest.fixture
def nothing_runs(monkeypatch):
  """Fail the test if an experiment would start (data load, compile, training)."""
  def boom(*a, **k):
    raise AssertionError("an experiment started despite bad input")
  monkeypatch.setattr(experiment, "execute", boom)


def test_list_names_the_eight_questions(capsys):
  assert run.main(["list"]) == 0
  lines = capsys.readouterr().out.strip().splitlines()
  assert [l.split()[0] for l in lines] == [f"q{i}" for i in range(1, 9)]
  assert all(len(l.split()) > 3 for l in lines)  # each with its question


@pytest.mark.parametrize("sets,needle", [
    (["nope=1"], "unknown config key 'nope'"),
    (["dataset=imagenet42"], "'dataset' must be one of"),
    (["lr=-0.1"], "'lr' must be a number > 0"),
    (["steps=0"], "'steps' must be an integer >= 1"),
    (["plain.steps=0"], "'plain.steps' must be an integer >= 1"),
    (["probe.stepz=3"], "unknown config key 'probe.stepz'; did you mean probe.steps"),
    (["lr=abc"], "cannot parse"),
    (["seeds=2.5"], "'seeds' must be an integer"),
])
def test_bad_values_fail_before_anything_runs(sets, needle, capsys, tmp_path, nothing_runs):
  argv = ["q3", "--profile", "smoke", "--out", str(tmp_path)]
  for s in sets:
    argv += ["--set", s]
  assert run.main(argv) == 2
  assert needle in capsys.readouterr().err
  assert not any(tmp_path.iterdir())


def test_latent_zero_is_refused():
  with pytest.raises(config.ConfigError, match="'under.latent' must be an integer >= 1"):
    experiment.prepare(load("q3"), "smoke", ["under.latent=0"])


def test_unknown_profile_and_experiment(capsys, tmp_path, nothing_runs):
  assert run.main(["q3", "--profile", "huge", "--out", str(tmp_path)]) == 2
  assert "unknown profile" in capsys.readouterr().err
  assert run.main(["q9", "--out", str(tmp_path)]) == 2
  assert "unknown experiment 'q9'" in capsys.readouterr().err


def test_existing_results_are_not_overwritten(capsys, tmp_path, nothing_runs):
  results = tmp_path / "q3_evaluation"
  results.mkdir()
  (results / "metrics.json").write_text(json.dumps({"keep": 1}))
  assert run.main(["q3", "--profile", "smoke", "--out", str(tmp_path)]) == 2
  assert "--overwrite" in capsys.readouterr().err
  assert json.loads((results / "metrics.json").read_text()) == {"keep": 1}


def test_help_lists_every_setting_by_its_dotted_name(capsys):
  with pytest.raises(SystemExit):
    run.main(["--help"])
  out = capsys.readouterr().out
  assert "mix.steps=" in out and "plain.steps=" in out and "parallel=auto" in out


def test_data_fetch_unknown_name(capsys):
  assert run.main(["data", "fetch", "imagenet42"]) == 2
  assert "unknown dataset 'imagenet42'" in capsys.readouterr().err


def test_batch_that_does_not_split_over_the_devices_is_refused(capsys, tmp_path, nothing_runs):
  """4 forced devices (conftest): batch 30 under mesh names the multiple to use, before anything runs."""
  argv = ["q3", "--profile", "smoke", "--set", "parallel=mesh", "--set", "batch_size=30", "--out", str(tmp_path)]
  assert run.main(argv) == 2
  err = capsys.readouterr().err
  assert "'batch_size' = 30 does not split over the 4 devices" in err and "--set batch_size=32" in err
  assert not any(tmp_path.iterdir())


def test_an_experiments_own_check_gives_the_one_line_error(capsys, tmp_path, nothing_runs):
  assert run.main(["q3", "--profile", "smoke", "--set", "knn.ref=2000", "--out", str(tmp_path)]) == 2
  assert "knn.ref" in capsys.readouterr().err


def test_common_keys_with_all_and_others_refused(capsys, tmp_path, nothing_runs):
  assert run.main(["all", "--profile", "smoke", "--set", "steps=3", "--out", str(tmp_path)]) == 2
  assert "run qN alone to set steps" in capsys.readouterr().err
  assert run.main(["all", "--profile", "smoke", "--set", "parallel=fast", "--out", str(tmp_path)]) == 2
  assert "'parallel' must be one of auto, jit, pmap, mesh" in capsys.readouterr().err


def test_resume_refuses_a_changed_config(capsys, tmp_path, nothing_runs):
  started = tmp_path / "q3_evaluation"
  started.mkdir()
  cfg = experiment.prepare(load("q3"), "smoke", [])
  experiment.write_json(started / "config.json", cfg)  # a ConfigDict is written as its nested dict
  assert run.main(["q3", "--profile", "smoke", "--set", "seeds=2", "--resume", "--out", str(tmp_path)]) == 2
  assert "started with a different config (seeds: 1 -> 2)" in capsys.readouterr().err


def test_the_library_never_imports_the_experiments():
  import subprocess, sys
  code = ("import sys, aejax.experiment, aejax.report, aejax.recipes, aejax.trainer, aejax.evaluation.classifier; "
          "print(any(m == 'experiments' or m.startswith('experiments.') for m in sys.modules))")
  assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
