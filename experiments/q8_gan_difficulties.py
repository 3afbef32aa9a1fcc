"""q8: What are the main difficulties when training GANs?

Two difficulties, each measured. *Mode collapse*: a vanilla GAN and two remedies (PacGAN packing,
Unrolled GAN) on the VEEGAN 2-D ring (8 modes) and grid (25 modes) with PacGAN's architecture, and a
DCGAN with and without PacGAN packing or a minibatch-std discriminator on Stacked MNIST (1000 modes),
counted by the VEEGAN protocol (aejax.evaluation.modes). *Instability and evaluation*: a sweep of
the DCGAN's learning rate and Adam beta1 on MNIST with the discriminator/generator losses and the
Frechet distance in a pretrained classifier's feature space recorded while it trains: the losses
say little about sample quality, fd does.
"""

import time

import numpy as np
from scipy.stats import spearmanr

from aejax.config import ConfigError
from aejax import data, plots, recipes, report
from aejax.evaluation import classifier, fd, mean_std, modes
from aejax.models import gan

NAME = "q8_gan_difficulties"
QUESTION = "What are the main difficulties when training GANs?"

# Published numbers. 2-D columns: ring modes (of 8), ring high-quality %, grid modes (of 25), grid
# high-quality %; a pair is (mean, std) over the paper's trials.
COLUMNS_2D = ("ring_modes", "ring_hq_pct", "grid_modes", "grid_hq_pct")
PACGAN_TABLE1 = {"GAN": ((6.3, 0.5), (98.2, 0.2), (17.3, 0.8), (94.8, 0.7)),
                 "ALI": ((6.6, 0.3), (97.6, 0.4), (24.1, 0.4), (95.7, 0.6)),
                 "PacGAN2": ((7.9, 0.1), (95.6, 2.0), (23.8, 0.7), (91.3, 0.8)),
                 "PacGAN3": ((7.8, 0.1), (97.7, 0.3), (24.6, 0.4), (94.2, 0.4)),
                 "PacGAN4": ((7.8, 0.1), (95.9, 1.4), (24.8, 0.2), (93.6, 0.6))}
VEEGAN_TABLE1 = {"GAN": (1, 99.3, 3.3, 0.5), "ALI": (2.8, 0.13, 15.8, 1.6), "Unrolled GAN": (7.6, 35.6, 23.6, 16),
                 "VEEGAN": (8.0, 52.9, 24.6, 40)}
# Stacked MNIST columns: modes (of 1000), KL to uniform; 26,000 samples per generator.
COLUMNS_STACKED = ("modes", "kl")
VEEGAN_TABLE2 = {"DCGAN": (99, 3.40), "ALI": (16, 5.40), "Unrolled GAN": (48.7, 4.32), "VEEGAN": (150, 2.95)}
PACGAN_TABLE2 = {"DCGAN": ((78.9, 6.46), (4.50, 0.13)), "PacDCGAN2": ((1000.0, 0.0), (0.06, 0.003)),
                 "PacDCGAN3": (1000, 0.06), "PacDCGAN4": (1000, 0.07)}
# What this run should show: the 2-D methods (name -> PacGAN Table 1 row) within `mode_distance_max`
# modes of that row with at least `hq_pct_min` % high-quality samples; on Stacked MNIST, PacDCGAN2
# ahead of DCGAN on every seed and DCGAN at VEEGAN's DCGAN row or above.
TARGETS = {"rows_2d": {"gan": "GAN", "pacgan2": "PacGAN2"}, "mode_distance_max": 1.0, "hq_pct_min": 50.0,
           "stacked_dcgan_modes_min": 99}
STRICT_SHARE = 0.2  # a mode is strictly captured when it holds this fraction of its fair share of samples
TB_SAMPLES = 16  # generated images drawn in TensorBoard at each log point of the sweep
# 2-D methods: name -> (PacGAN packing, Unrolled-GAN steps). As in PacGAN's code, a batch counts the
# discriminator's examples: with packing m, a batch of B packs holds m * B generated (and real) samples.
METHODS_2D = {"gan": (1, 0), "pacgan2": (2, 0), "unrolled": (1, 5)}
METHODS_STACKED = {"dcgan": (1, False), "pacdcgan2": (2, False), "dcgan_minibatch_std": (1, True)}


