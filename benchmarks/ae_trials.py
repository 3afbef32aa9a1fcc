"""An autoencoder's T seeds as trials of one program vs one run after another, through the recipe q1-q4 call
(recipes.train_autoencoder with seed=(0, ..., T-1) vs seed=t for each t), on MNIST-shaped random images.

Models: q3/q4's one-layer MLP autoencoder (784-32-784, ReLU code; vmapped trials) and q1's conv
autoencoder (the seed's 1-16-32 convs) in q1's default form (impl="matmul", aejax.models.layers), its
trials by lax.map and by vmap, and in Flax's form (impl="lax") by lax.map. Each form first runs once
to compile; then the repeats alternate the forms, each first in turn, and the median seconds of
--steps steps of all T trials is reported, with the ratio sequential / trials (above 1: trials faster).

  python benchmarks/ae_trials.py [--trials 3] [--steps 400] [--repeats 3] [--batch 128]
"""

import argparse
import pathlib
import platform
import statistics
import sys
import time

import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from aejax import recipes  # noqa: E402
from aejax.models.autoencoder import conv_autoencoder, mlp_autoencoder  # noqa: E402

MLP = lambda: mlp_autoencoder(32, hidden=(), code_activation="relu")
CONV = lambda impl: lambda: conv_autoencoder(None, features=(16, 32), impl=impl)
# (name, model, vectorise_trials)
MODELS = [("mlp_784_32", MLP, True), ("conv_seed_matmul", CONV("matmul"), False), ("conv_seed_matmul", CONV("matmul"), True),
          ("conv_seed_lax", CONV("lax"), False)]


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--trials", type=int, default=3)
  p.add_argument("--steps", type=int, default=400)
  p.add_argument("--repeats", type=int, default=3)
  p.add_argument("--batch", type=int, default=128)
  a = p.parse_args()
  images = np.random.default_rng(0).integers(0, 256, (6400, 28, 28, 1), dtype=np.uint8)
  seeds = tuple(range(a.trials))
  print(f"# {platform.processor() or platform.machine()}, {jax.device_count()} {jax.default_backend()} device(s), "
        f"jax {jax.__version__}; {a.trials} trials x {a.steps} steps of batch {a.batch}")
  print("| model | trials in one program (s) | one after another (s) | ratio |\n|---|---:|---:|---:|")
  for name, make, vectorise in MODELS:
    model = make()
    train = lambda seed, steps: recipes.train_autoencoder(model, images, steps=steps, batch_size=a.batch, lr=1e-3,
                                                          seed=seed, log_every=steps, vectorise_trials=vectorise)
    forms = {"trials": lambda steps: jax.block_until_ready(train(seeds, steps)[0].params),
             "sequential": lambda steps: [jax.block_until_ready(train(s, steps)[0].params) for s in seeds]}
    for run in forms.values():
      run(2)  # compile
    times = {k: [] for k in forms}
    for r in range(a.repeats):
      for k in (list(forms) if r % 2 == 0 else list(reversed(forms))):
        t0 = time.perf_counter()
        forms[k](a.steps)
        times[k].append(time.perf_counter() - t0)
    t, s = statistics.median(times["trials"]), statistics.median(times["sequential"])
    print(f"| {name} ({'vmap' if vectorise else 'lax.map'}) | {t:.2f} | {s:.2f} | {s / t:.2f} |", flush=True)


if __name__ == "__main__":
  main()
