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

from aejax.config import ConfigError
from aejax import data, losses, plots, report
from aejax.evaluation import image_metrics, mean_std, probes
from aejax.models.stacked import StackedAutoencoder, TiedDense, stack_params
from aejax.train import create_train_state, make_train_step
from aejax.recipes import train, train_autoencoder

NAME = "q5_tied_weights"
QUESTION = "How do you tie weights in a stacked autoencoder? What is the point of doing so?"
VARIANTS = ("tied", "untied", "greedy")
# The functions whose source the answer shows: the tied layer, and the model that passes it the encoder's kernel.
TYING_CODE = (TiedDense.__call__, StackedAutoencoder.__call__)


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


def greedy_steps(cfg) -> tuple[int, int]:
  """(steps per pretrained layer, fine-tuning steps) of the greedy recipe: cfg['steps'] in all."""
  return cfg["steps"] // 4, cfg["steps"] - 2 * (cfg["steps"] // 4)


def train_greedy(cfg, images, seed):
  """Layer-wise: a 784-300-784 autoencoder on the images, a 300-150-300 one on its codes
  (linear output, MSE), stacked with stack_params, then the whole tied stack fine-tuned.
  Total steps = cfg['steps']: a quarter per layer, half for fine-tuning."""
  pre_steps, fine_steps = greedy_steps(cfg)
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

  found = findings(runs, speed)
  sizes = list(cfg["train_sizes"])
  gap = lambda v: [found["by_size"][str(n)]["gap"][v] for n in sizes]
  plots.lines({f"{v}: test − train MSE": (sizes, gap(v)) for v in VARIANTS}, out / "generalisation_gap.png",
              xlabel="training images", ylabel="recon MSE test − train", logx=True,
              title="generalisation gap, same number of steps")
  plots.image_grid([test_x[:10]] + [examples[v] for v in VARIANTS], out / "reconstructions.png",
                   row_titles=[f"{cfg['dataset']} test"] + [f"{v} (n={max(sizes)})" for v in VARIANTS],
                   title="test reconstructions")
  input_dim = int(np.prod(ds.train_images.shape[1:]))
  hidden = list(cfg["hidden"])
  pretrain_steps, finetune_steps = greedy_steps(cfg)
  return {"runs": runs, "speed": speed, "per_seed": per_seed, "findings": found,
          "tying_code": tying_code(), "data": data.describe(cfg["dataset"]),
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


def findings(runs: dict, speed: dict) -> dict:
  """What the answer states, computed from the measurements: parameter counts, per-size comparisons, the
  number of sizes where tying gave the smaller gap or a lower/higher test error, and step times."""
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


def verdict_at(n: str, by: dict, c: dict) -> str:
  """One sentence comparing tied with untied at one training-set size, from the stored comparison."""
  t, u = by["tied"]["recon_mse_test"], by["untied"]["recon_mse_test"]
  if c["within_spread"]:
    test = f"tied and untied reach the same test MSE within the seed spread ({t:.4g} vs {u:.4g})"
  else:
    test = (f"tied reaches a {'lower' if c['test_diff'] < 0 else 'higher'} test MSE than untied "
            f"({t:.4g} vs {u:.4g}, {c['test_rel_diff']:+.0%})")
  gt, gu = c["gap"]["tied"], c["gap"]["untied"]
  return (f"With {n} training images {test}, and its generalisation gap is "
          f"{'smaller' if gt < gu else 'larger'} ({gt:.3g} vs {gu:.3g}).")


def answer(metrics: dict) -> str:
  cfg = metrics["_meta"]["config"]
  runs, f, proto, d = metrics["runs"], metrics["findings"], metrics["protocol"], metrics["data"]
  sizes, by_size = list(runs), f["by_size"]
  rows = [[n, v, f"{m['params']:.0f}", report.pm(m, "recon_mse_train"), report.pm(m, "recon_mse_test"),
           report.num(by_size[n]["gap"][v]), report.pm(m, "sec_per_epoch")]
          for n, by in runs.items() for v, m in by.items()]
  table = report.table(["train images", "model", "params", "recon MSE train", "recon MSE test", "gap (test − train)",
                        "s / epoch"], rows)
  gaps = "; ".join(f"n={n}: tied {report.num(c['gap']['tied'])}, untied {report.num(c['gap']['untied'])}"
                   for n, c in by_size.items())
  test_cmp = "; ".join(f"n={n}: tied {runs[n]['tied']['recon_mse_test']:.4g} vs untied "
                       f"{runs[n]['untied']['recon_mse_test']:.4g} (greedy {runs[n]['greedy']['recon_mse_test']:.4g})"
                       for n in sizes)
  greedy_cmp = "; ".join(f"n={n}: test MSE {runs[n]['greedy']['recon_mse_test']:.4g} vs {runs[n]['tied']['recon_mse_test']:.4g} "
                         f"for the tied stack trained end to end" for n in sizes)
  verdict = " ".join(verdict_at(n, runs[n], by_size[n]) for n in sizes)
  if f["speed_within_10pct"]:
    speed_verdict = "within 10% of each other, speed is not what tying bought here."
  else:
    speed_verdict = (f"the {f['step_time_diff']:.0%} difference measured here "
                     f"({'tied faster' if f['step_time_ratio'] < 1 else 'tied slower'}) is on a CPU shared with other "
                     "jobs, so treat it as an upper bound on any real effect.")
  if len(sizes) == 1:
    c, t, u = by_size[sizes[0]], runs[sizes[0]]["tied"]["recon_mse_test"], runs[sizes[0]]["untied"]["recon_mse_test"]
    test = "the same test MSE within the seed spread" if c["within_spread"] else (
        f"a {'lower' if c['test_diff'] < 0 else 'higher'} test MSE")
    outcome = (f"with {sizes[0]} training images the tied stack had the "
               f"{'smaller' if c['gap']['tied'] < c['gap']['untied'] else 'larger'} generalisation gap "
               f"({report.num(c['gap']['tied'])} vs {report.num(c['gap']['untied'])}) and {test} ({t:.4g} vs {u:.4g})")
  else:
    counts = [f"{word} at {f[key]}" for word, key in
              (("lower", "sizes_test_lower"), ("higher", "sizes_test_higher"),
               ("the same within the seed spread", "sizes_test_same")) if f[key]]
    outcome = (f"over {len(sizes)} training-set sizes ({sizes[0]} to {sizes[-1]} images) the tied stack had the smaller "
               f"generalisation gap at {f['sizes_gap_smaller']} of them, and a test MSE {', '.join(counts)}")
  code = "\n\n".join(f"# {name}\n{src}" for name, src in metrics["tying_code"].items())
  layers, h = proto["layers"], cfg["hidden"]
  return f"""
**Short answer.** Each decoder layer multiplies by the transpose of its encoder layer's kernel
(`x @ kernel.T + bias`) and owns only its bias; the point is half the weights to learn and store
({f['params_tied']:,.0f} parameters tied vs {f['params_untied']:,.0f} untied, {f['params_ratio']:.1%}) and a constraint that can act
as a regulariser. Against the untied stack trained for as many steps, {outcome}.

Stacked autoencoder {'-'.join(map(str, layers))}
({cfg['activation'].upper()}, sigmoid output, per-pixel MSE), {cfg['steps']} Adam steps (lr {cfg['lr']}, batch
{cfg['batch_size']}) for every model and training-set size (so the {min(map(int, sizes))}-image set is seen for the most epochs), on
{d['name']} ({d['what']}); balanced subsets of the training set, the full test set{f" (first {cfg['test_subset']})" if cfg['test_subset'] else ''}; recon MSE train on up to {cfg['eval_train']}
training images. Mean ± std over {cfg['seeds']} seed(s). *greedy* = the tied stack trained one layer at a time
({proto['input_dim']}-{h[0]}-{proto['input_dim']} on images, then {h[0]}-{h[1]}-{h[0]} on its codes, {proto['pretrain_steps']} steps each), stacked with
`stack_params`, then fine-tuned end to end for the remaining {proto['finetune_steps']} steps: the same total number of steps.
s / epoch comes from the training runs (steady state, compile excluded) on a shared CPU.

**How.** A tied decoder layer owns only a bias; its kernel is the encoder layer's kernel, transposed, passed
in at call time, so there is one array and gradients from the encoder and decoder uses add up in it. The code
(the source of the functions that do it, as the run found it):

```python
{code}
```

{table}

![generalisation gap](generalisation_gap.png)

![reconstructions](reconstructions.png)

**What tying bought here.**
- *Parameters*: {f['params_tied']:,.0f} tied vs {f['params_untied']:,.0f} untied ({f['params_ratio']:.1%}); the weight matrices are
  shared, only the {f['params_removed']:,.0f} decoder kernel entries are gone, biases stay.
- *Generalisation gap* (test − train MSE): {gaps}.
- *Test error*: {test_cmp}.
- *Speed*: a training step takes {f['ms_per_step_tied']:.2f} ms tied vs {f['ms_per_step_untied']:.2f} ms untied (one fixed batch, best of 3,
  alternating): tied takes {f['step_time_ratio']:.2f}x the time of untied. The matrix multiplications of a step are the same
  (the transpose only changes which axis the matmul contracts); tying saves the optimiser update and memory of
  half the weights, which at this size is small next to the matmuls; {speed_verdict}

Tying is a constraint (the decoder must be the encoder's transpose, as in PCA, where the optimal linear
autoencoder is exactly tied) that halves the weights to learn and store. In this run: {verdict}
The greedy recipe (how deep autoencoders were trained before good initialisations and optimisers) reached
{greedy_cmp} at the same total number of steps.
"""
