"""T trials of one GAN configuration: vectorised in one program vs one after another (and PyTorch eager).

Models (q8's, experiments/q8_gan_difficulties.py):
- q8_2d: MLPGenerator(hidden=(128,)*4, batch_norm=True, init_std=0.02), MLPDiscriminator(hidden=(64,)*3,
  maxout=5, init_std=0.02) (q8's default widths), latent 2, batch 100, on the 2-D grid mixture.
- stacked_dcgan: DCGANGenerator(channels=3, base=16), DCGANDiscriminator(base=16), latent 64, batch 64,
  on random 28x28x3 uint8 images (throughput does not depend on pixel values).
Adam (lr, betas) as benchmarks/gan_step.py for both; non-saturating losses, one D then one G update.

- aejax vectorised: the T states stacked and trainer.TrialStep(step) (jax.vmap over the trials),
  --fuse steps per dispatch in one lax.scan (parallel.compile_steps), as recipes.train_gan(seed=
  (0, ..., T-1), steps_per_dispatch=--fuse) runs it; each trial its own data order (DeviceData with T seeds).
- aejax one after another: the same T trials as T separate states, each with the fused single-trial step.
- aejax lax.map: the stacked states in one program as the vectorised runner, the trials one after
  another inside it (trainer.TrialStep(step, vectorise=False)).
- pytorch eager (when torch is installed): the same networks in PyTorch with the Flax initial weights (outputs
  checked against Flax's first), the usual eager loop, its T trials one after another on the same batches:
  for stacked_dcgan benchmarks/gan_step.py's mirror of the DCGAN, for q8_2d `MLPMirror` below.

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
      "q8_2d": (gan.MLPGenerator(hidden=(128,) * 4, batch_norm=True, init_std=0.02),
                gan.MLPDiscriminator(hidden=(64,) * 3, maxout=5, init_std=0.02),
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


class MLPMirror:
  """q8's 2-D pair in PyTorch with the Flax weights: the generator's hidden layers Linear (no bias) ->
  BatchNorm1d (batch statistics) -> ReLU, then Linear; the discriminator's maxout layers Linear(width * k)
  -> view [B, width, k] -> max over the k pieces, then Linear(1). make(g_params, d_params) -> (G, D)."""

  @staticmethod
  def make(g, d, g_params, d_params):
    import torch
    t = lambda a: torch.from_numpy(np.array(a, np.float32))

    def linear(w, bias=True):
      layer = torch.nn.Linear(*w["kernel"].shape, bias=bias)
      layer.weight.data = t(np.asarray(w["kernel"]).T)
      if bias:
        layer.bias.data = t(w["bias"])
      return layer

    gp, dp = g_params["params"], d_params["params"]
    g_layers = []
    for i in range(len(g.hidden)):
      norm = torch.nn.BatchNorm1d(g.hidden[i], eps=1e-5)
      norm.weight.data, norm.bias.data = t(gp[f"BatchNorm_{i}"]["scale"]), t(gp[f"BatchNorm_{i}"]["bias"])
      g_layers += [linear(gp[f"Dense_{i}"], bias=False), norm, torch.nn.ReLU()]
    generator = torch.nn.Sequential(*g_layers, linear(gp[f"Dense_{len(g.hidden)}"]))

    class Maxout(torch.nn.Module):
      def __init__(self, w, width):
        super().__init__()
        self.layer, self.width = linear(w), width

      def forward(self, h):
        return self.layer(h).view(h.shape[0], self.width, -1).max(-1).values

    discriminator = torch.nn.Sequential(*[Maxout(dp[f"Dense_{i}"], w) for i, w in enumerate(d.hidden)],
                                        linear(dp[f"Dense_{len(d.hidden)}"]), torch.nn.Flatten(0))
    return generator, discriminator


class TorchMLPRunner:
  """One trial of q8's 2-D GAN in PyTorch eager: D then G, non-saturating BCE, Adam (LR, BETAS), fresh z each."""

  def __init__(self, g, d, g_params, d_params, x, latent):
    import torch
    self.torch, self.latent = torch, latent
    self.g, self.d = MLPMirror.make(g, d, g_params, d_params)
    z, pts = np.array(jax.random.normal(jax.random.PRNGKey(1), (100, latent))), np.array(x[:100], np.float32)
    with torch.no_grad():
      common.check_mirror("generator", self.g(torch.from_numpy(z)), g.apply(g_params, z))
      common.check_mirror("discriminator", self.d(torch.from_numpy(pts)), d.apply(d_params, pts))
    self.x = torch.from_numpy(np.asarray(x, np.float32))
    self.g_opt = torch.optim.Adam(self.g.parameters(), lr=LR, betas=BETAS)
    self.d_opt = torch.optim.Adam(self.d.parameters(), lr=LR, betas=BETAS)

  def train(self, idx):
    torch, bce = self.torch, self.torch.nn.functional.binary_cross_entropy_with_logits
    for rows in torch.from_numpy(idx):
      real, fake = self.x[rows], self.g(torch.randn(len(rows), self.latent))
      self.d_opt.zero_grad()
      real_logits, fake_logits = self.d(real), self.d(fake.detach())
      (bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))).backward()
      self.d_opt.step()
      self.g_opt.zero_grad()
      logits = self.d(self.g(torch.randn(len(rows), self.latent)))
      g_loss = bce(logits, torch.ones_like(logits))
      g_loss.backward()
      self.g_opt.step()
    return float(g_loss.item())


class TorchTrials:
  name = "pytorch eager one after another"

  def __init__(self, g, d, params, x, batch, latent, image_output):
    if image_output:
      import gan_step  # its PyTorch mirror of the DCGAN, checked against the Flax modules
      self.runners = [gan_step.TorchRunner(g, d, *p, x) for p in params]
    else:
      self.runners = [TorchMLPRunner(g, d, *p, x, latent) for p in params]
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
  if torch:
    runners.append(TorchTrials(g, d, params, x, batch, latent, image_output))
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
