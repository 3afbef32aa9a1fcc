"""q5: How do you tie weights in a stacked autoencoder? What is the point of doing so?

A stacked MLP autoencoder 784-300-150-300-784 (SELU) is trained with tied weights (each decoder
layer uses the transpose of its encoder layer's kernel, with its own bias) and untied, with the
same number of Adam steps, on 1k, 5k and 60k training images. We count the parameters from the
pytree, compare train and test reconstruction error (the generalisation gap), time an epoch, and
add the classic recipe: the same tied stack trained greedily one layer at a time, then fine-tuned.
"""

import functools
import inspect
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from aejax import config as C
from aejax import data, losses, plots
from aejax.evaluation import image_metrics, mean_std, probes
from aejax.models.stacked import ACTIVATIONS, StackedAutoencoder, TiedDense, stack_params
from aejax.train import create_train_state, make_train_step
from aejax.recipes import train, train_autoencoder

NAME = "q5_tied_weights"
QUESTION = "How do you tie weights in a stacked autoencoder? What is the point of doing so?"
VARIANTS = ("tied", "untied", "greedy")
# The functions whose source the answer shows: the tied layer, and the model that passes it the encoder's kernel.
TYING_CODE = (TiedDense.__call__, StackedAutoencoder.__call__)

SCHEMA = C.schema(
    dataset=C.choice("mnist", data.KNOWN),
    seeds=C.integer(3, min=1),
    train=dict(sizes=C.integers((1000, 5000, 60000), min=1)),  # balanced training subsets; every model trains on each
    hidden=C.integers((300, 150), min=1),
    activation=C.choice("selu", ACTIVATIONS),
    steps=C.integer(1000, min=8),  # at least 8: the greedy budget is split 1/4, 1/4, 1/2
    batch_size=C.batch(128),
    lr=C.real(1e-3, above=0),
    eval=dict(train=C.integer(10000, min=1), test=C.integer(0, min=0)),  # images measured; test 0: all
    bench=dict(steps=C.integer(60, min=1)),  # steps per timing of the fixed-batch benchmark
)
PROFILES = {
    "smoke": {"seeds": 1, "train.sizes": (500,), "steps": 30, "eval.train": 500, "eval.test": 500,
              "bench.steps": 5},
    "paper": {"seeds": 5, "steps": 20000},
}


def check(cfg) -> None:
  if min(cfg.train.sizes) < cfg.batch_size:
    raise ValueError(f"every train.sizes entry must be >= batch_size={cfg.batch_size}")


def count_params(params) -> int:
  return int(sum(np.size(leaf) for leaf in jax.tree.leaves(params)))


def steady_sec_per_step(history) -> float:
  """Seconds per step between the first and last log points (the first includes compilation)."""
  first, last = history[0], history[-1]
  return (last["seconds"] - first["seconds"]) / max(1, last["step"] - first["step"])


def greedy_steps(cfg) -> tuple[int, int]:
  """(steps per pretrained layer, fine-tuning steps) of the greedy recipe: cfg.steps in all."""
  return cfg.steps // 4, cfg.steps - 2 * (cfg.steps // 4)


