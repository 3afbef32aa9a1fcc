"""The DCGAN step (one D then one G update, batch 64): aejax vs PyTorch eager, same CPU, same process.

Models: aejax.models.gan's DCGANGenerator / DCGANDiscriminator at each --bases width, read at run
time (the Flax modules' calls are recorded in order) and mirrored layer for layer in PyTorch:
Linear, LayerNorm / BatchNorm (training mode: batch statistics) where gan.py has them,
ConvTranspose2d(4, 2, padding=1), Conv2d(4, 2, padding=1), ReLU in the generator, LeakyReLU(0.2)
in the discriminator. The PyTorch copies get the Flax initial weights, and their outputs are
checked against Flax's before anything is timed, so both sides compute the same function from the
same start. Losses: non-saturating BCE (aejax.losses.gan_nonsaturating); Adam 2e-4, betas (0.5,
0.999) for both networks; a fresh z for each update, as aejax's step draws them.

- pytorch eager: the usual loop (zero_grad, forward, BCE with logits, backward, step), batches
  sliced from an in-memory float tensor; torch threads = the core count (or --threads).
- aejax flax convs: the same step with nn.Conv / nn.ConvTranspose, one jitted step per batch.
- aejax: the library's DCGAN (aejax.models.layers' convolutions), one jitted step per batch as
  `fit` runs it on a CPU (parallel.compile_step; batches gathered from the resident uint8 data).
- aejax (scan xK): the same, K steps per dispatch in one lax.scan (parallel.compile_steps, as
  `fit` with steps_per_dispatch=K).

Every runner trains on the same batch sequence; repeats are interleaved, each runner first in turn,
and the median is reported, with every repeat's figure and the load average in the JSON.

  python benchmarks/gan_step.py [--bases 32,64] [--repeats 7] [--steps 40] [--fuse 20] [--threads 0] [--out DIR]

--threads 1 with `taskset -c 0` compares one core each: the comparison that stays fair when other
processes share the CPU (PyTorch's threads spin-wait for each other when a core is taken away).
"""

import argparse
import os
import pathlib
import platform
import sys
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--bases", default="32,64")
ap.add_argument("--repeats", type=int, default=7, help="timed repeats per runner (median)")
ap.add_argument("--steps", type=int, default=40, help="steps per timed repeat")
ap.add_argument("--fuse", type=int, default=20, help="steps per dispatch of the scan runner (divides --steps)")
ap.add_argument("--threads", type=int, default=0, help="intra-op threads for both (0: torch the core count, "
                "XLA its default)")
ap.add_argument("--out", default=None, help="write gan_step.json here")
args = ap.parse_args() if __name__ == "__main__" else ap.parse_args([])
if args.threads == 1:  # before jax is imported; XLA reads the flags once
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402
from aejax import losses, parallel  # noqa: E402
from aejax.models import gan, layers  # noqa: E402
from aejax.train import create_adam_gan_state, make_gan_step  # noqa: E402
from aejax.trainer import DeviceData  # noqa: E402

BATCH, LATENT, LR, BETAS, SEED = 64, 64, 2e-4, (0.5, 0.999), 0


