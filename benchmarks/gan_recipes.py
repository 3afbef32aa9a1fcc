"""DCGAN recipes side by side, on MNIST (q7's DCGAN) or Stacked MNIST (q8's): one run per candidate, measured at
checkpoints by the share of samples the pretrained classifier reads confidently (max softmax >= 0.9; on Stacked
MNIST all three channels, aejax.evaluation.modes.stacked_mnist_modes) and by the Frechet distance in the
classifier's features (MNIST) or the confident modes (Stacked MNIST); wall seconds per candidate on this machine.

A candidate is comma-separated key=value settings over a base recipe (BASE):
  g_base, d_base: the networks' widths; d_bn: batch norm in D (0/1); lr, d_lr (default lr), beta1;
  steps, batch; g_steps: G updates per step; r1: the R1 penalty's weight; hinge: the hinge loss (0/1);
  d_sn: spectral normalisation of D's kernels (0/1); g_fc, d_fc: the width of a fully connected hidden layer
  in G (before its 7x7 projection) and in D (before its logit), 0 for none; d_std: D's minibatch-std feature (0/1).
Adam cosine-decayed to 0; the averaged generator is sampled (train.default_average_decay).

  python benchmarks/gan_recipes.py --data mnist --candidates "lr=1e-3;lr=2e-4,beta1=0.5;g_base=64" [--evals 3]
"""

import argparse
import json
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from aejax import data, recipes  # noqa: E402
from aejax.evaluation import classifier, fd, modes  # noqa: E402
from aejax.models import gan  # noqa: E402

LATENT = 64
COMMON = dict(d_bn=1, d_lr=0.0, beta1=0.5, steps=3000, g_steps=1, r1=0.0, hinge=0, d_sn=0, g_fc=0, d_fc=0, d_std=0)
# mnist: q7's DCGAN as the search began, with batch norm in D (q7 has since trained D without it: d_bn=0)
BASE = {"mnist": dict(COMMON, g_base=32, d_base=32, lr=1e-3, batch=128),
        "stacked": dict(COMMON, g_base=16, d_base=16, lr=5e-4, batch=64)}


def parse(spec, base):
  c = dict(base)
  for item in filter(None, spec.split(",")):
    k, v = item.split("=")
    if k not in c:
      raise SystemExit(f"unknown setting {k!r}; known: {', '.join(c)}")
    c[k] = type(c[k])(float(v)) if isinstance(c[k], int) else float(v)
  return c


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--data", choices=tuple(BASE), default="mnist")
  p.add_argument("--candidates", required=True, help="';'-separated candidates; '' is the base recipe")
  p.add_argument("--evals", type=int, default=3)
  p.add_argument("--samples", type=int, default=2000)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--out", default=None)
  a = p.parse_args()
  ds, clf = data.load("mnist", download=True), classifier.pretrained("mnist")
  stacked = a.data == "stacked"
  train_x = data.stacked_mnist(ds.train_images, ds.train_labels, 50000, seed=0)[0] if stacked else ds.train_images
  ref = clf.features(ds.test_images[:a.samples])
  rows = []
  for spec in a.candidates.split(";"):
    c = parse(spec, BASE[a.data])
    g = gan.DCGANGenerator(channels=3 if stacked else 1, base=c["g_base"], hidden=c["g_fc"])
    d = gan.DCGANDiscriminator(base=c["d_base"], batch_norm=bool(c["d_bn"]), spectral_norm=bool(c["d_sn"]),
                               hidden=c["d_fc"], batch_std=bool(c["d_std"]))

    def eval_fn(state):
      x = gan.generate(g.apply, state.average["g"], a.samples, LATENT, 30_000)
      if stacked:
        m = modes.stacked_mnist_modes(clf.logits, x)
        return {"confident_pct": m["confident_pct"], "confident_modes": m["confident_modes"]}
      probs = modes.channel_probs(clf.logits, x)
      return {"confident_pct": float(100 * np.mean(probs.max(-1) >= 0.9)), "fd": fd.frechet_distance(clf.features(x), ref)}

    opts = recipes.GANOptions(latent=LATENT, steps=c["steps"], batch_size=c["batch"], lr=c["lr"], beta1=c["beta1"],
                              d_lr=c["d_lr"] or None, g_steps=c["g_steps"], r1=c["r1"], hinge=bool(c["hinge"]),
                              decay_steps=c["steps"], alpha=0.0)
    t0 = time.perf_counter()
    _, history = recipes.train_gan(g, d, train_x, opts, seed=a.seed, log_every=c["steps"] // a.evals, eval_fn=eval_fn,
                                   steps_per_dispatch=50)
    keys = ("step", "confident_pct", "confident_modes" if stacked else "fd", "d_loss", "g_loss")
    row = {"spec": spec, "seconds": round(time.perf_counter() - t0, 1),
           "curve": [{k: round(h[k], 3) for k in keys} for h in history if "confident_pct" in h]}
    rows.append(row)
    print(json.dumps(row), flush=True)
  if a.out:
    pathlib.Path(a.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
  main()
