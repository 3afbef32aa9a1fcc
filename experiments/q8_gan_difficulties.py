"""q8: What are the main difficulties when training GANs? *Mode collapse*: a GAN, PacGAN and the Unrolled GAN on
the VEEGAN 2-D ring and grid, and DCGANs (plain, packed, minibatch-std) on Stacked MNIST, modes counted by the VEEGAN
protocol. *Instability*: a DCGAN's lr x beta1 sweep, its losses against the Frechet distance (fd) in a classifier's features.
"""

import time

import numpy as np
from scipy.stats import spearmanr

from aejax import config as C
from aejax import data, plots, recipes, trainer
from aejax.evaluation import classifier, fd, mean_std, modes
from aejax.models import gan

NAME = "q8_gan_difficulties"
QUESTION = "What are the main difficulties when training GANs?"

STRICT_SHARE = 0.2  # a mode is strictly captured when it holds this fraction of its fair share of samples
TB_SAMPLES = 16  # generated images drawn in TensorBoard at each log point of the sweep
# 2-D methods: name -> (PacGAN packing, Unrolled-GAN steps).
METHODS_2D = {"gan": (1, 0), "pacgan2": (2, 0), "unrolled": (1, 5)}
METHODS_STACKED = {"dcgan": (1, False), "pacdcgan2": (2, False), "dcgan_minibatch_std": (1, True)}
# The DCGANs draw 28x28 greyscale images, and the stacked part puts three of them in the RGB channels.
GREYSCALE = ("mnist", "fashion_mnist")

# A `batch` counts the discriminator's examples, as in PacGAN's code: with packing m, a batch of B packs holds
# m * B generated (and real) samples, which split over the devices whenever B does.
SCHEMA = C.schema(
    dataset=C.choice("mnist", GREYSCALE), seeds=C.integer(3, min=1), classifier_steps=C.integer(classifier.DEFAULT_STEPS, min=1),
    # 2-D mixtures, PacGAN's architecture (G 2 -> 4 x g_width ReLU + batch norm -> 2; D three maxout
    # layers of d_width units, 5 pieces; weights N(0, 0.02)) at a CPU budget: narrower layers, their
    # batch of 100 packs and beta1 0.8, and 40k steps of a cosine-decayed Adam (D at 1.7 times G's rate) instead
    # of their 400k at lr 1e-4 (benchmarks/RESULTS.md, mixture_recipes: grid PacGAN2 24.0 modes at 82.0 % high
    # quality, where D at 1.4 and 2 times G's rate read 24.3 at 75.3 % and 20.7 at 84.8 %)
    mix=dict(latent=C.integer(2, min=1), g_width=C.integer(128, min=1), d_width=C.integer(64, min=1),
             steps=C.integer(40000, min=8), fuse=C.integer(50, min=1),  # evaluated 8 times; fuse: steps per lax.scan dispatch
             batch=C.batch(100), lr=C.real(1e-3, above=0), d_lr=C.real(1.7e-3, above=0), beta1=C.real(0.8, min=0, below=1),
             unroll_lr=C.real(1e-2, above=0),
             # the Unrolled GAN (5 unrolled discriminator steps) costs about 9x a GAN step: paper profile only
             methods=C.choices(("gan", "pacgan2"), METHODS_2D),
             train_points=C.integer(100000, min=1), eval_samples=C.integer(2500, min=1)),
    # Stacked MNIST (three images of `dataset` as channels): DCGAN with 3 channels
    # base: the generator's width, d_base the discriminator's (benchmarks/RESULTS.md, gan_recipes: G 32 and lr 2e-3
    # read 5.6 % of samples confidently after 3000 steps, where G 16 and lr 5e-4 read 1.9 %)
    stacked=dict(seeds=C.integer(2, min=1), train=C.integer(50000, min=1), latent=C.integer(64, min=1), base=C.integer(32, min=1),
                 d_base=C.integer(16, min=1), steps=C.integer(3000, min=1), fuse=C.integer(50, min=1), batch=C.batch(64), lr=C.real(2e-3, above=0),
                 eval_samples=C.integer(26000, min=1)),
    sweep=dict(lr=C.reals((2e-4, 2e-3, 1e-2), above=0), beta1=C.reals((0.5, 0.9), min=0, below=1), steps=C.integer(500, min=1),
               base=C.integer(16, min=1), latent=C.integer(64, min=1), batch=C.batch(64), evals=C.integer(5, min=1),
               fd_samples=C.integer(1000, min=2)))  # instability: DCGAN on `dataset`, a grid of lr x beta1

