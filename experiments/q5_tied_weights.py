"""q5: How do you tie weights in a stacked autoencoder? What is the point of doing so?

A stacked MLP autoencoder 784-300-150-300-784 (SELU) is trained with tied weights (each decoder
layer uses the transpose of its encoder layer's kernel, with its own bias) and untied, with the
same number of Adam steps, on 1k, 5k and 60k training images. We count the parameters from the
pytree, compare train and test reconstruction error (the generalisation gap), time an epoch, and
add the classic recipe: the same tied stack trained greedily one layer at a time, then fine-tuned.
"""

import functools
import inspect
import time

import jax
import jax.numpy as jnp
import numpy as np

from aejax.config import ConfigError
from aejax import data, losses, plots, report
from aejax.evaluation import image_metrics, mean_std, probes
from aejax.models.stacked import StackedAutoencoder, TiedDense, stack_params
from aejax.train import create_train_state, make_train_step
from aejax.recipes import train, train_autoencoder

NAME = "q5_tied_weights"
QUESTION = "How do you tie weights in a stacked autoencoder? What is the point of doing so?"
VARIANTS = ("tied", "untied", "greedy")


def config(profile: str) -> dict:
  cfg = {"dataset": "mnist", "seeds": 3, "train_sizes": (1000, 5000, 60000), "hidden": (300, 150),
         "activation": "selu", "steps": 1000, "batch_size": 128, "lr": 1e-3, "eval_train": 10000,
         "test_subset": 0, "bench_steps": 60}
  if profile == "smoke":
    cfg.update(seeds=1, train_sizes=(500,), steps=30, eval_train=500, test_subset=500, bench_steps=5)
  elif profile == "paper":
    cfg.update(seeds=5, steps=20000)
  return cfg


def check(cfg):
  if min(cfg["train_sizes"]) < cfg["batch_size"]:
    raise ConfigError(f"every training size must be >= batch_size={cfg['batch_size']}")
  if cfg["steps"] < 8:
    raise ConfigError("steps must be >= 8 (the greedy budget is split 1/4, 1/4, 1/2)")


def count_params(params) -> int:
  return int(sum(np.size(leaf) for leaf in jax.tree.leaves(params)))


def steady_sec_per_step(history) -> float:
  """Seconds per step between the first and last log points (the first includes compilation)."""
  first, last = history[0], history[-1]
  return (last["seconds"] - first["seconds"]) / max(1, last["step"] - first["step"])


