"""Samples per second of each library train step at batch 64 and 512, on whatever backend runs.

Each step is the library's (model + loss + make_train_step / make_gan_step), jitted with the state
donated, one call per batch (as aejax.trainer.fit runs it); the batch is resident on the device.
DCGAN counts one D and one G update per step.

  python benchmarks/steps.py [--models mlp_ae,conv_ae,...] [--batches 64,512] [--seconds 1] [--out DIR]
"""

import argparse
import pathlib
import sys

import jax

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--models", default=",".join(common.MODELS))
  ap.add_argument("--batches", default="64,512")
  ap.add_argument("--seconds", type=float, default=1.0, help="target length of one timed repeat")
  ap.add_argument("--repeats", type=int, default=3)
  ap.add_argument("--out", default=None, help="write steps.json here")
  args = ap.parse_args(argv)
  rows = []
  for name in args.models.split(","):
    for b in map(int, args.batches.split(",")):
      state, step, batch = common.build(name, b)
      step = jax.jit(step, donate_argnums=0)
      batch = jax.device_put(batch)
      sec, _ = common.time_calls(step, state, (batch,), args.seconds, args.repeats)
      rows.append({"model": name, "batch": b, "ms_per_step": sec * 1e3, "samples_per_s": b / sec})
      print(f"  {name} batch {b}: {sec * 1e3:.2f} ms/step, {b / sec:.0f} samples/s", flush=True)
  result = {"benchmark": "steps", **common.machine(), "rows": rows}
  print(f"\nsteps on {result['backend']} ({result['device']}), load {result['load_avg']}")
  print(common.table(rows, ["model", "batch", "ms_per_step", "samples_per_s"]))
  common.write(args.out, "steps.json", result)
  return result


if __name__ == "__main__":
  main()