def train_greedy(cfg, images, seed, name: str):
  """Layer-wise: a 784-300-784 autoencoder on the images, a 300-150-300 one on its codes
  (linear output, MSE), stacked with stack_params, then the whole tied stack fine-tuned.
  Total steps = cfg.steps: a quarter per layer, half for fine-tuning. Runs are named name-layerI
  and name-finetune."""
  pre_steps, fine_steps = greedy_steps(cfg)
  layers, inputs, t0 = [], images, time.perf_counter()
  for i, size in enumerate(cfg.hidden):
    layer = StackedAutoencoder(sizes=(size,), tied=True, activation=cfg.activation)
    state, _ = train_autoencoder(layer, inputs, steps=pre_steps, batch_size=cfg.batch_size, lr=cfg.lr,
                                 seed=seed, kind="mse" if i == 0 else "mse_linear", name=f"{name}-layer{i}",
                                 log_every=pre_steps)
    layers.append(state.params)
    inputs = probes.encode(functools.partial(layer.apply, method="encode"), state.params, inputs)
  pretrain_s = time.perf_counter() - t0
  model = StackedAutoencoder(sizes=tuple(cfg.hidden), tied=True, activation=cfg.activation)
  state, history = train(stack_params(layers), losses.reconstruction(model.apply), {"image": images},
                         steps=fine_steps, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed,
                         name=f"{name}-finetune", log_every=max(1, fine_steps // 4))
  return state.params, history, pretrain_s


def measure(model, params, history, train_x, test_x, cfg) -> dict:
  steps_per_epoch = len(train_x) // cfg.batch_size
  return {"params": count_params(params),
          "recon_mse_train": float(image_metrics.reconstruction_mse(model.apply, params,
                                                                   train_x[:cfg.eval.train]).mean()),
          "recon_mse_test": float(image_metrics.reconstruction_mse(model.apply, params, test_x).mean()),
          "sec_per_epoch": steady_sec_per_step(history) * steps_per_epoch}


def benchmark(cfg, images) -> dict:
  """Seconds per training step of each model on one fixed batch, alternating, best of 3 (less noise than
  the training runs, which share the CPU with everything else)."""
  batch = {"image": jnp.asarray(images[:cfg.batch_size])}
  steps, out = {}, {}
  for tied in (True, False):
    model = StackedAutoencoder(sizes=tuple(cfg.hidden), tied=tied, activation=cfg.activation)
    params = model.init(jax.random.PRNGKey(0), batch["image"][:1].astype(jnp.float32))
    state = create_train_state(params, optax.adam(cfg.lr), 0)
    step = jax.jit(make_train_step(losses.reconstruction(model.apply)))
    state, m = step(state, batch)
    jax.block_until_ready(m)
    steps["tied" if tied else "untied"] = [step, state]
  for name in ("tied", "untied"):
    out[name] = float("inf")
  for _ in range(3):
    for name, (step, state) in steps.items():
      t0 = time.perf_counter()
      for _ in range(cfg.bench.steps):
        state, m = step(state, batch)
      jax.block_until_ready(m)
      out[name] = min(out[name], (time.perf_counter() - t0) / cfg.bench.steps)
      steps[name][1] = state
  return {f"sec_per_step_{k}": v for k, v in out.items()}


def run(cfg, out) -> dict:
  ds = data.load(cfg.dataset, download=True)
  test_x = ds.test_images[:cfg.eval.test or len(ds.test_images)]
  models = {v: StackedAutoencoder(sizes=tuple(cfg.hidden), tied=v != "untied", activation=cfg.activation)
            for v in VARIANTS}
  runs, per_seed, examples = {}, {}, {}
  for size in cfg.train.sizes:
    rows = {v: [] for v in VARIANTS}
    # one run per seed, not trials of one program: each seed trains on its own balanced subset, and a run's
    # seconds per epoch are the speed q5 compares
    for seed in range(cfg.seeds):
      idx = (np.arange(len(ds.train_images)) if size >= len(ds.train_images)
             else data.subset_balanced(ds.train_labels, size, seed, ds.num_classes))
      train_x = ds.train_images[idx]
      for v in VARIANTS:
        name = f"{v}-n{size}-s{seed}"
        if v == "greedy":
          params, history, pretrain_s = train_greedy(cfg, train_x, seed, name)
        else:
          state, history = train_autoencoder(models[v], train_x, steps=cfg.steps, batch_size=cfg.batch_size,
                                             lr=cfg.lr, seed=seed, name=name, log_every=max(1, cfg.steps // 4))
          params = state.params
        row = measure(models[v], params, history, train_x, test_x, cfg)
        if v == "greedy":
          row["pretrain_s"] = pretrain_s
        rows[v].append(row)
        if seed == 0 and size == max(cfg.train.sizes):
          examples[v] = image_metrics.reconstruct(models[v].apply, params, test_x[:10])
    runs[str(size)] = {v: mean_std(rows[v]) for v in VARIANTS}
    per_seed[str(size)] = rows
  speed = benchmark(cfg, ds.train_images)

  # the derived numbers are stored too, so that every number the answer quotes is in metrics.json
  found = findings({"runs": runs, "speed": speed})
  sizes = list(cfg.train.sizes)
  gap = lambda v: [found["by_size"][str(n)]["gap"][v] for n in sizes]
  plots.lines({f"{v}: test − train MSE": (sizes, gap(v)) for v in VARIANTS}, out / "generalisation_gap.png",
              xlabel="training images", ylabel="recon MSE test − train", logx=True,
              title="generalisation gap, same number of steps")
  plots.image_grid([test_x[:10]] + [examples[v] for v in VARIANTS], out / "reconstructions.png",
                   row_titles=[f"{cfg.dataset} test"] + [f"{v} (n={max(sizes)})" for v in VARIANTS],
                   title="test reconstructions")
  input_dim = int(np.prod(ds.train_images.shape[1:]))
  hidden = list(cfg.hidden)
  pretrain_steps, finetune_steps = greedy_steps(cfg)
  return {"runs": runs, "speed": speed, "per_seed": per_seed, "findings": found,
          "tying_code": tying_code(), "data": data.describe(cfg.dataset),
          "protocol": {"layers": [input_dim, *hidden, *reversed(hidden[:-1]), input_dim], "input_dim": input_dim,
                       "pretrain_steps": pretrain_steps, "finetune_steps": finetune_steps}}


def tying_code() -> dict:
  """{qualified name: source} of the functions that tie the weights, read from the function objects."""
  return {f"{fn.__module__}.{fn.__qualname__}": textwrap.dedent(inspect.getsource(fn)).strip() for fn in TYING_CODE}


def compare(by: dict) -> dict:
  """Tied against untied at one training-set size (by: variant -> mean_std): test MSE difference, relative
  to untied, whether it is within the seed spread, and each variant's generalisation gap (test − train)."""
  t, u = by["tied"], by["untied"]
  diff = t["recon_mse_test"] - u["recon_mse_test"]
  return {"test_diff": diff, "test_rel_diff": diff / u["recon_mse_test"],
          "within_spread": abs(diff) <= t["recon_mse_test_std"] + u["recon_mse_test_std"],
          "gap": {v: m["recon_mse_test"] - m["recon_mse_train"] for v, m in by.items()}}


def findings(metrics: dict, published: dict | None = None, results=None) -> dict:
  """What the answer states, from the measurements (metrics' runs and speed): parameter counts,
  per-size comparisons, the number of sizes where tying gave the smaller gap or a lower/higher test
  error, and step times."""
  runs, speed = metrics["runs"], metrics["speed"]
  full = runs[list(runs)[-1]]
  tied_p, untied_p = full["tied"]["params"], full["untied"]["params"]
  by_size = {n: compare(by) for n, by in runs.items()}
  st, su = speed["sec_per_step_tied"], speed["sec_per_step_untied"]
  beyond = [c for c in by_size.values() if not c["within_spread"]]
  return {"params_tied": tied_p, "params_untied": untied_p, "params_ratio": tied_p / untied_p,
          "params_removed": untied_p - tied_p, "by_size": by_size,
          "sizes_gap_smaller": sum(c["gap"]["tied"] < c["gap"]["untied"] for c in by_size.values()),
          "sizes_test_lower": sum(c["test_diff"] < 0 for c in beyond),
          "sizes_test_higher": sum(c["test_diff"] > 0 for c in beyond),
          "sizes_test_same": len(by_size) - len(beyond),
          "ms_per_step_tied": 1e3 * st, "ms_per_step_untied": 1e3 * su, "step_time_ratio": st / su,
          "step_time_diff": abs(1 - st / su), "speed_within_10pct": 0.9 <= st / su <= 1.1}
