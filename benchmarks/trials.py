"""T trials of one GAN configuration: vectorised in one program vs one after another (and PyTorch eager).

Models (q8's, experiments/q8_gan_difficulties.py):
- q8_2d: MLPGenerator(hidden=(256,)*4, batch_norm=True, init_std=0.02), MLPDiscriminator(hidden=(128,)*3,
  maxout=5, init_std=0.02), latent 2, batch 100, on the 2-D grid mixture.
- stacked_dcgan: DCGANGenerator(channels=3, base=16), DCGANDiscriminator(base=16), latent 64, batch 64,
  on random 28x28x3 uint8 images (throughput does not depend on pixel values).
Adam (lr, betas) as benchmarks/gan_step.py for both; non-saturating losses, one D then one G update.

- aejax vectorised: the T states stacked and trainer.TrialStep(step) (jax.vmap over the trials),
  --fuse steps per dispatch in one lax.scan (parallel.compile_steps), as recipes.train_gan(seed=
  (0, ..., T-1), steps_per_dispatch=--fuse) runs it; each trial its own data order (DeviceData with T seeds).
- aejax one after another: the same T trials as T separate states, each with the fused single-trial step.
- aejax lax.map: the stacked states in one program as the vectorised runner, the trials one after
  another inside it (trainer.TrialStep(step, vectorise=False)).
- pytorch eager (stacked_dcgan, when torch is installed): benchmarks/gan_step.py's mirror of the DCGAN,
  its T trials one after another on the same batches. q8_2d has no PyTorch mirror (maxout layers).

Each repeat trains every trial --steps steps; repeats are interleaved, each runner first in turn; the
median is reported as trial-steps per second, with ratios to the vectorised runner.

  python benchmarks/trials.py [--models q8_2d,stacked_dcgan] [--trials 3] [--repeats 5] [--steps 40] [--fuse 20] [--out DIR]
"""

import argparse
import os
import pathlib
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402
from aejax import data, losses, parallel, recipes, trainer  # noqa: E402
from aejax.models import gan  # noqa: E402
from aejax.train import create_adam_gan_state, make_gan_step  # noqa: E402

LR, BETAS = 2e-4, (0.5, 0.999)  # gan_step.py's


def models():
  """name -> (generator, discriminator, training data, latent, batch, image_output)."""
  images = np.random.default_rng(0).integers(0, 256, (6400, 28, 28, 3), dtype=np.uint8)
  return {
      "q8_2d": (gan.MLPGenerator(hidden=(256,) * 4, batch_norm=True, init_std=0.02),
                gan.MLPDiscriminator(hidden=(128,) * 3, maxout=5, init_std=0.02),
                data.mixture("grid", 10000, seed=0)[0], 2, 100, False),
      "stacked_dcgan": (gan.DCGANGenerator(channels=3, base=16), gan.DCGANDiscriminator(base=16), images, 64, 64, True),
  }


def initial(g, d, x, latent, seed):
  """(g_params, d_params) as recipes.train_gan initialises them from `seed`."""
  k_g, k_d = jax.random.split(jax.random.PRNGKey(seed))
  return recipes.init(g, k_g, jnp.zeros((1, latent))), recipes.init(d, k_d, jnp.zeros((1, *x.shape[1:]), jnp.float32))


class Vectorised:

  def __init__(self, step, params, x, batch, fuse, vectorise=True):
    self.name = "aejax vectorised" if vectorise else "aejax lax.map (one program)"
    self.fuse = fuse
    self.state = trainer.stack_trials([create_adam_gan_state(*p, s, LR, *BETAS) for s, p in enumerate(params)])
    self.data = trainer.DeviceData({"image": x}, batch, tuple(range(len(params))), "jit")
    self.run = parallel.compile_steps(trainer.TrialStep(step, vectorise))

  def train(self, start, steps):
    for s in range(start, start + steps, self.fuse):
      idx = np.stack([self.data.indices(s + k) for k in range(self.fuse)])  # [K, T, B]
      self.state, metrics, _ = self.run(self.state, self.data.arrays, idx, self.fuse)
    return float(metrics["g_loss"][-1].sum())  # the sync point that ends the timing


class OneAfterAnother:
  name = "aejax one after another"

  def __init__(self, step, params, x, batch, fuse):
    self.fuse = fuse
    self.states = [create_adam_gan_state(*p, s, LR, *BETAS) for s, p in enumerate(params)]
    self.data = [trainer.DeviceData({"image": x}, batch, s, "jit") for s in range(len(params))]
    self.run = parallel.compile_steps(step)

  def train(self, start, steps):
    for t in range(len(self.states)):
      for s in range(start, start + steps, self.fuse):
        idx = np.stack([self.data[t].indices(s + k) for k in range(self.fuse)])
        self.states[t], metrics, _ = self.run(self.states[t], self.data[t].arrays, idx, self.fuse)
      loss = float(metrics["g_loss"][-1])  # each trial finishes before the next starts, as separate runs do
    return loss