def config(profile: str) -> dict:
  cfg = {"dataset": "mnist", "seeds": 3,
         # 2-D mixtures, PacGAN's architecture (G 2 -> 4 x mix_g_width ReLU + batch norm -> 2; D three
         # maxout layers of mix_d_width units, 5 pieces; weights N(0, 0.02)) at a CPU budget: narrower
         # layers, larger batches and a cosine-decayed Adam instead of their 400k steps at lr 1e-4
         "mix_latent": 2, "mix_g_width": 256, "mix_d_width": 128, "mix_steps": 5000, "mix_batch": 500,
         "mix_lr": 1e-3, "mix_beta1": 0.5, "mix_unroll_lr": 1e-2,
         # the Unrolled GAN (5 unrolled discriminator steps) costs about 9x a GAN step: paper profile only
         "mix_methods": ("gan", "pacgan2"),
         "mix_train_points": 100000, "mix_eval_samples": 2500,
         # Stacked MNIST: DCGAN with 3 channels
         "stacked_seeds": 1, "stacked_train": 50000, "stacked_latent": 64, "stacked_base": 16,
         "stacked_steps": 3000, "stacked_batch": 64, "stacked_lr": 5e-4, "stacked_eval_samples": 26000,
         "classifier_steps": classifier.DEFAULT_STEPS,
         # instability: DCGAN on `dataset`, a grid of lr x beta1
         "sweep_lr": (2e-4, 2e-3, 1e-2), "sweep_beta1": (0.5, 0.9), "sweep_steps": 500, "sweep_base": 16,
         "sweep_latent": 64, "sweep_batch": 64, "sweep_evals": 5, "sweep_fd_samples": 1000}
  if profile == "smoke":
    cfg.update(seeds=1, mix_g_width=32, mix_d_width=16, mix_steps=40, mix_batch=64, mix_train_points=2000, mix_eval_samples=500,
               stacked_train=1000, stacked_base=8, stacked_steps=10, stacked_eval_samples=200, classifier_steps=20,
               sweep_lr=(2e-4, 1e-2), sweep_beta1=(0.5,), sweep_steps=10, sweep_base=8, sweep_evals=2,
               sweep_fd_samples=200)
  elif profile == "paper":
    # their schedule: full widths, batch 100, Adam 1e-4 with beta1 0.8, 400 epochs of 100k points, 10 trials
    cfg.update(seeds=10, mix_methods=tuple(METHODS_2D), mix_g_width=400, mix_d_width=200, mix_steps=400_000, mix_batch=100, mix_lr=1e-4,
               mix_beta1=0.8, stacked_seeds=3, stacked_train=60000, stacked_base=64, stacked_steps=20000,
               stacked_eval_samples=26000, sweep_steps=5000, sweep_base=64, sweep_fd_samples=10000,
               sweep_evals=10)
  return cfg


def check(cfg):
  if cfg["mix_steps"] < 8 or cfg["sweep_steps"] < cfg["sweep_evals"]:
    raise ConfigError("mix_steps must be >= 8 and sweep_steps >= sweep_evals")
  unknown = [m for m in cfg["mix_methods"] if m not in METHODS_2D]
  if unknown or not {"gan", "pacgan2"} <= set(cfg["mix_methods"]):
    raise ConfigError(f"mix_methods must include gan and pacgan2 and take only {', '.join(METHODS_2D)}; "
                      f"got {cfg['mix_methods']}")


# ---------------------------------------------------------------- mode collapse on 2-D mixtures
def mixture_gan(method, cfg):
  """(generator, discriminator, pack, unroll) of a 2-D method: PacGAN's architecture at cfg's widths."""
  pack, unroll = METHODS_2D[method]
  g = gan.MLPGenerator(hidden=(cfg["mix_g_width"],) * 4, batch_norm=True, init_std=0.02)
  d = gan.MLPDiscriminator(hidden=(cfg["mix_d_width"],) * 3, maxout=5, init_std=0.02)
  return g, d, pack, unroll


