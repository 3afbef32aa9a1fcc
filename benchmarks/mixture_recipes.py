"""q8's 2-D GANs (PacGAN's architecture) under candidate recipes: each candidate trains 3 trials (seeds 0, 1, 2)
side by side in one program (recipes.train_gan with a sequence of seeds, 50 steps fused per dispatch) on one
draw of the mixture, and reports each trial's modes and high-quality share (VEEGAN's rule, aejax.evaluation.modes)
of 2500 samples of its averaged generator at four checkpoints and at the end, and the wall seconds.

A candidate is a JSON object over today's q8 recipe (BASE): method (gan or pacgan2), gw / dw (the networks'
widths), steps, lr, d_lr (default lr), beta1, alpha (the cosine decay's floor), batch (packs).

  python benchmarks/mixture_recipes.py '{"method": "pacgan2", "gw": 128, "dw": 64, "steps": 40000}' [...] [--mixture grid]
"""

import argparse
import json
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from aejax import data, recipes, trainer  # noqa: E402
from aejax.evaluation import modes  # noqa: E402
from aejax.models import gan  # noqa: E402

BASE = dict(method="gan", gw=256, dw=128, steps=20000, lr=1e-3, d_lr=None, beta1=0.5, alpha=0.01, batch=100)
SEEDS, SAMPLES = (0, 1, 2), 2500


def run(points, centers, std, method, gw, dw, steps, lr, d_lr, beta1, alpha, batch):
  pack = {"gan": 1, "pacgan2": 2}[method]
  g = gan.MLPGenerator(hidden=(gw,) * 4, batch_norm=True, init_std=0.02)
  d = gan.MLPDiscriminator(hidden=(dw,) * 3, maxout=5, init_std=0.02)

  def count(params, seed):
    m = modes.mixture_modes(gan.generate(g.apply, params, SAMPLES, 2, seed, image_output=False), centers, std)
    return m["modes"], m["hq_pct"]

  def eval_fn(state):
    rows = [count(trainer.take_trial(state.average["g"], t), 10_000 + t) for t in SEEDS]
    return {"modes": np.array([r[0] for r in rows]), "hq_pct": np.array([r[1] for r in rows])}

  opts = recipes.GANOptions(latent=2, steps=steps, batch_size=batch * pack, lr=lr, d_lr=d_lr, beta1=beta1,
                            decay_steps=steps, alpha=alpha, pack=pack, image_output=False)
  t0 = time.time()
  state, history = recipes.train_gan(g, d, points, opts, seed=SEEDS, log_every=steps // 4, eval_fn=eval_fn,
                                     steps_per_dispatch=50)
  final = [count(trainer.take_trial(state.average["g"], t), 20_000 + t) for t in SEEDS]
  curve = [(h["step"], [h[f"modes/trial{t}"] for t in SEEDS], [round(h[f"hq_pct/trial{t}"], 1) for t in SEEDS])
           for h in history if "modes" in h]
  return {"final": final, "curve": curve, "s": round(time.time() - t0)}


def main():
  p = argparse.ArgumentParser()
  p.add_argument("candidates", nargs="+", help="JSON objects over BASE")
  p.add_argument("--mixture", choices=("grid", "ring"), default="grid")
  a = p.parse_args()
  points, centers, std = data.mixture(a.mixture, 100000, 0)
  for spec in a.candidates:
    kw = {**BASE, **json.loads(spec)}
    print(json.dumps({"candidate": kw, **run(points, centers, std, **kw)}), flush=True)


if __name__ == "__main__":
  main()