PROFILES = {
    "smoke": {"seeds": 1, "mix.g_width": 32, "mix.d_width": 16, "mix.steps": 40, "mix.batch": 64, "mix.train_points": 2000,
              "mix.eval_samples": 500, "stacked.train": 1000, "stacked.base": 8, "stacked.d_base": 8, "stacked.steps": 10,
              "stacked.eval_samples": 200, "classifier_steps": 20, "sweep.lr": (2e-4, 1e-2), "sweep.beta1": (0.5,),
              "sweep.steps": 10, "sweep.base": 8, "sweep.evals": 2, "sweep.fd_samples": 200},
    # their schedule: full widths, batch 100, Adam 1e-4 with beta1 0.8, 400 epochs of 100k points, 10 trials
    "paper": {"seeds": 10, "mix.methods": tuple(METHODS_2D), "mix.g_width": 400, "mix.d_width": 200, "mix.steps": 400_000,
              "mix.batch": 100, "mix.lr": 1e-4, "mix.d_lr": 1e-4, "mix.beta1": 0.8, "stacked.seeds": 3, "stacked.train": 60000, "stacked.base": 64, "stacked.d_base": 64, "stacked.lr": 2e-4,
              "stacked.steps": 20000, "sweep.steps": 5000, "sweep.base": 64, "sweep.fd_samples": 10000, "sweep.evals": 10},
}


def check(cfg):
  if cfg.sweep.steps < cfg.sweep.evals:
    raise C.ConfigError(f"sweep.steps={cfg.sweep.steps} must be >= sweep.evals={cfg.sweep.evals}; raise sweep.steps")
  if not {"gan", "pacgan2"} <= set(cfg.mix.methods):
    raise C.ConfigError(f"mix.methods must include gan and pacgan2 (the targets compare them); got {cfg.mix.methods}")


def mixture_gan(method, cfg):
  """(generator, discriminator, pack, unroll) of a 2-D method: PacGAN's architecture at cfg's widths."""
  g = gan.MLPGenerator(hidden=(cfg.mix.g_width,) * 4, batch_norm=True, init_std=0.02)
  d = gan.MLPDiscriminator(hidden=(cfg.mix.d_width,) * 3, maxout=5, init_std=0.02)
  return g, d, *METHODS_2D[method]


