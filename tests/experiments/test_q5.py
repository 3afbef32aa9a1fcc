"""q5 smoke run: runs[size][tied|untied|greedy] with the issue's keys, tied has about half the params."""

import json

import run

KEYS = ("params", "recon_mse_train", "recon_mse_test", "sec_per_epoch")


def test_q5_smoke(tmp_path):
  assert run.main(["q5", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q5_tied_weights"
  metrics = json.loads((out / "metrics.json").read_text())
  assert metrics["_meta"]["profile"] == "smoke"
  for size, by in metrics["runs"].items():
    for variant in ("tied", "untied", "greedy"):
      for key in KEYS:
        assert isinstance(by[variant][key], float) and by[variant][key] >= 0, (size, variant, key)
    # 784-300-150-300-784: tying removes exactly the two decoder kernels
    assert by["untied"]["params"] - by["tied"]["params"] == 784 * 300 + 300 * 150
    assert by["greedy"]["params"] == by["tied"]["params"]
  answer = (out / "answer.md").read_text()
  assert "kernel.T" in answer and "TiedDense" in answer and "nan" not in answer
  assert (out / "generalisation_gap.png").exists() and (out / "reconstructions.png").exists()