def cpu_model() -> str:
  try:
    return next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
  except (OSError, StopIteration):
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
  try:
    flags = next(l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags"))
  except (OSError, StopIteration):
    return []
  return sorted(f for f in flags if f.startswith(("avx", "fma", "amx")))


# --- PyTorch mirror, built from the Flax modules' recorded calls ---------------------------------


def recorded_calls(module, params, *inputs):
  """[(submodule, input shape, output shape)] of each direct child's __call__, in call order."""
  calls = []

  def record(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if context.method_name == "__call__" and len(context.module.scope.path) == 1:
      calls.append((context.module, args[0].shape, out.shape))
    return out

  with nn.intercept_methods(record):
    module.apply(params, *inputs)
  return calls


def _t(a):
  return torch.from_numpy(np.ascontiguousarray(np.asarray(a, np.float32)))


class Mirror(torch.nn.Module):
  """A DCGAN network in PyTorch (NCHW), layer for layer as the recorded Flax calls, with their weights.

  Dense -> Linear; LayerNorm -> LayerNorm over the same axis (for an image: each pixel over its
  channels); gan.BatchNorm -> BatchNorm in training mode (batch statistics); ConvTranspose 4x4 s2
  SAME -> ConvTranspose2d(4, 2, padding=1), kernel flipped; Conv 4x4 s2 SAME -> Conv2d(4, 2,
  padding=1). Activations as gan.py: ReLU after each norm (generator), LeakyReLU(0.2) after each
  conv, or after the norm that follows it (discriminator). Flax flattens NHWC as (h, w, c), PyTorch NCHW as (c, h, w), so the Linear
  weights next to a reshape are permuted instead and PyTorch keeps its natural layout.
  """

  def __init__(self, calls, params, kind: str):
    super().__init__()
    self.kind, self.ops = kind, []
    activation = "relu" if kind == "g" else "leaky_relu"  # after each norm, or a discriminator conv without one
    rank, order = (2 if kind == "g" else 4), None  # order: flat features (h, w, c) -> (c, h, w)
    for i, (m, shape_in, _) in enumerate(calls):
      w = {k: np.asarray(v) for k, v in params["params"][m.name].items()}
      if len(shape_in) != rank:
        self.ops.append(("to_image", _chw(shape_in)) if rank == 2 else ("flatten", None))
        rank, order = len(shape_in), None
      if isinstance(m, nn.Dense):
        kernel, bias = w["kernel"], w["bias"]
        if i and len(calls[i - 1][2]) == 4:  # input flattened from an image
          kernel = kernel[_hwc_to_chw(calls[i - 1][2])]
        later = [c[1] for c in calls[i + 1:] if len(c[1]) == 4]
        if later and np.prod(later[0][1:]) == kernel.shape[1]:
          order = _hwc_to_chw(later[0])  # the output is reshaped to this image later
          kernel, bias = kernel[:, order], bias[order]
        layer = torch.nn.Linear(*kernel.shape)
        layer.weight.data, layer.bias.data = _t(kernel.T), _t(bias)
        self.ops.append(("layer", layer))
      elif isinstance(m, (nn.LayerNorm, gan.BatchNorm)):
        scale, bias = w["scale"], w["bias"]
        if order is not None and rank == 2:
          scale, bias = scale[order], bias[order]
        if isinstance(m, nn.LayerNorm):
          layer = torch.nn.LayerNorm(shape_in[-1], eps=m.epsilon)
        else:
          layer = (torch.nn.BatchNorm2d if rank == 4 else torch.nn.BatchNorm1d)(shape_in[-1], eps=m.epsilon)
        layer.weight.data, layer.bias.data = _t(scale), _t(bias)
        per_pixel = rank == 4 and isinstance(m, nn.LayerNorm)
        self.ops += [("per_pixel" if per_pixel else "layer", layer), (activation, None)]
      elif isinstance(m, (nn.ConvTranspose, layers.ConvTranspose)):
        _check_conv(m)
        kernel = w["kernel"]  # [4, 4, I, O], not flipped -> PyTorch's [I, O, 4, 4], flipped
        layer = torch.nn.ConvTranspose2d(kernel.shape[2], kernel.shape[3], 4, 2, padding=1)
        layer.weight.data, layer.bias.data = _t(kernel[::-1, ::-1].transpose(2, 3, 0, 1)), _t(w["bias"])
        self.ops.append(("layer", layer))
      elif isinstance(m, (nn.Conv, layers.Conv)):
        _check_conv(m)
        kernel = w["kernel"]  # [4, 4, I, O] -> [O, I, 4, 4]
        layer = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], 4, 2, padding=1)
        layer.weight.data, layer.bias.data = _t(kernel.transpose(3, 2, 0, 1)), _t(w["bias"])
        self.ops.append(("layer", layer))
        if i + 1 == len(calls) or not isinstance(calls[i + 1][0], (nn.LayerNorm, gan.BatchNorm)):
          self.ops.append((activation, None))
      else:
        raise NotImplementedError(f"no PyTorch mirror for {type(m).__name__} ({m.name})")
    self.layers = torch.nn.ModuleList([layer for op, layer in self.ops if isinstance(layer, torch.nn.Module)])

  def forward(self, h):
    if self.kind == "d":
      h = 2 * h - 1
    for op, arg in self.ops:
      if op == "layer":
        h = arg(h)
      elif op == "per_pixel":  # a LayerNorm over the channels of each pixel
        h = arg(h.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
      elif op == "relu":
        h = F.relu(h)
      elif op == "leaky_relu":
        h = F.leaky_relu(h, 0.2)
      elif op == "to_image":
        h = h.view(h.shape[0], *arg)
      elif op == "flatten":
        h = h.flatten(1)
    return h[:, 0] if self.kind == "d" else h


def _chw(nhwc):
  return nhwc[3], nhwc[1], nhwc[2]


def _hwc_to_chw(nhwc):
  """Indices that reorder features flattened as (h, w, c) into (c, h, w)."""
  _, h, w, c = nhwc
  return np.arange(h * w * c).reshape((h, w, c)).transpose(2, 0, 1).ravel()


def _check_conv(m):
  if tuple(m.kernel_size) != (4, 4) or tuple(m.strides) != (2, 2) or m.padding != "SAME":
    raise NotImplementedError(f"the mirror knows 4x4 stride-2 SAME convolutions, not {m}")


class TorchRunner:
  name = "pytorch eager"

  def __init__(self, g, d, g_params, d_params, images):
    torch.manual_seed(SEED)
    z = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (8, LATENT)))
    x = images[:8].astype(np.float32) / 255.0
    self.g = Mirror(recorded_calls(g, g_params, z), g_params, "g")
    self.d = Mirror(recorded_calls(d, d_params, x), d_params, "d")
    self._check(g, d, g_params, d_params, z, x)
    self.x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
    self.g_opt = torch.optim.Adam(self.g.parameters(), lr=LR, betas=BETAS)
    self.d_opt = torch.optim.Adam(self.d.parameters(), lr=LR, betas=BETAS)

  def _check(self, g, d, g_params, d_params, z, x):
    """The mirror computes Flax's function: outputs agree to float32 rounding (else it is not a mirror)."""
    with torch.no_grad():
      g_out = self.g(torch.from_numpy(z)).numpy().transpose(0, 2, 3, 1)
      d_out = self.d(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
    common.check_mirror("generator", g_out, g.apply(g_params, z))
    common.check_mirror("discriminator", d_out, d.apply(d_params, x))

  def train(self, idx):
    bce = F.binary_cross_entropy_with_logits
    for rows in torch.from_numpy(idx):
      real = self.x[rows]
      fake = torch.sigmoid(self.g(torch.randn(len(rows), LATENT)))
      self.d_opt.zero_grad()
      real_logits, fake_logits = self.d(real), self.d(fake.detach())
      d_loss = (bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits)))
      d_loss.backward()
      self.d_opt.step()
      self.g_opt.zero_grad()
      logits = self.d(torch.sigmoid(self.g(torch.randn(len(rows), LATENT))))
      g_loss = bce(logits, torch.ones_like(logits))
      g_loss.backward()
      self.g_opt.step()
    return float(g_loss.item())