def train_mixture_gan(kind, method, cfg, g, d, pack, unroll):
  """Train cfg.seeds trials of one GAN on the mixture, side by side in one program (trial t: seed t's init,
  noise and data order, on one draw of the mixture). Returns per trial (final metrics, samples, history with
  modes over training, the raw weights' metrics)."""
  mix, (points, centers, std), seeds = cfg.mix, data.mixture(kind, cfg.mix.train_points, 0), tuple(range(cfg.seeds))
  sample = lambda params, s: gan.generate(g.apply, params, mix.eval_samples, mix.latent, s, image_output=False)

  def count(x):
    m = modes.mixture_modes(x, centers, std)
    # strict: a mode holds >= STRICT_SHARE of its fair share of the samples (a few stray samples do not count)
    strict = int(sum(c >= STRICT_SHARE * mix.eval_samples / len(centers) for c in m["counts"]))
    return {"modes": m["modes"], "hq_pct": m["hq_pct"], "modes_strict": strict}

  def eval_fn(state):  # each trial's counts, as arrays over the trials
    rows = [count(sample(trainer.take_trial(state.average["g"], t), 10_000 + t)) for t in seeds]
    return {k.replace("modes_strict", "strict"): np.array([r[k] for r in rows]) for k in rows[0]}

  opts = recipes.GANOptions(latent=mix.latent, steps=mix.steps, batch_size=mix.batch * pack, lr=mix.lr, d_lr=mix.d_lr, beta1=mix.beta1,
                            decay_steps=mix.steps, alpha=0.01, pack=pack, unroll=unroll, unroll_lr=mix.unroll_lr, image_output=False)
  state, history = recipes.train_gan(g, d, points, opts, seed=seeds, name=f"{kind}-{method}",
                                     log_every=mix.steps // 8, eval_fn=eval_fn, steps_per_dispatch=mix.fuse)
  out = []
  for t in seeds:  # fresh samples of the averaged generator: the reported numbers; the raw weights once beside
    x, raw = sample(trainer.take_trial(state.average["g"], t), 20_000 + t), trainer.take_trial(state.g.params, t)
    out.append((count(x), x, trainer.trial_history(history, t), count(sample(raw, 20_000 + t))))
  return out


def mixtures(cfg, out):
  results, curves = {}, {}
  # one model pair per method: every kind reuses one compiled step (the cosine decay is traced)
  models = {method: mixture_gan(method, cfg) for method in cfg.mix.methods}
  for kind in ("ring", "grid"):
    results[kind], panels = {}, {}
    _, centers, _ = data.mixture(kind, 1, 0)
    for method in cfg.mix.methods:
      trials = train_mixture_gan(kind, method, cfg, *models[method])
      (row, x, history, _), rows, raw = trials[0], [t[0] for t in trials], [t[3] for t in trials]
      panels[f"{method} (seed 0): {row['modes']}/{len(centers)} modes, {row['hq_pct']:.0f}% hq"] = x
      evaluated = [h for h in history if "modes" in h]  # rows at checkpoint steps carry no evaluation
      counted = lambda k, v: int(v) if k in ("modes", "strict") else v  # a trial's counts come back as floats
      curves[f"{kind}/{method}"] = {k: [counted(k, h[k]) for h in evaluated] for k in ("step", "modes", "strict", "hq_pct", "d_loss")}
      results[kind][method] = {**mean_std(rows), "per_seed": rows, "raw_weights": mean_std(raw)}
    real, _, _ = data.mixture(kind, cfg.mix.eval_samples, 99)
    plots.scatter2d({"real data": real, **panels}, None, out / f"{kind}.png", xlabel="x1", ylabel="x2",
                    title=f"{kind}: {cfg.mix.eval_samples} samples per generator")
  series = {f"{key} strict modes": (c["step"], c["strict"]) for key, c in curves.items() if key.endswith("/gan")}
  plots.lines(series, out / "mixture_modes_during_training.png", xlabel="training step",
              ylabel="modes holding >= 20% of their share", title="vanilla GAN during training (seed 0)")
  return results, curves


def stacked_mnist(cfg, clf, ds, out):
  s = cfg.stacked
  train_x, _ = data.stacked_mnist(ds.train_images, ds.train_labels, s.train, seed=0)
  real_x, _ = data.stacked_mnist(ds.test_images, ds.test_labels, s.eval_samples, seed=1)
  count = lambda x: modes.stacked_mnist_modes(clf.logits, x)  # argmax counts and the confident counts
  # the real test images: the floor at this sample size; noise: what the counts give for images that are not digits
  results, grids = {"real_test_data": count(real_x), "noise_control": count(modes.noise_images(s.eval_samples, 2))}, {}
  for method, (pack, batch_std) in METHODS_STACKED.items():
    rows, g, d = [], gan.DCGANGenerator(channels=3, base=s.base), gan.DCGANDiscriminator(base=s.d_base, batch_std=batch_std)
    opts = recipes.GANOptions(latent=s.latent, steps=s.steps, batch_size=s.batch * pack, lr=s.lr,
                              decay_steps=s.steps, alpha=0.0, pack=pack)
    # the seeds as trials of one program, one after another inside it (lax.map: on a CPU the faster form for
    # convolutions, benchmarks/RESULTS.md), with s.fuse steps per dispatch
    state, _ = recipes.train_gan(g, d, train_x, opts, seed=tuple(range(s.seeds)), name=f"stacked-{method}", log_every=s.steps,
                                 steps_per_dispatch=s.fuse, vectorise_trials=False)
    for seed in range(s.seeds):
      x = gan.generate(g.apply, trainer.take_trial(state.average["g"], seed), s.eval_samples, s.latent, 30_000 + seed)
      rows.append(count(x))
      grids.setdefault(method, x[:10])  # seed 0's
    results[method] = {**mean_std(rows), "per_seed": rows}
  plots.image_grid([real_x[:10]] + [grids[m] for m in METHODS_STACKED], out / "stacked_mnist.png",
                   row_titles=["real"] + list(METHODS_STACKED), title=f"stacked {cfg.dataset} samples")
  return results


def sweep(cfg, clf, ds, out):
  s = cfg.sweep
  ref = clf.features(ds.test_images[:s.fd_samples])
  g, d = gan.DCGANGenerator(base=s.base), gan.DCGANDiscriminator(base=s.base)

  def eval_fn(state):  # "images" go to TensorBoard only
    x = gan.generate(g.apply, state.average["g"], s.fd_samples, s.latent, 40_000)
    return {"fd": fd.frechet_distance(clf.features(x), ref), "images": x[:TB_SAMPLES]}

  results, rows = {}, []
  for lr in s.lr:
    for beta1 in s.beta1:
      opts = recipes.GANOptions(latent=s.latent, steps=s.steps, batch_size=s.batch, lr=lr, beta1=beta1)
      state, history = recipes.train_gan(g, d, ds.train_images, opts, seed=0, name=f"sweep-lr={lr:g}-beta1={beta1:g}",
                                         log_every=s.steps // s.evals, eval_fn=eval_fn)
      curve = {k: [h[k] for h in history if "fd" in h] for k in ("step", "d_loss", "g_loss", "d_real", "d_fake", "fd")}
      results[f"lr={lr:g},beta1={beta1:g}"] = {"lr": lr, "beta1": beta1, **{k: curve[k][-1] for k in ("fd", "d_loss", "g_loss")},
                                               "curve": curve}
      rows.append(gan.generate(g.apply, state.average["g"], 10, s.latent, 50_000))
  plots.image_grid(rows, out / "sweep_samples.png",
                   row_titles=[f"{n}: fd {r['fd']:.3g}" for n, r in results.items()], title="DCGAN samples per setting")
  for key, label in (("fd", "fd to test set"), ("g_loss", "generator loss"), ("d_loss", "discriminator loss")):
    plots.lines({n: (r["curve"]["step"], r["curve"][key]) for n, r in results.items()}, out / f"sweep_{key}.png",
                xlabel="training step", ylabel=label, title=f"{label} during training", logy=key == "fd")
  return results, rank_agreement(results)


def rank_agreement(results):
  """Spearman correlation of each loss with fd: over all (setting, checkpoint) points and over final values."""
  points = [p for r in results.values() for p in zip(*(r["curve"][k] for k in ("fd", "d_loss", "g_loss")))]
  finals = [(r["fd"], r["d_loss"], r["g_loss"]) for r in results.values()]
  rho = lambda xs, j: float(spearmanr([x[0] for x in xs], [x[j] for x in xs])[0]) if len(xs) > 2 else None
  return {"spearman_fd_d_loss_all": rho(points, 1), "spearman_fd_g_loss_all": rho(points, 2),
          "spearman_fd_d_loss_final": rho(finals, 1), "spearman_fd_g_loss_final": rho(finals, 2),
          "fd_range": [min(r["fd"] for r in results.values()), max(r["fd"] for r in results.values())]}


def protocol(cfg) -> dict:
  """Properties of the run the answer states: the mixtures' geometry, the 2-D architecture, each method."""
  ((_, ring, ring_std), (_, grid, grid_std)), (g, d) = (data.mixture(k, 1, 0) for k in ("ring", "grid")), mixture_gan("gan", cfg)[:2]
  return {"ring": {"modes": len(ring), "radius": float(np.linalg.norm(ring, axis=1).mean()), "std": ring_std},
          "grid": {"modes": len(grid), "std": grid_std,
                   "spacing": float(min(np.linalg.norm(a - b) for i, a in enumerate(grid) for b in grid[i + 1:]))},
          "strict_share": STRICT_SHARE, "hq_threshold_std": 3,
          "mix_generator": {"hidden": list(g.hidden), "batch_norm": g.batch_norm, "init_std": g.init_std},
          "mix_discriminator": {"hidden": list(d.hidden), "maxout": d.maxout, "init_std": d.init_std},
          "methods_2d": {m: {"pack": pack, "unroll": unroll, **({"unroll_lr": cfg.mix.unroll_lr} if unroll else {})}
                         for m, (pack, unroll) in METHODS_2D.items() if m in cfg.mix.methods},
          "methods_stacked": {m: {"pack": pack, "batch_std": std} for m, (pack, std) in METHODS_STACKED.items()},
          "stacked_modes": 1000, "tb_samples": TB_SAMPLES}


def run(cfg, out) -> dict:
  ds = data.load(cfg.dataset, download=True)
  clf = classifier.pretrained(cfg.dataset, steps=cfg.classifier_steps)
  timing, parts = {}, {"mixtures": mixtures, "stacked_mnist": stacked_mnist, "instability": sweep}
  for key, part in parts.items():
    t0, parts[key] = time.perf_counter(), part(cfg, out) if part is mixtures else part(cfg, clf, ds, out)
    timing[key] = round(time.perf_counter() - t0, 1)
  (mix, curves), stacked, (instability, agreement) = parts.values()
  fd_floor = fd.fd(clf, ds.train_images[:cfg.sweep.fd_samples], ds.test_images[:cfg.sweep.fd_samples])
  return {"ring": mix["ring"], "grid": mix["grid"], "mixture_curves_seed0": curves, "stacked_mnist": stacked,
          "instability": instability, "instability_summary": {**agreement, "fd_floor_train_vs_test": fd_floor},
          "classifier_test_acc": clf.test_acc, "timing_s": timing, "data": data.describe(cfg.dataset),
          "protocol": protocol(cfg)}


def findings(metrics, published, results) -> dict:
  """The selections, flags and targets the answer states, from the measurements and the published tables."""
  mix, stacked, instability = {k: metrics[k] for k in ("ring", "grid")}, metrics["stacked_mnist"], metrics["instability"]
  agreement = metrics["instability_summary"]
  t, pac1 = published["targets"], published["pacgan_table1"]["rows"]
  remedies = [m for m in mix["ring"] if m != "gan"]
  best_2d = {kind: max(remedies, key=lambda m: (mix[kind][m]["modes_strict"], mix[kind][m]["hq_pct"])) for kind in mix}
  strict = metrics["mixture_curves_seed0"]["ring/gan"]["strict"]

  def target_2d(kind, method, row):  # at least hq_pct_min % high quality, modes_min modes, more modes than the GAN
    r, ref, want = mix[kind][method], pac1[row][f"{kind}_modes"], t[kind][method]
    hq_met = r["hq_pct"] >= want["hq_pct_min"]
    modes_met = r["modes"] >= want.get("modes_min", 0) - 1e-9
    pairs = list(zip(r["per_seed"], mix[kind]["gan"]["per_seed"]))
    beats = all(p["modes"] > q["modes"] for p, q in pairs) if want.get("beats_gan") else None
    return {"row": row, "published_modes": ref, "modes_minus_published": r["modes"] - ref, "hq_pct_min": want["hq_pct_min"],
            "modes_min": want.get("modes_min"), "hq_met": hq_met, "modes_met": modes_met, "beats_gan": beats,
            "met": hq_met and modes_met and beats is not False}

  targets_2d = {kind: {m: target_2d(kind, m, row) for m, row in t["rows_2d"].items()} for kind in mix}
  dc, pairs = stacked["dcgan"], list(zip(stacked["dcgan"]["per_seed"], stacked["pacdcgan2"]["per_seed"]))
  compared = metrics["data"]["name"] == "mnist"  # the published Stacked MNIST rows count MNIST digits
  # a mode counts when all three channels read confidently, and only for mostly-digit samples (noise gets some too)
  sure, floor = (lambda r, k: r.get(f"confident_{k}")), t["stacked_confident_share_min"]
  real_share = sure(stacked["real_test_data"], "pct")
  cm, ck = (lambda r: sure(r, "modes") or 0), (lambda r: float("inf") if sure(r, "kl") is None else sure(r, "kl"))
  not_digits = [m for m in METHODS_STACKED if real_share is not None and stacked[m]["confident_pct"] < floor * real_share]
  targets_stacked = {"measured": real_share is not None, "not_digits": not_digits, "confident_share_min": floor,
                     "confident_share_met": bool(real_share) and not not_digits,  # real images read: a share to compare with
                     "pac_more_modes_every_seed": all(cm(p) > cm(q) for q, p in pairs),
                     "pac_lower_kl_every_seed": all(ck(p) < ck(q) for q, p in pairs),
                     "dcgan_modes_met": cm(dc) >= t["stacked_dcgan_modes_min"] and bool(real_share) and "dcgan" not in not_digits,
                     "dcgan_modes_short_by": t["stacked_dcgan_modes_min"] - cm(dc)}
  flags = [x["met"] for kind in targets_2d.values() for x in kind.values()] + [targets_stacked[k] for k in (
      "confident_share_met", "pac_more_modes_every_seed", "pac_lower_kl_every_seed", *(["dcgan_modes_met"] if compared else []))]
  rho_keys = ("spearman_fd_d_loss_all", "spearman_fd_g_loss_all", "spearman_fd_d_loss_final", "spearman_fd_g_loss_final")
  strength = lambda rho: "n/a (too few settings)" if rho is None else "weak" if abs(rho) < 0.4 else "moderate" if abs(rho) < 0.7 else "strong"
  return {
      # ring_gan_loses_modes: does the vanilla GAN (ring, seed 0) lose a strictly captured mode again while it trains?
      "best_remedy_2d": best_2d, "ring_gan_loses_modes": any(strict[i] < max(strict[:i]) for i in range(1, len(strict))),
      "targets_2d": targets_2d, "targets_stacked": targets_stacked, "stacked_published_apply": compared,
      "targets_met": sum(flags), "targets_total": len(flags),
      "best_stacked": max(METHODS_STACKED, key=lambda m: (cm(stacked[m]), stacked[m]["modes"])),
      "sweep_best_fd": min(instability, key=lambda n: instability[n]["fd"]), "sweep_worst_fd": max(instability, key=lambda n: instability[n]["fd"]),
      "spearman_strength": {k: strength(agreement[k]) for k in rho_keys},
      "losses_weak_over_checkpoints": all(strength(agreement[k]) == "weak" for k in rho_keys[:2]),
  }
