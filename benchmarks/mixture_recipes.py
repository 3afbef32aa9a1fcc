"""q8's 2-D GANs (PacGAN's architecture) under candidate recipes, trained and counted by q8's own code
(experiments/q8_gan_difficulties.py, train_mixture_gan): each candidate trains the q8 default's trials (seeds 0, 1,
2) side by side in one program on one draw of the mixture, and reports each trial's modes and high-quality share
(VEEGAN's rule) of the averaged generator's fresh samples at the end, its curve at q8's eight checkpoints, and the
wall seconds.

A candidate is a JSON object: "method" (gan or pacgan2) and any of q8's `--set` settings over its default
profile (mix.g_width, mix.d_width, mix.steps, mix.lr, mix.d_lr, mix.beta1, mix.batch, ...).

  python benchmarks/mixture_recipes.py '{"method": "pacgan2", "mix.beta1": 0.5}' [...] [--mixture grid]
"""

import argparse
import json
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from aejax import experiment  # noqa: E402
from experiments import q8_gan_difficulties as q8  # noqa: E402


def main():
  p = argparse.ArgumentParser()
  p.add_argument("candidates", nargs="+", help="JSON objects: method and q8 settings")
  p.add_argument("--mixture", choices=("grid", "ring"), default="grid")
  a = p.parse_args()
  for spec in a.candidates:
    settings = json.loads(spec)
    method = settings.pop("method")
    cfg = experiment.prepare(q8, "default", [f"{k}={v}" for k, v in settings.items()])
    t0 = time.time()
    trials = q8.train_mixture_gan(a.mixture, method, cfg, *q8.mixture_gan(method, cfg))
    final = [(row["modes"], round(row["hq_pct"], 2)) for row, _, _, _ in trials]
    curve = [(h["step"], [t[2][i]["modes"] for t in trials], [round(t[2][i]["hq_pct"], 1) for t in trials])
             for i, h in enumerate(trials[0][2]) if "modes" in h]
    print(json.dumps({"method": method, **settings, "final": final, "curve": curve, "s": round(time.time() - t0)}),
          flush=True)


if __name__ == "__main__":
  main()