class TorchTrials:
  name = "pytorch eager one after another"

  def __init__(self, g, d, params, x, batch):
    import gan_step  # its PyTorch mirror of the DCGAN, checked against the Flax modules
    self.runners = [gan_step.TorchRunner(g, d, *p, x) for p in params]
    self.data = [trainer.DeviceData({"image": x}, batch, s, "jit") for s in range(len(params))]

  def train(self, start, steps):
    for runner, trial_data in zip(self.runners, self.data):
      loss = runner.train(np.stack([trial_data.indices(s) for s in range(start, start + steps)]))
    return loss


def cpu() -> str:
  try:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    return next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name"))
  except (OSError, StopIteration, subprocess.SubprocessError):
    return "unknown"


def measure(name, args, torch):
  g, d, x, latent, batch, image_output = models()[name]
  params = [initial(g, d, x, latent, s) for s in range(args.trials)]
  copy = lambda: [jax.tree.map(jnp.array, p) for p in params]  # the compiled steps donate their states
  step = make_gan_step(*losses.gan_nonsaturating(g.apply, d.apply, latent, image_output=image_output))
  runners = [Vectorised(step, copy(), x, batch, args.fuse), OneAfterAnother(step, copy(), x, batch, args.fuse),
             Vectorised(step, copy(), x, batch, args.fuse, vectorise=False)]
  if torch and name == "stacked_dcgan":
    runners.append(TorchTrials(g, d, params, x, batch))
  t0 = time.perf_counter()
  for r in runners[:3]:  # compile (and warm up) outside the timing
    r.train(0, args.fuse)
  compile_s = time.perf_counter() - t0
  seconds = {r.name: [] for r in runners}
  loads = [os.getloadavg()[0]]
  for rep in range(args.repeats + 1):
    k = rep % len(runners)
    for r in runners[k:] + runners[:k]:  # interleaved, each first in turn; the same batches for all
      t0 = time.perf_counter()
      r.train(args.fuse + rep * args.steps, args.steps)
      if rep:  # repeat 0 warms up
        seconds[r.name].append(time.perf_counter() - t0)
    loads.append(os.getloadavg()[0])
  base = float(np.median(seconds[runners[0].name]))
  rows = []
  for r in runners:
    med = float(np.median(seconds[r.name]))
    rows.append({"model": name, "runner": r.name, "trial_steps_per_s": args.trials * args.steps / med,
                 "time_vs_vectorised": med / base, "seconds_all": [round(s, 3) for s in seconds[r.name]]})
  return rows, {"compile_and_warm_s": round(compile_s, 1), "load_avg_1min": [round(l, 2) for l in loads]}


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--models", default="q8_2d,stacked_dcgan")
  ap.add_argument("--trials", type=int, default=3)
  ap.add_argument("--repeats", type=int, default=5, help="timed repeats per runner (median)")
  ap.add_argument("--steps", type=int, default=40, help="steps per trial per timed repeat")
  ap.add_argument("--fuse", type=int, default=20, help="steps per dispatch (divides --steps)")
  ap.add_argument("--out", default=None, help="write trials.json here")
  args = ap.parse_args()
  if args.steps % args.fuse:
    raise SystemExit(f"--fuse {args.fuse} must divide --steps {args.steps}")
  try:
    import torch
    torch.set_num_threads(os.cpu_count())
  except ImportError:
    torch = None
  print(f"CPU: {cpu()} ({os.cpu_count()} cores), load average {os.getloadavg()}; jax {jax.__version__}"
        + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ", torch not installed"),
        flush=True)
  rows, extra = [], {}
  for name in args.models.split(","):
    model_rows, extra[name] = measure(name, args, torch)
    rows += model_rows
    for row in model_rows:
      print(f"  {name:14s} {row['runner']:32s} {row['trial_steps_per_s']:8.1f} trial-steps/s  "
            f"{row['time_vs_vectorised']:5.2f}x the vectorised time", flush=True)
    print(f"  {name}: {extra[name]}", flush=True)
  print(f"\ntrials: T={args.trials}, median of {args.repeats} interleaved repeats x {args.steps} steps per trial, "
        f"{args.fuse} steps per dispatch")
  print(common.table(rows, ["model", "runner", "trial_steps_per_s", "time_vs_vectorised"]))
  result = {"benchmark": "trials", "trials": args.trials, "steps_per_repeat": args.steps, "repeats": args.repeats,
            "fuse": args.fuse, "cpu": cpu(), **common.machine(), "torch": torch.__version__ if torch else None,
            "per_model": extra, "rows": rows}
  common.write(args.out, "trials.json", result)
  return result


if __name__ == "__main__":
  main()
