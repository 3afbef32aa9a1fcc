"""The seed's denoising conv autoencoder: aejax's train step vs PyTorch eager, same CPU, same run.

Model (both sides): Conv 1->16 s2, Conv 16->32 s2, ConvT 32->16 s2, ConvT 16->1 s2, sigmoid;
MSE to the clean image; Adam 1e-3; batch 64; Gaussian input noise 0.1.

- torch: the seed's own loop body (randn noise, zero_grad, forward, the seed's bilinear
  `interpolate` to the output size, MSELoss, backward, Adam step). The seed's torchvision
  DataLoader is replaced by slicing an in-memory float tensor, which only helps PyTorch.
- aejax plain: conv_autoencoder(None) (lax conv / dilated conv_transpose), one jitted step per batch.
- aejax: conv_autoencoder(None, impl="matmul") — the same parameters and the same function with
  aejax.models.layers' Conv / ConvTranspose, whose backward passes run in XLA:CPU's fast layouts
  (tests/models/test_layers.py checks the equivalence) — with `--fuse` steps per call in one jitted
  lax.scan over device-resident uint8 data, the state donated.

All three train on the identical batch sequence, interleaved repeat by repeat; throughput is the
median over repeats, and each reports the denoising test MSE after the same number of samples.

  python benchmarks/seed_step.py [--repeats 7] [--steps 100] [--threads 0] [--out DIR]
"""

import argparse
import json
import os
import pathlib
import sys
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--repeats", type=int, default=7, help="timed repeats per framework (median)")
ap.add_argument("--steps", type=int, default=100, help="train steps per timed repeat")
ap.add_argument("--fuse", type=int, default=50, help="aejax steps per jitted call (divides --steps)")
ap.add_argument("--threads", type=int, default=0, help="intra-op threads for both (0: library default)")
ap.add_argument("--dataset", default="mnist")
ap.add_argument("--out", default=None, help="write seed_step.json here")
args = ap.parse_args()
if args.threads == 1:  # before jax is imported; XLA reads the flags once
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402
import torch.nn as tnn  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from aejax import data, losses, parallel  # noqa: E402
from aejax.models.autoencoder import conv_autoencoder  # noqa: E402
from aejax.train import create_train_state, make_train_step  # noqa: E402

BATCH, NOISE, LR, SEED = 64, 0.1, 1e-3, 0


class SeedAutoencoder(tnn.Module):
  """The seed's model, verbatim."""

  def __init__(self):
    super().__init__()
    self.encoder = tnn.Sequential(
        tnn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1), tnn.ReLU(),
        tnn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1), tnn.ReLU())
    self.decoder = tnn.Sequential(
        tnn.ConvTranspose2d(32, 16, kernel_size=3, stride=2, padding=1, output_padding=1), tnn.ReLU(),
        tnn.ConvTranspose2d(16, 1, kernel_size=3, stride=2, padding=1, output_padding=1), tnn.Sigmoid())

  def forward(self, x):
    return self.decoder(self.encoder(x))


class TorchRunner:
  name = "pytorch eager"

  def __init__(self, train_images):
    torch.manual_seed(SEED)
    self.x = torch.from_numpy(train_images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
    self.model = SeedAutoencoder()
    self.criterion = tnn.MSELoss()
    self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)

  def train(self, idx):  # idx [steps, B]: the seed's loop body per batch
    model, optimizer, criterion = self.model, self.optimizer, self.criterion
    for rows in torch.from_numpy(idx):
      data0 = self.x[rows]
      noisy_images, clean_images = data0 + NOISE * torch.randn(data0.shape), data0
      optimizer.zero_grad()
      outputs = model(noisy_images)
      clean_images_resized = tnn.functional.interpolate(clean_images, size=outputs.shape[2:],
                                                        mode="bilinear", align_corners=False)
      loss = criterion(outputs, clean_images_resized)
      loss.backward()
      optimizer.step()
    return float(loss.item())

  def test_mse(self, noisy, clean):
    with torch.no_grad():
      out = torch.cat([self.model(torch.from_numpy(noisy[i:i + 1000].transpose(0, 3, 1, 2)))
                       for i in range(0, len(noisy), 1000)])
    return float(((out.numpy().transpose(0, 2, 3, 1) - clean) ** 2).mean())


