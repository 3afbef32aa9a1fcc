"""q8: What are the main difficulties when training GANs?

Two difficulties, each measured. *Mode collapse*: a vanilla GAN and two remedies (PacGAN packing,
a minibatch-std discriminator) on the VEEGAN 2-D ring (8 modes) and grid (25 modes), and a DCGAN
with and without the remedies on Stacked MNIST (1000 modes), counted by the VEEGAN protocol
(aejax.evaluation.modes). *Instability and evaluation*: a sweep of the DCGAN's learning rate and
Adam beta1 on MNIST with the discriminator/generator losses and the Frechet distance in a
pretrained classifier's feature space recorded while it trains: the losses say little about
sample quality, fd does.
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

# VEEGAN (Srivastava et al., NeurIPS 2017) Table 1 and the PacGAN row (Lin et al. 2018): published numbers.
ANCHORS_2D = {"GAN": (1, 99.3, 3.3, 0.5), "ALI": (2.8, 0.13, 15.8, 1.6), "Unrolled GAN": (7.6, 35.6, 23.6, 16),
              "VEEGAN": (8.0, 52.9, 24.6, 40)}
ANCHORS_STACKED = {"DCGAN": (99, 3.40), "ALI": (16, 5.40), "Unrolled GAN": (48.7, 4.32), "VEEGAN": (150, 2.95),
                   "PacDCGAN2": (1000, 0.06)}
# 2-D methods: name -> (PacGAN packing, Unrolled-GAN steps)
METHODS_2D = {"gan": (1, 0), "pacgan2": (2, 0), "unrolled": (1, 5)}
METHODS_STACKED = {"dcgan": (1, False), "pacdcgan2": (2, False), "dcgan_minibatch_std": (1, True)}


def config(profile: str) -> dict:
  cfg = {"dataset": "mnist", "seeds": 3,
         # 2-D mixtures, PacGAN's architecture (G 2 -> 4 x mix_g_width ReLU + batch norm -> 2; D three
         # maxout layers of mix_d_width units, 5 pieces; weights N(0, 0.02)) at a CPU budget: narrower
         # layers, larger batches and a cosine-decayed Adam instead of their 400k steps at lr 1e-4
         "mix_latent": 2, "mix_g_width": 256, "mix_d_width": 128, "mix_steps": 2500, "mix_batch": 500,
         "mix_lr": 2e-3, "mix_beta1": 0.5, "mix_unroll_lr": 1e-2,
         "mix_train_points": 100000, "mix_eval_samples": 2500,
         # Stacked MNIST: DCGAN with 3 channels
         "stacked_seeds": 1, "stacked_train": 50000, "stacked_latent": 64, "stacked_base": 16,
         "stacked_steps": 1200, "stacked_batch": 64, "stacked_lr": 2e-4, "stacked_eval_samples": 10000,
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
    cfg.update(seeds=10, mix_g_width=400, mix_d_width=200, mix_steps=400_000, mix_batch=100, mix_lr=1e-4,
               mix_beta1=0.8, stacked_seeds=3, stacked_train=60000, stacked_base=64, stacked_steps=20000,
               stacked_eval_samples=26000, sweep_steps=5000, sweep_base=64, sweep_fd_samples=10000,
               sweep_evals=10)
  return cfg


def check(cfg):
  if cfg["mix_steps"] < 8 or cfg["sweep_steps"] < cfg["sweep_evals"]:
    raise ConfigError("mix_steps must be >= 8 and sweep_steps >= sweep_evals")


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
            "strict": int(sum(c >= 0.2 * fair_share for c in m["counts"]))}

  state, history = recipes.train_gan(g, d, points, latent=cfg["mix_latent"], steps=cfg["mix_steps"],
                                     batch_size=cfg["mix_batch"], lr=cfg["mix_lr"], beta1=cfg["mix_beta1"], seed=seed,
                                     decay_steps=cfg["mix_steps"], alpha=0.01,
                                     pack=pack, unroll=unroll, unroll_lr=cfg["mix_unroll_lr"], image_output=False, desc=f"q8 {kind} {method} s{seed}",
                                     log_every=cfg["mix_steps"] // 8, eval_fn=eval_fn)
  x = sample(state.g.params, cfg["mix_eval_samples"], 20_000 + seed)  # fresh samples for the reported numbers
  m = modes.mixture_modes(x, centers, std)
  # strict: a mode holds >= 20% of its fair share of the samples (25 stray samples do not count)
  row = {"modes": m["modes"], "hq_pct": m["hq_pct"], "modes_strict": int(sum(c >= 0.2 * fair_share for c in m["counts"]))}
  return row, x, history


def mixtures(cfg, out):
  results, curves = {}, {}
  # one model pair per method: every kind and seed reuses one compiled step (the cosine decay is traced)
  models = {method: mixture_gan(method, cfg) for method in METHODS_2D}
  for kind in ("ring", "grid"):
    results[kind], panels = {}, {}
    _, centers, _ = data.mixture(kind, 1, 0)
    for method in METHODS_2D:
      rows = []
      for seed in range(cfg["seeds"]):
        row, x, history = train_mixture_gan(kind, method, seed, cfg, *models[method])
        rows.append(row)
        if seed == 0:
          panels[f"{method} (seed 0): {row['modes']}/{len(centers)} modes, {row['hq_pct']:.0f}% hq"] = x
          curves[f"{kind}/{method}"] = {k: [h[k] for h in history] for k in ("step", "modes", "strict", "hq_pct", "d_loss")}
      results[kind][method] = {**mean_std(rows), "per_seed": rows}
    real, _, _ = data.mixture(kind, cfg["mix_eval_samples"], 99)
    plots.scatter2d({"real data": real, **panels}, np.zeros(len(real)), out / f"{kind}.png",
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
                                   batch_size=cfg["stacked_batch"], lr=cfg["stacked_lr"], seed=seed, pack=pack,
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

  def eval_fn(state):
    x = gan.generate(g.apply, state.g.params, cfg["sweep_fd_samples"], cfg["sweep_latent"], 40_000)
    return {"fd": fd.frechet_distance(clf.features(x), ref)}

  results, rows = {}, []
  for lr in cfg["sweep_lr"]:
    for beta1 in cfg["sweep_beta1"]:
      name = f"lr={lr:g},beta1={beta1:g}"
      state, history = recipes.train_gan(g, d, ds.train_images, latent=cfg["sweep_latent"], steps=cfg["sweep_steps"],
                                         batch_size=cfg["sweep_batch"], lr=lr, beta1=beta1, seed=0,
                                         desc=f"q8 sweep {name}", log_every=every, eval_fn=eval_fn)
      curve = {k: [h[k] for h in history] for k in ("step", "d_loss", "g_loss", "d_real", "d_fake", "fd")}
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
  write_answer(cfg, mix, curves, stacked, instability, agreement, fd_floor, clf, out)
  return {"ring": mix["ring"], "grid": mix["grid"], "mixture_curves_seed0": curves, "stacked_mnist": stacked,
          "instability": instability, "instability_summary": {**agreement, "fd_floor_train_vs_test": fd_floor},
          "classifier_test_acc": clf.test_acc, "timing_s": timing}


def write_answer(cfg, mix, curves, stacked, instability, agreement, fd_floor, clf, out):
  pm = lambda r, k, d=3: f"{r[k]:.{d}g} ± {r[k + '_std']:.2g}"
  rows = [[m, pm(mix["ring"][m], "modes"), pm(mix["ring"][m], "modes_strict"), pm(mix["ring"][m], "hq_pct"),
           pm(mix["grid"][m], "modes"), pm(mix["grid"][m], "modes_strict"), pm(mix["grid"][m], "hq_pct")]
          for m in METHODS_2D]
  rows += [[f"{m} (published, VEEGAN Table 1)", a[0], None, a[1], a[2], None, a[3]] for m, a in ANCHORS_2D.items()]
  table_2d = report.table(["method", "ring modes (of 8)", "ring strict modes", "ring high-quality %",
                           "grid modes (of 25)", "grid strict modes", "grid high-quality %"], rows)
  srows = [["real Stacked MNIST (test digits)", stacked["real_test_data"]["modes"], f"{stacked['real_test_data']['kl']:.3f}"]]
  srows += [[m, pm(stacked[m], "modes", 4), pm(stacked[m], "kl")] for m in METHODS_STACKED]
  srows += [[f"{m} (published)", a[0], a[1]] for m, a in ANCHORS_STACKED.items()]
  table_stacked = report.table(["method", "modes (of 1000)", "KL to uniform"], srows)
  irows = [[n, r["lr"], r["beta1"], r["d_loss"], r["g_loss"], r["fd"]] for n, r in instability.items()]
  table_sweep = report.table(["setting", "lr", "Adam beta1", "final D loss", "final G loss", "final fd"], irows)

  van_ring, van_grid = mix["ring"]["gan"], mix["grid"]["gan"]
  best = lambda kind: max((m for m in METHODS_2D if m != "gan"),
                          key=lambda m: (mix[kind][m]["modes_strict"], mix[kind][m]["hq_pct"]))
  best_ring, best_grid = best("ring"), best("grid")
  van_curve = curves.get("ring/gan", {"strict": [0], "step": [0]})
  strict = van_curve["strict"]
  lost = any(strict[i] < max(strict[:i]) for i in range(1, len(strict)))
  dynamics = ("modes are found and lost again rather than accumulated" if lost else
              "no captured mode was lost again between these checkpoints")
  def strength(r):
    return "n/a (too few settings)" if r is None else ("weak" if abs(r) < 0.4 else "moderate" if abs(r) < 0.7 else "strong")
  weak_all = all(strength(agreement[k]) == "weak" for k in ("spearman_fd_d_loss_all", "spearman_fd_g_loss_all"))
  fmt = lambda r: "n/a" if r is None else f"{r:.2f}"
  best_fd = min(instability, key=lambda n: instability[n]["fd"])
  worst_fd = max(instability, key=lambda n: instability[n]["fd"])
  best_stacked = max(METHODS_STACKED, key=lambda m: stacked[m]["modes"])
  body = f"""