class AejaxRunner:

  def __init__(self, g, d, g_params, d_params, images, fuse: int, name: str):
    self.name = name + (f" (scan x{fuse})" if fuse > 1 else "")
    self.fuse = fuse
    d_loss, g_loss = losses.gan_nonsaturating(g.apply, d.apply, LATENT)
    self.step_fn = make_gan_step(d_loss, g_loss)
    copy = lambda t: jax.tree.map(jnp.array, t)  # the compiled steps donate their state
    self.state = create_adam_gan_state(copy(g_params), copy(d_params), SEED, LR, *BETAS)
    self.data = DeviceData({"image": images}, BATCH, SEED, "jit")
    self.step = parallel.compile_step(self.step_fn, "jit")
    self.steps = parallel.compile_steps(self.step_fn) if fuse > 1 else None

  def train(self, idx):
    if self.steps is not None:
      for chunk in idx.reshape((-1, self.fuse, idx.shape[1])):
        self.state, metrics, _ = self.steps(self.state, self.data.arrays, chunk, self.fuse)
      loss = metrics["g_loss"][-1]
    else:
      for rows in idx:
        self.state, metrics = self.step(self.state, {"image": _take(self.data.arrays["image"], rows)})
      loss = metrics["g_loss"]
    return float(loss)  # also the sync point that ends the timing