def train_greedy(cfg, images, seed):
  """Layer-wise: a 784-300-784 autoencoder on the images, a 300-150-300 one on its codes
  (linear output, MSE), stacked with stack_params, then the whole tied stack fine-tuned.
  Total steps = cfg['steps']: a quarter per layer, half for fine-tuning."""
  pre_steps, fine_steps = cfg["steps"] // 4, cfg["steps"] - 2 * (cfg["steps"] // 4)
  layers, inputs, t0 = [], images, time.perf_counter()
  for i, size in enumerate(cfg["hidden"]):
    layer = StackedAutoencoder(sizes=(size,), tied=True, activation=cfg["activation"])
    p, _ = train_autoencoder(layer, inputs, steps=pre_steps, batch_size=cfg["batch_size"], lr=cfg["lr"],
                             seed=seed, kind="mse" if i == 0 else "mse_linear", desc=f"q5 greedy layer {i}",
                             log_every=pre_steps)
    layers.append(p)
    inputs = probes.encode(functools.partial(layer.apply, method="encode"), p, inputs)
  pretrain_s = time.perf_counter() - t0
  model = StackedAutoencoder(sizes=tuple(cfg["hidden"]), tied=True, activation=cfg["activation"])
  state, history = train(stack_params(layers), losses.reconstruction(model.apply), {"image": images},
                         steps=fine_steps, batch_size=cfg["batch_size"], lr=cfg["lr"], seed=seed,
                         desc="q5 greedy fine-tune", log_every=max(1, fine_steps // 4))
  return state.params, history, pretrain_s


def measure(model, params, history, train_x, test_x, cfg) -> dict:
  steps_per_epoch = len(train_x) // cfg["batch_size"]
  return {"params": count_params(params),
          "recon_mse_train": float(image_metrics.reconstruction_mse(model.apply, params,
                                                                   train_x[:cfg["eval_train"]]).mean()),
          "recon_mse_test": float(image_metrics.reconstruction_mse(model.apply, params, test_x).mean()),
          "sec_per_epoch": steady_sec_per_step(history) * steps_per_epoch}


def benchmark(cfg, images) -> dict:
  """Seconds per training step of each model on one fixed batch, alternating, best of 3 (less noise than
  the training runs, which share the CPU with everything else)."""
  batch = {"image": jnp.asarray(images[:cfg["batch_size"]])}
  steps, out = {}, {}
  for tied in (True, False):
    model = StackedAutoencoder(sizes=tuple(cfg["hidden"]), tied=tied, activation=cfg["activation"])
    params = model.init(jax.random.PRNGKey(0), batch["image"][:1].astype(jnp.float32))
    import optax
    state = create_train_state(params, optax.adam(cfg["lr"]), 0)
    step = jax.jit(make_train_step(losses.reconstruction(model.apply)))
    state, m = step(state, batch)
    jax.block_until_ready(m)
    steps["tied" if tied else "untied"] = [step, state]
  for name in ("tied", "untied"):
    out[name] = float("inf")
  for _ in range(3):
    for name, (step, state) in steps.items():
      t0 = time.perf_counter()
      for _ in range(cfg["bench_steps"]):
        state, m = step(state, batch)
      jax.block_until_ready(m)
      out[name] = min(out[name], (time.perf_counter() - t0) / cfg["bench_steps"])
      steps[name][1] = state
  return {f"sec_per_step_{k}": v for k, v in out.items()}


def run(cfg: dict, out) -> dict:
  ds = data.load(cfg["dataset"], download=True)
  test_x = ds.test_images[:cfg["test_subset"] or len(ds.test_images)]
  models = {v: StackedAutoencoder(sizes=tuple(cfg["hidden"]), tied=v != "untied", activation=cfg["activation"])
            for v in VARIANTS}
  runs, per_seed, examples = {}, {}, {}
  for size in cfg["train_sizes"]:
    rows = {v: [] for v in VARIANTS}
    for seed in range(cfg["seeds"]):
      idx = (np.arange(len(ds.train_images)) if size >= len(ds.train_images)
             else data.subset_balanced(ds.train_labels, size, seed, ds.num_classes))
      train_x = ds.train_images[idx]
      for v in VARIANTS:
        if v == "greedy":
          params, history, pretrain_s = train_greedy(cfg, train_x, seed)
        else:
          params, history = train_autoencoder(models[v], train_x, steps=cfg["steps"], batch_size=cfg["batch_size"],
                                              lr=cfg["lr"], seed=seed, desc=f"q5 {v} n={size} s{seed}",
                                              log_every=max(1, cfg["steps"] // 4))
        row = measure(models[v], params, history, train_x, test_x, cfg)
        if v == "greedy":
          row["pretrain_s"] = pretrain_s
        rows[v].append(row)
        if seed == 0 and size == max(cfg["train_sizes"]):
          examples[v] = image_metrics.reconstruct(models[v].apply, params, test_x[:10])
    runs[str(size)] = {v: mean_std(rows[v]) for v in VARIANTS}
    per_seed[str(size)] = rows
  speed = benchmark(cfg, ds.train_images)

  sizes = list(cfg["train_sizes"])
  gap = lambda v: [runs[str(n)][v]["recon_mse_test"] - runs[str(n)][v]["recon_mse_train"] for n in sizes]
  plots.lines({f"{v}: test − train MSE": (sizes, gap(v)) for v in VARIANTS}, out / "generalisation_gap.png",
              xlabel="training images", ylabel="recon MSE test − train", logx=True,
              title="generalisation gap, same number of steps")
  plots.image_grid([test_x[:10]] + [examples[v] for v in VARIANTS], out / "reconstructions.png",
                   row_titles=[f"{cfg['dataset']} test"] + [f"{v} (n={max(sizes)})" for v in VARIANTS],
                   title="test reconstructions")
  write_answer(cfg, runs, speed, out)
  return {"runs": runs, "speed": speed, "per_seed": per_seed}


def tying_code() -> str:
  """The lines of aejax.models.stacked that do the tying, read from the source."""
  dense = inspect.getsource(TiedDense.__call__)
  lines, _ = inspect.getsourcelines(StackedAutoencoder.__call__)
  start = next(i for i, l in enumerate(lines) if "if self.tied" in l)
  return inspect.cleandoc(dense) + "\n\n# in StackedAutoencoder.__call__, decoder layer i:\n" + \
      inspect.cleandoc("".join(lines[start:start + 4]))


def verdict_at(n, by) -> str:
  """One sentence comparing tied with untied at one training-set size, from the measured means and stds."""
  t, u = by["tied"], by["untied"]
  diff = t["recon_mse_test"] - u["recon_mse_test"]
  noise = t["recon_mse_test_std"] + u["recon_mse_test_std"]
  if abs(diff) <= noise:
    test = f"tied and untied reach the same test MSE within the seed spread ({t['recon_mse_test']:.4g} vs {u['recon_mse_test']:.4g})"
  else:
    test = (f"tied reaches a {'lower' if diff < 0 else 'higher'} test MSE than untied "
            f"({t['recon_mse_test']:.4g} vs {u['recon_mse_test']:.4g}, {diff / u['recon_mse_test']:+.0%})")
  gt, gu = t["recon_mse_test"] - t["recon_mse_train"], u["recon_mse_test"] - u["recon_mse_train"]
  gap = f"its generalisation gap is {'smaller' if gt < gu else 'larger'} ({gt:.3g} vs {gu:.3g})"
  return f"With {n} training images {test}, and {gap}."


def write_answer(cfg, runs, speed, out):
  pm = lambda m, k, d=3: f"{m[k]:.{d}g} ± {m[k + '_std']:.2g}"
  rows = []
  for size, by in runs.items():
    for v, m in by.items():
      rows.append([size, v, f"{m['params']:.0f}", pm(m, "recon_mse_train"), pm(m, "recon_mse_test"),
                   f"{m['recon_mse_test'] - m['recon_mse_train']:.3g}", pm(m, "sec_per_epoch")])
  table = report.table(["train images", "model", "params", "recon MSE train", "recon MSE test", "gap (test − train)",
                        "s / epoch"], rows)
  sizes = list(runs)
  small, full = runs[sizes[0]], runs[sizes[-1]]
  tied_p, untied_p = full["tied"]["params"], full["untied"]["params"]
  gaps = "; ".join(f"n={n}: tied {runs[n]['tied']['recon_mse_test'] - runs[n]['tied']['recon_mse_train']:.3g}, "
                   f"untied {runs[n]['untied']['recon_mse_test'] - runs[n]['untied']['recon_mse_train']:.3g}"
                   for n in sizes)
  test_cmp = "; ".join(f"n={n}: tied {runs[n]['tied']['recon_mse_test']:.4g} vs untied "
                       f"{runs[n]['untied']['recon_mse_test']:.4g} (greedy {runs[n]['greedy']['recon_mse_test']:.4g})"
                       for n in sizes)
  st, su = speed["sec_per_step_tied"], speed["sec_per_step_untied"]
  verdict = " ".join(verdict_at(n, runs[n]) for n in sizes)
  speed_verdict = ("within 10% of each other, speed is not what tying bought here." if 0.9 <= st / su <= 1.1 else
                   f"the {abs(1 - st / su):.0%} difference measured here ({'tied faster' if st < su else 'tied slower'}) "
                   "is on a CPU shared with other jobs, so treat it as an upper bound on any real effect.")
  greedy_cmp = "; ".join(f"n={n}: test MSE {runs[n]['greedy']['recon_mse_test']:.4g} vs {runs[n]['tied']['recon_mse_test']:.4g} "
                         f"for the tied stack trained end to end" for n in sizes)
  body = f"""
Stacked autoencoder {'-'.join(str(d) for d in [784, *cfg['hidden'], *reversed(cfg['hidden'][:-1]), 784])}
({cfg['activation'].upper()}, sigmoid output, per-pixel MSE), {cfg['steps']} Adam steps (lr {cfg['lr']}, batch
{cfg['batch_size']}) for every model and training-set size (so the 1k set is seen for many more epochs), on
{cfg['dataset']}; balanced subsets of the training set, the full test set{f" (first {cfg['test_subset']})" if cfg['test_subset'] else ''}; recon MSE train on up to {cfg['eval_train']}
training images. Mean ± std over {cfg['seeds']} seed(s). *greedy* = the tied stack trained one layer at a time
(784-{cfg['hidden'][0]}-784 on images, then {cfg['hidden'][0]}-{cfg['hidden'][1]}-{cfg['hidden'][0]} on its codes, {cfg['steps'] // 4} steps each), stacked with
`stack_params`, then fine-tuned end to end for the remaining {cfg['steps'] - 2 * (cfg['steps'] // 4)} steps: the same total number of steps.
s / epoch comes from the training runs (steady state, compile excluded) on a shared CPU.

**How.** A tied decoder layer owns only a bias; its kernel is the encoder layer's kernel, transposed, passed
in at call time, so there is one array and gradients from the encoder and decoder uses add up in it. The code
(read from `aejax/models/stacked.py`):

```python
{tying_code()}
```

{table}

![generalisation gap](generalisation_gap.png)

![reconstructions](reconstructions.png)

**What tying bought here.**
- *Parameters*: {tied_p:,.0f} tied vs {untied_p:,.0f} untied ({tied_p / untied_p:.1%}); the weight matrices are
  shared, only the {int(untied_p - tied_p):,} decoder kernel entries are gone, biases stay.
- *Generalisation gap* (test − train MSE): {gaps}.
- *Test error*: {test_cmp}.
- *Speed*: a training step takes {1e3 * st:.2f} ms tied vs {1e3 * su:.2f} ms untied (one fixed batch, best of 3,
  alternating): tied takes {st / su:.2f}x the time of untied. The matrix multiplications of a step are the same
  (the transpose only changes which axis the matmul contracts); tying saves the optimiser update and memory of
  half the weights, which at this size is small next to the matmuls; {speed_verdict}

Tying is a constraint (the decoder must be the encoder's transpose, as in PCA, where the optimal linear
autoencoder is exactly tied) that halves the weights to learn and store. In this run: {verdict}
The greedy recipe (how deep autoencoders were trained before good initialisations and optimisers) reached
{greedy_cmp} at the same total number of steps.
"""
  report.write_answer(out, QUESTION, body)