**Protocol.** 2-D ring: 8 Gaussians (radius 2, std 0.02); grid: 25 Gaussians (spacing 2, std 0.05); VEEGAN's
capture rule as the PacGAN authors' evaluation code implements it: a sample is *high quality* if it lies within 3
std of its nearest mode, a mode is *captured* (`modes`) if at least one high-quality sample has it as its nearest
mode; {cfg['mix_eval_samples']} samples per generator. Because one stray sample captures a mode under that rule, we
also report *strict* modes: modes holding at least 20% of their fair share of the samples. Generator and discriminator
are MLPs (2 x 128), trained {cfg['mix_steps']} steps (batch {cfg['mix_batch']}, Adam lr {cfg['mix_lr']} with cosine
decay, beta1 {cfg['mix_beta1']}), mean ± std over {cfg['seeds']} seeds. Remedies: PacGAN packing (the discriminator
judges 2 samples at once) and a minibatch-std discriminator (it sees how varied its batch is).

{table_2d}

![ring](ring.png)
![grid](grid.png)

The vanilla GAN captures {van_ring['modes']:.3g}/8 ring modes by VEEGAN's rule but {van_ring['modes_strict']:.3g}/8 by
the strict rule, and {van_grid['modes']:.3g}/25 ({van_grid['modes_strict']:.3g} strict) grid modes with
{van_grid['hq_pct']:.3g}% high-quality samples. While it trains (seed 0) the number of strictly captured ring modes
goes {strict} at steps {van_curve['step']}: {dynamics}. The best remedy on the ring is {best_ring} ({mix['ring'][best_ring]['modes']:.3g} modes,
{mix['ring'][best_ring]['modes_strict']:.3g} strict, {mix['ring'][best_ring]['hq_pct']:.3g}% high quality); on the
grid {best_grid} ({mix['grid'][best_grid]['modes']:.3g} modes, {mix['grid'][best_grid]['modes_strict']:.3g} strict,
{mix['grid'][best_grid]['hq_pct']:.3g}% high quality). Targets (a remedy with 8/8 ring and >= 24/25 grid modes and
more high-quality samples than VEEGAN's 52.9% / 40%): ring {'met' if any(mix['ring'][m]['modes'] >= 8 and mix['ring'][m]['hq_pct'] > 52.9 for m in METHODS_2D if m != 'gan') else 'not met'},
grid {'met' if any(mix['grid'][m]['modes'] >= 24 and mix['grid'][m]['hq_pct'] > 40 for m in METHODS_2D if m != 'gan') else 'not met'}
in this profile ({cfg['mix_steps']} steps on a CPU budget; the published GANs trained for far longer).

![vanilla GAN modes during training](mixture_modes_during_training.png)

**Stacked MNIST** (three MNIST digits as RGB channels, 1000 modes). Each channel of {cfg['stacked_eval_samples']}
generated images is classified by aejax's pretrained MNIST CNN (test accuracy {100 * clf.test_acc:.2f}%); `modes` is
the number of distinct digit triples, `kl` is KL(generated triple histogram || uniform over 1000). DCGAN (base
{cfg['stacked_base']}), {cfg['stacked_steps']} steps (batch {cfg['stacked_batch']}, Adam lr {cfg['stacked_lr']}),
{cfg['stacked_seeds']} seed(s); pacdcgan2 packs two images along the channels for the discriminator, as PacDCGAN2 does;
dcgan_minibatch_std adds the minibatch-std feature map. The real test digits, stacked and
counted the same way with the same number of samples, are the floor of what a perfect generator could show.
The published rows use 26,000 samples and much longer training.

{table_stacked}

![Stacked MNIST samples](stacked_mnist.png)

Best here: {best_stacked} with {stacked[best_stacked]['modes']:.4g} modes. Target (>= 990 modes, KL below the PacGAN
row): {'met' if stacked[best_stacked]['modes'] >= 990 and stacked[best_stacked]['kl'] < 0.06 else 'not met'} in this profile.

**Instability and evaluation.** The same DCGAN (base {cfg['sweep_base']}) on {cfg['dataset']}, {cfg['sweep_steps']} steps,
for each learning rate and Adam beta1; D/G losses are averaged over each logging interval, fd is the Frechet
distance between {cfg['sweep_fd_samples']} generated and test images in the classifier's penultimate features (floor:
fd(train, test) = {fd_floor:.3g}).

{table_sweep}

![fd](sweep_fd.png)
![generator loss](sweep_g_loss.png)
![discriminator loss](sweep_d_loss.png)
![samples](sweep_samples.png)

fd ranges from {agreement['fd_range'][0]:.3g} ({best_fd}) to {agreement['fd_range'][1]:.3g} ({worst_fd}) across
settings of the same model and data (the sample grid shows the same ordering by eye). Over every (setting,
checkpoint) pair the Spearman rank correlation of fd with the discriminator loss is
{fmt(agreement['spearman_fd_d_loss_all'])} ({strength(agreement['spearman_fd_d_loss_all'])}) and with the generator loss
{fmt(agreement['spearman_fd_g_loss_all'])} ({strength(agreement['spearman_fd_g_loss_all'])}); across the final values of
the settings {fmt(agreement['spearman_fd_d_loss_final'])} and {fmt(agreement['spearman_fd_g_loss_final'])}.
{"Neither loss ranks the checkpoints by sample quality: " if weak_all else "The losses carry some information here, but "}a
GAN's losses score a moving game between two networks (each is measured against the current opponent), not the
distance of the samples from the data, so a GAN has to be evaluated from its samples (fd, mode counts, looking).
"""
  report.write_answer(out, QUESTION, body)