_take = jax.jit(lambda a, i: a[i])


def measure(base: int, images, batches):
  g, d = gan.DCGANGenerator(base=base), gan.DCGANDiscriminator(base=base)
  k_g, k_d = jax.random.split(jax.random.PRNGKey(SEED))
  g_params = g.init(k_g, jnp.zeros((1, LATENT)))
  d_params = d.init(k_d, jnp.zeros((1, 28, 28, 1)))
  flax_g = g.clone(conv_transpose=nn.ConvTranspose)
  flax_d = d.clone(conv=nn.Conv)
  runners = [TorchRunner(g, d, g_params, d_params, images),
             AejaxRunner(flax_g, flax_d, g_params, d_params, images, 1, "aejax flax convs"),
             AejaxRunner(g, d, g_params, d_params, images, 1, "aejax"),
             AejaxRunner(g, d, g_params, d_params, images, args.fuse, "aejax")]
  for r in runners[1:]:  # compile (and warm up) outside the timing
    r.train(batches[0][:args.fuse])
  rates = {r.name: [] for r in runners}
  loads = [common.machine()["load_avg"]]
  for rep in range(args.repeats + 1):
    for r in runners[rep % 4:] + runners[:rep % 4]:  # interleaved, in turn first: the same batches for all
      t0 = time.perf_counter()
      r.train(batches[rep])
      if rep:  # repeat 0 warms up
        rates[r.name].append(args.steps * BATCH / (time.perf_counter() - t0))
    loads.append(common.machine()["load_avg"])
  torch_rate = float(np.median(rates[runners[0].name]))
  rows = []
  for r in runners:
    med = float(np.median(rates[r.name]))
    rows.append({"base": base, "runner": r.name, "samples_per_s": med, "ratio_vs_pytorch": med / torch_rate,
                 "samples_per_s_all": [round(x, 1) for x in rates[r.name]]})
  return rows, loads


def main():
  if args.steps % args.fuse:
    raise SystemExit(f"--fuse {args.fuse} must divide --steps {args.steps}")
  torch.set_num_threads(args.threads or os.cpu_count())
  images = common.images(6400, SEED)
  rng = np.random.default_rng(SEED)
  batches = np.stack([rng.permutation(len(images))[:args.steps * BATCH].reshape((args.steps, BATCH))
                      for _ in range(args.repeats + 1)])
  rows, loads = [], {}
  for base in map(int, args.bases.split(",")):
    base_rows, loads[base] = measure(base, images, batches)
    rows += base_rows
    for row in base_rows:
      print(f"  base {base} {row['runner']:24s} {row['samples_per_s']:8.0f} samples/s  "
            f"{row['ratio_vs_pytorch']:5.2f}x", flush=True)
  result = {"benchmark": "gan_step", "batch_size": BATCH, "latent": LATENT, "steps_per_repeat": args.steps,
            "repeats": args.repeats, "fuse": args.fuse, "threads": args.threads or "default", "cpu": cpu_model(),
            "cpu_flags": cpu_flags(),
            "cpu_count": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            **common.machine(), "load_avg_per_base": loads, "rows": rows}
  print(f"\ngan_step: batch {BATCH}, median of {args.repeats} interleaved repeats x {args.steps} steps; "
        f"{result['cpu']} ({result['cpu_count']} cores; {' '.join(result['cpu_flags'])}); "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), jax {jax.__version__}")
  print(common.table(rows, ["base", "runner", "samples_per_s", "ratio_vs_pytorch"]))
  common.write(args.out, "gan_step.json", result)
  return result


if __name__ == "__main__":
  main()