def train_mixture_gan(kind, method, seed, cfg, g, d, pack, unroll):
  """Train one GAN on the mixture; returns (final metrics, samples, history with modes over training)."""
  points, centers, std = data.mixture(kind, cfg["mix_train_points"], seed)
  sample = lambda params, n, s: gan.generate(g.apply, params, n, cfg["mix_latent"], s, image_output=False)
  fair_share = cfg["mix_eval_samples"] / len(centers)

  def eval_fn(state):
    m = modes.mixture_modes(sample(state.g.params, cfg["mix_eval_samples"], 10_000 + seed), centers, std)
    return {"modes": m["modes"], "hq_pct": m["hq_pct"],
            "strict": int(sum(c >= STRICT_SHARE * fair_share for c in m["counts"]))}

  state, history = recipes.train_gan(g, d, points, latent=cfg["mix_latent"], steps=cfg["mix_steps"],
                                     batch_size=cfg["mix_batch"] * pack, lr=cfg["mix_lr"], beta1=cfg["mix_beta1"], seed=seed,
                                     decay_steps=cfg["mix_steps"], alpha=0.01,
                                     pack=pack, unroll=unroll, unroll_lr=cfg["mix_unroll_lr"], image_output=False, desc=f"q8 {kind} {method} s{seed}",
                                     log_every=cfg["mix_steps"] // 8, eval_fn=eval_fn)
  x = sample(state.g.params, cfg["mix_eval_samples"], 20_000 + seed)  # fresh samples for the reported numbers
  m = modes.mixture_modes(x, centers, std)
  # strict: a mode holds >= STRICT_SHARE of its fair share of the samples (a few stray samples do not count)
  row = {"modes": m["modes"], "hq_pct": m["hq_pct"],
         "modes_strict": int(sum(c >= STRICT_SHARE * fair_share for c in m["counts"]))}
  return row, x, history


def mixtures(cfg, out):
  results, curves = {}, {}
  # one model pair per method: every kind and seed reuses one compiled step (the cosine decay is traced)
  models = {method: mixture_gan(method, cfg) for method in cfg["mix_methods"]}
  for kind in ("ring", "grid"):
    results[kind], panels = {}, {}
    _, centers, _ = data.mixture(kind, 1, 0)
    for method in cfg["mix_methods"]:
      rows = []
      for seed in range(cfg["seeds"]):
        row, x, history = train_mixture_gan(kind, method, seed, cfg, *models[method])
        rows.append(row)
        if seed == 0:
          panels[f"{method} (seed 0): {row['modes']}/{len(centers)} modes, {row['hq_pct']:.0f}% hq"] = x
          evaluated = [h for h in history if "modes" in h]  # rows at checkpoint steps carry no evaluation
          curves[f"{kind}/{method}"] = {k: [h[k] for h in evaluated] for k in ("step", "modes", "strict", "hq_pct", "d_loss")}
      results[kind][method] = {**mean_std(rows), "per_seed": rows}
    real, _, _ = data.mixture(kind, cfg["mix_eval_samples"], 99)
    plots.scatter2d({"real data": real, **panels}, None, out / f"{kind}.png", xlabel="x1", ylabel="x2",
                    title=f"{kind}: {cfg['mix_eval_samples']} samples per generator")
  series = {f"{key} strict modes": (c["step"], c["strict"]) for key, c in curves.items() if key.endswith("/gan")}
  plots.lines(series, out / "mixture_modes_during_training.png", xlabel="training step",
              ylabel="modes holding >= 20% of their share", title="vanilla GAN during training (seed 0)")
  return results, curves


# ---------------------------------------------------------------- mode collapse on Stacked MNIST
def stacked_mnist(cfg, clf, ds, out):
  predict = clf.predict
  train_x, _ = data.stacked_mnist(ds.train_images, ds.train_labels, cfg["stacked_train"], seed=0)
  real_x, _ = data.stacked_mnist(ds.test_images, ds.test_labels, cfg["stacked_eval_samples"], seed=1)
  results = {"real_test_data": modes.stacked_mnist_modes(predict, real_x)}  # the floor for this sample size
  grids = {}
  for method, (pack, batch_std) in METHODS_STACKED.items():
    rows = []
    g = gan.DCGANGenerator(channels=3, base=cfg["stacked_base"])
    d = gan.DCGANDiscriminator(base=cfg["stacked_base"], batch_std=batch_std)
    for seed in range(cfg["stacked_seeds"]):
      state, _ = recipes.train_gan(g, d, train_x, latent=cfg["stacked_latent"], steps=cfg["stacked_steps"],
                                   batch_size=cfg["stacked_batch"] * pack, lr=cfg["stacked_lr"], seed=seed, pack=pack,
                                   decay_steps=cfg["stacked_steps"], alpha=0.0,
                                   desc=f"q8 stacked {method} s{seed}", log_every=cfg["stacked_steps"])
      x = gan.generate(g.apply, state.g.params, cfg["stacked_eval_samples"], cfg["stacked_latent"], 30_000 + seed)
      rows.append(modes.stacked_mnist_modes(predict, x))
      if seed == 0:
        grids[method] = x[:10]
    results[method] = {**mean_std(rows), "per_seed": rows}
  plots.image_grid([real_x[:10]] + [grids[m] for m in METHODS_STACKED], out / "stacked_mnist.png",
                   row_titles=["real"] + list(METHODS_STACKED), title="Stacked MNIST samples")
  return results


# ---------------------------------------------------------------- instability: lr x beta1 sweep
def sweep(cfg, clf, ds, out):
  ref = clf.features(ds.test_images[:cfg["sweep_fd_samples"]])
  g, d = gan.DCGANGenerator(base=cfg["sweep_base"]), gan.DCGANDiscriminator(base=cfg["sweep_base"])
  every = cfg["sweep_steps"] // cfg["sweep_evals"]

  def eval_fn(state):  # "images" go to TensorBoard only
    x = gan.generate(g.apply, state.g.params, cfg["sweep_fd_samples"], cfg["sweep_latent"], 40_000)
    return {"fd": fd.frechet_distance(clf.features(x), ref), "images": x[:TB_SAMPLES]}

  results, rows = {}, []
  for lr in cfg["sweep_lr"]:
    for beta1 in cfg["sweep_beta1"]:
      name = f"lr={lr:g},beta1={beta1:g}"
      state, history = recipes.train_gan(g, d, ds.train_images, latent=cfg["sweep_latent"], steps=cfg["sweep_steps"],
                                         batch_size=cfg["sweep_batch"], lr=lr, beta1=beta1, seed=0,
                                         desc=f"q8 sweep {name}", log_every=every, eval_fn=eval_fn)
      curve = {k: [h[k] for h in history if "fd" in h] for k in ("step", "d_loss", "g_loss", "d_real", "d_fake", "fd")}
      results[name] = {"lr": lr, "beta1": beta1, "fd": curve["fd"][-1], "d_loss": curve["d_loss"][-1],
                       "g_loss": curve["g_loss"][-1], "curve": curve}
      rows.append(gan.generate(g.apply, state.g.params, 10, cfg["sweep_latent"], 50_000))
  plots.image_grid(rows, out / "sweep_samples.png",
                   row_titles=[f"{n}: fd {r['fd']:.3g}" for n, r in results.items()], title="DCGAN samples per setting")
  for key, label in (("fd", "fd to test set"), ("g_loss", "generator loss"), ("d_loss", "discriminator loss")):
    plots.lines({n: (r["curve"]["step"], r["curve"][key]) for n, r in results.items()}, out / f"sweep_{key}.png",
                xlabel="training step", ylabel=label, title=f"{label} during training", logy=key == "fd")
  return results, rank_agreement(results)


def rank_agreement(results):
  """Spearman correlation of each loss with fd: over all (setting, checkpoint) points and over final values."""
  points = [(c["fd"][i], c["d_loss"][i], c["g_loss"][i]) for r in results.values()
            for c in [r["curve"]] for i in range(len(c["fd"]))]
  finals = [(r["fd"], r["d_loss"], r["g_loss"]) for r in results.values()]
  rho = lambda xs, j: float(spearmanr([x[0] for x in xs], [x[j] for x in xs])[0]) if len(xs) > 2 else None
  return {"spearman_fd_d_loss_all": rho(points, 1), "spearman_fd_g_loss_all": rho(points, 2),
          "spearman_fd_d_loss_final": rho(finals, 1), "spearman_fd_g_loss_final": rho(finals, 2),
          "fd_range": [min(r["fd"] for r in results.values()), max(r["fd"] for r in results.values())]}


def run(cfg: dict, out) -> dict:
  ds = data.load(cfg["dataset"], download=True)
  clf = classifier.pretrained(cfg["dataset"], steps=cfg["classifier_steps"])
  timing, t0 = {}, time.perf_counter()
  mix, curves = mixtures(cfg, out)
  timing["mixtures"], t0 = round(time.perf_counter() - t0, 1), time.perf_counter()
  stacked = stacked_mnist(cfg, clf, ds, out)
  timing["stacked_mnist"], t0 = round(time.perf_counter() - t0, 1), time.perf_counter()
  instability, agreement = sweep(cfg, clf, ds, out)
  timing["instability"] = round(time.perf_counter() - t0, 1)
  fd_floor = fd.fd(clf, ds.train_images[:cfg["sweep_fd_samples"]], ds.test_images[:cfg["sweep_fd_samples"]])
  return {"ring": mix["ring"], "grid": mix["grid"], "mixture_curves_seed0": curves, "stacked_mnist": stacked,
          "instability": instability, "instability_summary": {**agreement, "fd_floor_train_vs_test": fd_floor},
          "classifier_test_acc": clf.test_acc, "timing_s": timing,
          "findings": findings(mix, curves, stacked, instability, agreement),
          "targets": TARGETS, "anchors": ANCHORS, "data": data.describe(cfg["dataset"]), "protocol": protocol(cfg)}


# ---------------------------------------------------------------- what the answer states
def published(table: dict, columns: tuple) -> dict:
  """{method: {column: mean, column + "_std": std}} of a published table whose cells are a value or (mean, std)."""
  rows = {}
  for method, cells in table.items():
    rows[method] = {}
    for column, cell in zip(columns, cells):
      mean, std = cell if isinstance(cell, tuple) else (cell, None)
      rows[method].update({column: mean} if std is None else {column: mean, column + "_std": std})
  return rows


ANCHORS = {
    "pacgan_table1": {"label": "PacGAN Table 1", "source": "PacGAN (Lin et al. 2018), Table 1",
                      "note": "their architecture, 10 trials",
                      "rows": published(PACGAN_TABLE1, COLUMNS_2D)},
    "veegan_table1": {"label": "VEEGAN Table 1", "source": "VEEGAN (Srivastava et al. 2017), Table 1",
                      "note": "2500 samples per generator, 5 runs", "rows": published(VEEGAN_TABLE1, COLUMNS_2D)},
    "veegan_table2": {"label": "VEEGAN Table 2", "source": "VEEGAN (Srivastava et al. 2017), Table 2",
                      "rows": published(VEEGAN_TABLE2, COLUMNS_STACKED)},
    "pacgan_table2": {"label": "PacGAN Table 2", "source": "PacGAN (Lin et al. 2018), Table 2", "note": "VEEGAN's setting",
                      "rows": published(PACGAN_TABLE2, COLUMNS_STACKED)},
    "stacked_samples": 26000,
}


def protocol(cfg) -> dict:
  """Constants the answer quotes: the mixtures' geometry, the 2-D architecture, what each method changes."""
  (_, ring, ring_std), (_, grid, grid_std) = data.mixture("ring", 1, 0), data.mixture("grid", 1, 0)
  g, d = mixture_gan("gan", cfg)[:2]
  return {"ring": {"modes": len(ring), "radius": float(np.linalg.norm(ring, axis=1).mean()), "std": ring_std},
          "grid": {"modes": len(grid), "std": grid_std,
                   "spacing": float(min(np.linalg.norm(a - b) for i, a in enumerate(grid) for b in grid[i + 1:]))},
          "strict_share": STRICT_SHARE, "hq_threshold_std": 3,
          "mix_generator": {"hidden": list(g.hidden), "batch_norm": g.batch_norm, "init_std": g.init_std},
          "mix_discriminator": {"hidden": list(d.hidden), "maxout": d.maxout, "init_std": d.init_std},
          "methods_2d": {m: {"pack": pack, "unroll": unroll, **({"unroll_lr": cfg["mix_unroll_lr"]} if unroll else {})}
                         for m, (pack, unroll) in METHODS_2D.items() if m in cfg["mix_methods"]},
          "methods_stacked": {m: {"pack": pack, "batch_std": std} for m, (pack, std) in METHODS_STACKED.items()},
          "stacked_modes": 1000, "tb_samples": TB_SAMPLES}


def strength(rho) -> str:
  """A rank correlation in words."""
  return "n/a (too few settings)" if rho is None else ("weak" if abs(rho) < 0.4 else "moderate" if abs(rho) < 0.7 else "strong")


def findings(mix, curves, stacked, instability, agreement) -> dict:
  """The selections, flags and targets the answer states, computed from the measurements."""
  remedies = [m for m in mix["ring"] if m != "gan"]
  best_2d = {kind: max(remedies, key=lambda m: (mix[kind][m]["modes_strict"], mix[kind][m]["hq_pct"]))
             for kind in ("ring", "grid")}
  strict = curves["ring/gan"]["strict"]
  pac1 = ANCHORS["pacgan_table1"]["rows"]
  targets_2d = {}
  for kind in ("ring", "grid"):
    targets_2d[kind] = {}
    for method, row in TARGETS["rows_2d"].items():
      r, ref = mix[kind][method], pac1[row][f"{kind}_modes"]
      within = abs(r["modes"] - ref) <= TARGETS["mode_distance_max"] + 1e-9
      hq_met = r["hq_pct"] >= TARGETS["hq_pct_min"]
      targets_2d[kind][method] = {"row": row, "published_modes": ref, "modes_minus_published": r["modes"] - ref,
                                  "within": within, "hq_met": hq_met, "met": within and hq_met}
  dc, pac = stacked["dcgan"], stacked["pacdcgan2"]
  targets_stacked = {
      "pac_more_modes_every_seed": all(p["modes"] > q["modes"] for q, p in zip(dc["per_seed"], pac["per_seed"])),
      "pac_lower_kl_every_seed": all(p["kl"] < q["kl"] for q, p in zip(dc["per_seed"], pac["per_seed"])),
      "dcgan_modes_met": dc["modes"] >= TARGETS["stacked_dcgan_modes_min"],
      "dcgan_modes_short_by": TARGETS["stacked_dcgan_modes_min"] - dc["modes"]}
  flags = [t["met"] for kind in targets_2d.values() for t in kind.values()]
  flags += [targets_stacked[k] for k in ("pac_more_modes_every_seed", "pac_lower_kl_every_seed", "dcgan_modes_met")]
  rho_keys = ("spearman_fd_d_loss_all", "spearman_fd_g_loss_all", "spearman_fd_d_loss_final", "spearman_fd_g_loss_final")
  return {
      "best_remedy_2d": best_2d,
      # does the vanilla GAN (ring, seed 0) lose a strictly captured mode again while it trains?
      "ring_gan_loses_modes": any(strict[i] < max(strict[:i]) for i in range(1, len(strict))),
      "targets_2d": targets_2d, "targets_stacked": targets_stacked,
      "targets_met": sum(flags), "targets_total": len(flags),
      "best_stacked": max(METHODS_STACKED, key=lambda m: stacked[m]["modes"]),
      "sweep_best_fd": min(instability, key=lambda n: instability[n]["fd"]),
      "sweep_worst_fd": max(instability, key=lambda n: instability[n]["fd"]),
      "spearman_strength": {k: strength(agreement[k]) for k in rho_keys},
      "losses_weak_over_checkpoints": all(strength(agreement[k]) == "weak" for k in rho_keys[:2]),
  }


def describe_method(spec: dict) -> str:
  """What a method changes in the plain GAN, from its protocol entry."""
  parts = []
  if spec.get("pack", 1) > 1:
    parts.append(f"PacGAN, the discriminator judges {spec['pack']} samples at once")
  if spec.get("unroll", 0):
    parts.append(f"Unrolled GAN, the generator's loss looks {spec['unroll']} discriminator steps ahead "
                 f"(inner lr {spec['unroll_lr']})")
  if spec.get("batch_std"):
    parts.append("the discriminator sees a minibatch-std feature map (how varied its batch is)")
  return "; ".join(parts) or "the plain non-saturating GAN"


def answer(metrics: dict) -> str:
  cfg = metrics["_meta"]["config"]
  f, t, a, proto, d = metrics["findings"], metrics["targets"], metrics["anchors"], metrics["protocol"], metrics["data"]
  mix = {kind: metrics[kind] for kind in ("ring", "grid")}
  stacked, instability = metrics["stacked_mnist"], metrics["instability"]
  agreement, fd_floor = metrics["instability_summary"], metrics["instability_summary"]["fd_floor_train_vs_test"]
  curve = metrics["mixture_curves_seed0"]["ring/gan"]
  methods_2d, methods_stacked = list(proto["methods_2d"]), list(proto["methods_stacked"])
  pm, num = report.pm, report.num
  n_ring, n_grid = proto["ring"]["modes"], proto["grid"]["modes"]
  yes = lambda ok: "met" if ok else "**missed**"

  cols = [("modes", "ring"), ("modes_strict", "ring"), ("hq_pct", "ring"), ("modes", "grid"), ("modes_strict", "grid"),
          ("hq_pct", "grid")]
  rows = [[m] + [pm(mix[kind][m], key) for key, kind in cols] for m in methods_2d]
  for table in ("pacgan_table1", "veegan_table1"):
    rows += [[f"{name} ({a[table]['label']}, published)", pm(r, "ring_modes"), None, pm(r, "ring_hq_pct"),
              pm(r, "grid_modes"), None, pm(r, "grid_hq_pct")] for name, r in a[table]["rows"].items()]
  table_2d = report.table(["method", f"ring modes (of {n_ring})", "ring strict modes", "ring high-quality %",
                           f"grid modes (of {n_grid})", "grid strict modes", "grid high-quality %"], rows)
  trows = []
  for kind, per_method in f["targets_2d"].items():
    for m, tt in per_method.items():
      trows.append([m, kind, pm(mix[kind][m], "modes"), pm(a["pacgan_table1"]["rows"][tt["row"]], f"{kind}_modes"),
                    f"{tt['modes_minus_published']:+.3g}", "yes" if tt["within"] else "no", pm(mix[kind][m], "hq_pct"),
                    "yes" if tt["hq_met"] else "no", yes(tt["met"])])
  table_targets = report.table(
      ["method", "mixture", "modes (measured)", f"modes ({a['pacgan_table1']['label']})", "difference",
       f"within {num(t['mode_distance_max'])} mode", "high-quality %", f"≥ {num(t['hq_pct_min'])}%", "target"], trows)

  real = stacked["real_test_data"]
  srows = [["real Stacked MNIST (test digits)", real["modes"], f"{real['kl']:.3f}"]]
  srows += [[m, pm(stacked[m], "modes", 1, 4), pm(stacked[m], "kl")] for m in methods_stacked]
  for table in ("veegan_table2", "pacgan_table2"):
    srows += [[f"{name} ({a[table]['label']}, published)", pm(r, "modes", 1, 4), pm(r, "kl")]
              for name, r in a[table]["rows"].items()]
  table_stacked = report.table(["method", f"modes (of {proto['stacked_modes']})", "KL to uniform"], srows)
  irows = [[n, r["lr"], r["beta1"], r["d_loss"], r["g_loss"], r["fd"]] for n, r in instability.items()]
  table_sweep = report.table(["setting", "lr", "Adam beta1", "final D loss", "final G loss", "final fd"], irows)

  van_ring, van_grid = mix["ring"]["gan"], mix["grid"]["gan"]
  pac_ring, pac_grid = mix["ring"]["pacgan2"], mix["grid"]["pacgan2"]
  best_ring, best_grid = f["best_remedy_2d"]["ring"], f["best_remedy_2d"]["grid"]
  dynamics = ("modes are found and lost again rather than accumulated" if f["ring_gan_loses_modes"] else
              "no captured mode was lost again between these checkpoints")
  gen, disc = proto["mix_generator"], proto["mix_discriminator"]
  g_layer = "linear, batch norm, ReLU" if gen["batch_norm"] else "ReLU"
  d_layer = f"maxout layers of {disc['hidden'][0]} units ({disc['maxout']} pieces)" if disc["maxout"] > 1 else \
      f"leaky-ReLU layers of {disc['hidden'][0]} units"
  init = f"weights drawn from N(0, {gen['init_std']})" if gen["init_std"] else "Flax's default initialisation"
  methods_text = "; ".join(f"`{m}`: {describe_method(spec)}" for m, spec in proto["methods_2d"].items())
  stacked_text = "; ".join(f"`{m}`: {describe_method(spec)}" for m, spec in proto["methods_stacked"].items())
  ts = f["targets_stacked"]
  seeds = lambda m, key, fmt: ", ".join(format(r[key], fmt) for r in stacked[m]["per_seed"])
  rho = {k: "n/a" if agreement[k] is None else f"{agreement[k]:.2f}" for k in f["spearman_strength"]}
  word = f["spearman_strength"]

  return f"""
**Short answer.** Mode collapse, and unstable training that has to be judged from the samples, not from the
two losses. On the ring the vanilla GAN captures {num(van_ring['modes'])} of {n_ring} modes and PacGAN2
{num(pac_ring['modes'])} (grid: {num(van_grid['modes'])} and {num(pac_grid['modes'])} of {n_grid}); on Stacked MNIST the
DCGAN covers {num(stacked['dcgan']['modes'], 4)} of {proto['stacked_modes']} modes and PacDCGAN2
{num(stacked['pacdcgan2']['modes'], 4)}; across the learning-rate × beta1 settings fd ranges from
{agreement['fd_range'][0]:.3g} to {agreement['fd_range'][1]:.3g}, and its rank correlation with the discriminator loss
over all checkpoints is {rho['spearman_fd_d_loss_all']} ({word['spearman_fd_d_loss_all']}). {f['targets_met']} of the
{f['targets_total']} targets below are met in this run.

**Protocol.** 2-D ring: {n_ring} Gaussians on a circle of radius {num(proto['ring']['radius'])} (std {num(proto['ring']['std'])});
grid: {n_grid} Gaussians (spacing {num(proto['grid']['spacing'])}, std {num(proto['grid']['std'])}); VEEGAN's capture rule as
the PacGAN authors' evaluation code implements it: a sample is *high quality* if it lies within {proto['hq_threshold_std']}
std of its nearest mode, a mode is *captured* (`modes`) if at least one high-quality sample has it as its nearest
mode; {cfg['mix_eval_samples']} samples per generator. Because one stray sample captures a mode under that rule, we
also report *strict* modes: modes holding at least {100 * proto['strict_share']:.0f}% of their fair share of the samples.
The architecture is PacGAN's at CPU widths: the generator maps {cfg['mix_latent']}-d noise through {len(gen['hidden'])}
hidden layers of {gen['hidden'][0]} units ({g_layer}) to a point, the discriminator has {len(disc['hidden'])} {d_layer};
{init}. Each is trained {cfg['mix_steps']} steps (batch {cfg['mix_batch']}, Adam lr {cfg['mix_lr']} with cosine decay,
beta1 {cfg['mix_beta1']}), mean ± std over {cfg['seeds']} seed(s). Methods: {methods_text}. The published rows: {a['pacgan_table1']['source']} ({a['pacgan_table1']['note']}) and
{a['veegan_table1']['source']} ({a['veegan_table1']['note']}); the same GAN scores very differently in the two
papers: the baselines depend strongly on the architecture.

{table_2d}

![ring](ring.png)
![grid](grid.png)

The vanilla GAN captures {num(van_ring['modes'])}/{n_ring} ring modes by VEEGAN's rule but {num(van_ring['modes_strict'])}/{n_ring}
by the strict rule, and {num(van_grid['modes'])}/{n_grid} ({num(van_grid['modes_strict'])} strict) grid modes with
{num(van_grid['hq_pct'])}% high-quality samples. While it trains (seed 0) the number of strictly captured ring modes
goes {curve['strict']} at steps {curve['step']}: {dynamics}. The best remedy on the ring is {best_ring}
({num(mix['ring'][best_ring]['modes'])} of {n_ring} modes, {num(mix['ring'][best_ring]['modes_strict'])} strict,
{num(mix['ring'][best_ring]['hq_pct'])}% high quality); on the grid {best_grid} ({num(mix['grid'][best_grid]['modes'])} of
{n_grid} modes, {num(mix['grid'][best_grid]['modes_strict'])} strict, {num(mix['grid'][best_grid]['hq_pct'])}% high quality).

Targets: each of {', '.join(t['rows_2d'])} within {num(t['mode_distance_max'])} mode of its row in
{a['pacgan_table1']['label']}, with at least {num(t['hq_pct_min'])}% high-quality samples ({cfg['mix_steps']} steps on a CPU budget; the published
runs trained far longer):

{table_targets}

![vanilla GAN modes during training](mixture_modes_during_training.png)

**Stacked MNIST** (three MNIST digits as RGB channels, {proto['stacked_modes']} modes). Each channel of
{cfg['stacked_eval_samples']} generated images is classified by aejax's pretrained MNIST CNN (test accuracy
{100 * metrics['classifier_test_acc']:.2f}%); `modes` is the number of distinct digit triples, `kl` is
KL(generated triple histogram || uniform over {proto['stacked_modes']}). DCGAN (base {cfg['stacked_base']}),
{cfg['stacked_steps']} steps (batch {cfg['stacked_batch']}, Adam lr {cfg['stacked_lr']}), {cfg['stacked_seeds']} seed(s);
{stacked_text}. The real test digits, stacked and counted the same way with the same number of samples, are the
floor of what a perfect generator could show. The published rows ({a['veegan_table2']['source']}; {a['pacgan_table2']['source']},
{a['pacgan_table2']['note']}) use {a['stacked_samples']:,} samples and much longer training.

{table_stacked}

![Stacked MNIST samples](stacked_mnist.png)

Most modes here: {f['best_stacked']}, {num(stacked[f['best_stacked']]['modes'], 4)} of {proto['stacked_modes']}. Targets:
- PacDCGAN2 has more modes than DCGAN on every seed: {yes(ts['pac_more_modes_every_seed'])}
  ({seeds('pacdcgan2', 'modes', 'd')} vs {seeds('dcgan', 'modes', 'd')});
- PacDCGAN2 has a lower KL than DCGAN on every seed: {yes(ts['pac_lower_kl_every_seed'])}
  ({seeds('pacdcgan2', 'kl', '.3g')} vs {seeds('dcgan', 'kl', '.3g')});
- DCGAN covers at least {t['stacked_dcgan_modes_min']} modes (the DCGAN row of {a['veegan_table2']['label']}):
  {yes(ts['dcgan_modes_met'])} ({num(stacked['dcgan']['modes'], 4)}{'' if ts['dcgan_modes_met'] else f", {num(ts['dcgan_modes_short_by'], 4)} short"}).

**Instability and evaluation.** The same DCGAN (base {cfg['sweep_base']}) on {d['name']} ({d['what']}),
{cfg['sweep_steps']} steps, for each learning rate and Adam beta1; D/G losses are averaged over each logging interval,
fd is the Frechet distance between {cfg['sweep_fd_samples']} generated and test images in the classifier's
penultimate features (floor: fd(train, test) = {fd_floor:.3g}).

{table_sweep}

![fd](sweep_fd.png)
![generator loss](sweep_g_loss.png)
![discriminator loss](sweep_d_loss.png)
![samples](sweep_samples.png)

fd ranges from {agreement['fd_range'][0]:.3g} ({f['sweep_best_fd']}) to {agreement['fd_range'][1]:.3g} ({f['sweep_worst_fd']})
across settings of the same model and data (the sample grid shows the same ordering by eye). Over every (setting,
checkpoint) pair the Spearman rank correlation of fd with the discriminator loss is
{rho['spearman_fd_d_loss_all']} ({word['spearman_fd_d_loss_all']}) and with the generator loss
{rho['spearman_fd_g_loss_all']} ({word['spearman_fd_g_loss_all']}); across the final values of
the settings {rho['spearman_fd_d_loss_final']} and {rho['spearman_fd_g_loss_final']}.
{"Neither loss ranks the checkpoints by sample quality: " if f['losses_weak_over_checkpoints'] else "The losses carry some information here, but "}a
GAN's losses score a moving game between two networks (each is measured against the current opponent), not the
distance of the samples from the data, so a GAN has to be evaluated from its samples (fd, mode counts, looking).
"""
