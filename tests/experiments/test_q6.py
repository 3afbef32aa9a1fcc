"""q6 smoke run: ELBO and IW NLL per model (NLL below -ELBO), figures, anchors in answer.md."""

import json

import run


def test_q6_smoke(tmp_path):
  assert run.main(["q6", "--profile", "smoke", "--out", str(tmp_path)]) == 0
  out = tmp_path / "q6_vae"
  metrics = json.loads((out / "metrics.json").read_text())
  assert metrics["_meta"]["profile"] == "smoke" and metrics["iw_samples"] >= 1
  for name in ("mlp_vae", "conv_vae", "vae_2d"):
    m = metrics["models"][name]
    assert 0 < m["test_nll_nats"] < 784 * 0.7 and 0 < m["test_elbo_nats"] < 784 * 0.7, name
    # on the same images the importance-weighted estimate is a tighter bound than the ELBO
    assert m["test_nll_nats"] <= m["nll_subset_elbo_nats"] + 1e-3, name
  nll = metrics["iw_curve"]["nll_nats"]
  assert nll[-1] <= nll[0] + 1e-3
  answer = (out / "answer.md").read_text()
  assert "86.76" in answer and "nan" not in answer
  for fig in ("samples.png", "manifold.png", "interpolation.png", "latent_2d.png", "training.png"):
    assert (out / fig).exists(), fig
