"""The pmapped step on 1, 2, 4 forced CPU devices (correctness, overhead); on a GPU, throughput vs roofline.

CPU (default): for each device count n a child process runs with
`--xla_force_host_platform_device_count=n` and trains the seed's conv autoencoder (no input
noise, so the result is deterministic) with `jax.pmap` over n devices, global batch fixed, for
the same steps from the same init; params after training must equal the 1-device run's (the
pmean of per-device mean gradients is the global mean gradient). Forced devices share the same
2 cores, so time per step measures the overhead of splitting, not a speed-up.

GPU (`--roofline`): for each model of benchmarks/steps.py at each batch, the jitted step's FLOPs
and bytes from XLA's cost_analysis, its measured time, the achieved FLOP/s and the roofline
bound min(peak FLOP/s, bytes/s x FLOPs/byte) for the device (peaks in PEAKS, or --peak-tflops and
--peak-tbs).

  python benchmarks/scaling.py [--devices 1,2,4] [--out DIR]
  python benchmarks/scaling.py --roofline [--batches 64,512,4096] [--out DIR]
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys

# device kind (substring) -> (fp32 non-tensor-core peak TFLOP/s, memory TB/s), vendor data sheets
PEAKS = {"H200": (67.0, 4.8), "H100": (67.0, 3.35), "A100": (19.5, 2.0), "L4": (30.3, 0.3),
         "V100": (15.7, 0.9), "T4": (8.1, 0.32)}


def child(n: int, model: str, batch: int, steps: int, seconds: float):
  """Run in a fresh process with n forced CPU devices; prints one JSON line."""
  import jax
  import jax.numpy as jnp
  import numpy as np
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
  import common
  from aejax import parallel
  state, step, batch_np = common.build(model, batch, axis_name=parallel.AXIS, noise_std=0.0)
  pstep = parallel.compile_step(step, "pmap")
  pstate = parallel.put_state(state, "pmap")
  pbatch = parallel.put_batch(jax.device_put(batch_np), "pmap")
  losses = []
  for _ in range(steps):  # the correctness run: same steps, same batch, from the same init
    pstate, metrics = pstep(pstate, pbatch)
    losses.append(float(metrics["loss"][0]))
  params = jax.device_get(parallel.get_state(pstate, "pmap").params)
  sec, _ = common.time_calls(pstep, pstate, (pbatch,), seconds)
  flat = np.concatenate([np.ravel(x) for x in jax.tree.leaves(params)])
  print(json.dumps({"devices": jax.local_device_count(), "ms_per_step": sec * 1e3,
                    "samples_per_s": batch / sec, "losses": losses, "params": flat.tolist()}))


def cpu_scaling(args):
  rows, ref = [], None
  for n in map(int, args.devices.split(",")):
    env = dict(os.environ, XLA_FLAGS=f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={n}",
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, __file__, "--child", str(n), "--model", args.model,
                          "--batch", str(args.batch), "--steps", str(args.steps), "--seconds", str(args.seconds)],
                         env=env, capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    import numpy as np
    params = np.asarray(r.pop("params"))
    if ref is None:
      ref = (params, r["losses"], r["ms_per_step"])
    r["max_abs_param_diff_vs_1"] = float(np.abs(params - ref[0]).max())
    r["equal_to_1_device"] = bool(np.allclose(params, ref[0], atol=1e-5, rtol=1e-4))
    r["overhead_vs_1"] = r["ms_per_step"] / ref[2]
    r["final_loss"] = r.pop("losses")[-1]
    rows.append(r)
    print(f"  {n} devices: {r['ms_per_step']:.2f} ms/step, equal={r['equal_to_1_device']}", flush=True)
  return rows


def gpu_roofline(args):
  import jax
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
  import common
  kind = jax.devices()[0].device_kind
  peak = next((v for k, v in PEAKS.items() if k in kind), (None, None))
  peak_tflops = args.peak_tflops or peak[0]
  peak_tbs = args.peak_tbs or peak[1]
  rows = []
  for name in args.models.split(","):
    for b in map(int, args.batches.split(",")):
      state, step, batch = common.build(name, b)
      batch = jax.device_put(batch)
      compiled = jax.jit(step, donate_argnums=0).lower(state, batch).compile()
      cost = compiled.cost_analysis()
      cost = cost[0] if isinstance(cost, (list, tuple)) else cost
      flops, nbytes = float(cost.get("flops", 0.0)), float(cost.get("bytes accessed", 0.0))
      sec, _ = common.time_calls(compiled, state, (batch,), args.seconds)
      row = {"model": name, "batch": b, "ms_per_step": sec * 1e3, "samples_per_s": b / sec,
             "gflop_per_step": flops / 1e9, "achieved_tflops": flops / sec / 1e12}
      if peak_tflops and peak_tbs and nbytes:
        bound = min(peak_tflops, peak_tbs * flops / nbytes)  # TFLOP/s the roofline allows
        row.update(intensity_flop_per_byte=flops / nbytes, roofline_tflops=bound,
                   fraction_of_roofline=row["achieved_tflops"] / bound)
      rows.append(row)
      print(f"  {name} batch {b}: {sec * 1e3:.3f} ms, {row['achieved_tflops']:.3f} TFLOP/s", flush=True)
  return rows, {"peak_tflops_fp32": peak_tflops, "peak_tb_per_s": peak_tbs}


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--devices", default="1,2,4")
  ap.add_argument("--model", default="conv_ae")
  ap.add_argument("--batch", type=int, default=256, help="global batch, split over the devices")
  ap.add_argument("--steps", type=int, default=5, help="steps of the correctness run")
  ap.add_argument("--seconds", type=float, default=1.0)
  ap.add_argument("--roofline", action="store_true", help="GPU: throughput vs the FLOP roofline")
  ap.add_argument("--models", default="mlp_ae,conv_ae,conv_ae_matmul,tied_stack,vae,dcgan")
  ap.add_argument("--batches", default="64,512,4096")
  ap.add_argument("--peak-tflops", type=float, default=None)
  ap.add_argument("--peak-tbs", type=float, default=None)
  ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
  ap.add_argument("--out", default=None)
  args = ap.parse_args()
  if args.child:
    return child(args.child, args.model, args.batch, args.steps, args.seconds)
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
  import common
  if args.roofline:
    rows, peaks = gpu_roofline(args)
    result = {"benchmark": "scaling_roofline", **common.machine(), **peaks, "rows": rows}
    cols = ["model", "batch", "ms_per_step", "samples_per_s", "gflop_per_step", "achieved_tflops",
            "roofline_tflops", "fraction_of_roofline"]
    common.write(args.out, "roofline.json", result)
  else:
    rows = cpu_scaling(args)
    result = {"benchmark": "scaling_pmap_cpu", **common.machine(), "model": args.model,
              "global_batch": args.batch, "rows": rows}
    cols = ["devices", "ms_per_step", "samples_per_s", "overhead_vs_1", "equal_to_1_device",
            "max_abs_param_diff_vs_1", "final_loss"]
    common.write(args.out, "scaling.json", result)
  print(f"\n{result['benchmark']} on {result['backend']} ({result['device']}), load {result['load_avg']}")
  print(common.table(rows, cols))
  return result


if __name__ == "__main__":
  main()