class AejaxRunner:

  def __init__(self, train_images, impl: str, fuse: int):
    self.name = f"aejax {impl}" + (f" (scan x{fuse})" if fuse > 1 else " (jit per step)")
    self.model = conv_autoencoder(None, impl=impl)
    params = self.model.init(jax.random.PRNGKey(SEED), jnp.zeros((1, 28, 28, 1)))
    loss_fn = losses.reconstruction(self.model.apply, kind="mse", noise_std=NOISE)
    self.state = create_train_state(params, optax.adam(LR), SEED)
    step = make_train_step(loss_fn)
    self.arrays = {"image": jax.device_put(train_images)}  # uint8, resident
    self.fuse = fuse
    if fuse > 1:
      self.step = parallel.compile_steps(step)
    else:
      self.step = jax.jit(step, donate_argnums=0)
      self._take = jax.jit(lambda a, i: a[i])
    self._apply = jax.jit(lambda p, x: jax.nn.sigmoid(self.model.apply(p, x)[0]))

  def train(self, idx):
    if self.fuse > 1:
      for chunk in idx.reshape((-1, self.fuse, idx.shape[1])):
        self.state, metrics, _ = self.step(self.state, self.arrays, chunk, self.fuse)
      loss = metrics["loss"][-1]
    else:
      for rows in idx:
        self.state, metrics = self.step(self.state, {"image": self._take(self.arrays["image"], rows)})
      loss = metrics["loss"]
    return float(loss)  # also the sync point that ends the timing

  def test_mse(self, noisy, clean):
    out = np.concatenate([np.asarray(self._apply(self.state.params, noisy[i:i + 1000]))
                          for i in range(0, len(noisy), 1000)])
    return float(((out - clean) ** 2).mean())


def load_avg():
  return [round(x, 2) for x in os.getloadavg()]


def main():
  if args.steps % args.fuse:
    raise SystemExit(f"--fuse {args.fuse} must divide --steps {args.steps}")
  if args.threads:
    torch.set_num_threads(args.threads)
  ds = data.load(args.dataset)
  rng = np.random.default_rng(SEED)
  n = len(ds.train_images)
  total_steps = (args.repeats + 1) * args.steps  # +1: the warm-up repeat (compiles), untimed
  order = np.concatenate([rng.permutation(n) for _ in range(-(-total_steps * BATCH // n))])
  batches = order[:total_steps * BATCH].reshape((args.repeats + 1, args.steps, BATCH)).astype(np.int64)
  clean = ds.test_images.astype(np.float32) / 255.0
  noisy = (clean + NOISE * rng.standard_normal(clean.shape)).astype(np.float32)

  runners = [TorchRunner(ds.train_images), AejaxRunner(ds.train_images, "lax", 1),
             AejaxRunner(ds.train_images, "matmul", args.fuse)]
  init_mse = {r.name: r.test_mse(noisy, clean) for r in runners}
  rates = {r.name: [] for r in runners}
  loads = [load_avg()]
  for rep in range(args.repeats + 1):
    for r in runners:  # interleaved: every repeat times each framework on the same batches
      t0 = time.perf_counter()
      r.train(batches[rep])
      dt = time.perf_counter() - t0
      if rep:
        rates[r.name].append(args.steps * BATCH / dt)
    loads.append(load_avg())
  samples = total_steps * BATCH
  base = runners[0].name
  rows = {}
  for r in runners:
    med = float(np.median(rates[r.name]))
    rows[r.name] = {"samples_per_s": med, "samples_per_s_all": [round(x, 1) for x in rates[r.name]],
                    "ratio_vs_pytorch": med / float(np.median(rates[base])),
                    "test_mse_init": init_mse[r.name], "test_mse": r.test_mse(noisy, clean)}
  result = {
      "benchmark": "seed_step", "dataset": args.dataset, "batch_size": BATCH, "noise_std": NOISE,
      "samples_trained": samples, "steps_per_repeat": args.steps, "repeats": args.repeats,
      "fuse": args.fuse, "threads": args.threads or "default",
      "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "jax": jax.__version__,
      "device": str(jax.devices()[0]), "cpu_count": os.cpu_count(), "load_avg_1_5_15": loads,
      "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "results": rows,
      "ratio": rows[runners[-1].name]["ratio_vs_pytorch"],
  }
  print(f"seed_step: batch {BATCH}, {samples} samples each, median of {args.repeats} interleaved "
        f"repeats x {args.steps} steps, threads={result['threads']}, load {loads[0]} -> {loads[-1]}")
  print(f"{'':28s} {'samples/s':>10s} {'ratio':>6s} {'test MSE init':>14s} {'test MSE':>9s}")
  for name, row in rows.items():
    print(f"{name:28s} {row['samples_per_s']:10.0f} {row['ratio_vs_pytorch']:6.2f} "
          f"{row['test_mse_init']:14.4f} {row['test_mse']:9.4f}")
  if args.out:
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "seed_step.json").write_text(json.dumps(result, indent=1))
  return result


if __name__ == "__main__":
  main()
