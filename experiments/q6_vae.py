"""q6: What is a generative model? Can you name a type of generative autoencoder?

A generative model is a probability distribution p(x) over the data that we can sample from (and,
for likelihood models, evaluate). The variational autoencoder is one: its decoder is p(x|z) and its
codes have a prior p(z) = N(0, I), so a new image is z ~ p(z), x ~ p(x|z). We train the VAE of
Burda et al. (784-200-200-50, tanh, Bernoulli decoder, dynamically binarised MNIST) and a
convolutional VAE, measure the test ELBO and an importance-weighted estimate of log p(x), put them
next to the published numbers, and look at what the model generates: samples from the prior, the
2-D latent manifold of a VAE with two latent dimensions, and interpolations between test digits.
"""

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from aejax.config import ConfigError
from aejax import data, losses, plots, report
from aejax.evaluation import likelihood
from aejax.models.vae import VAE
from aejax.recipes import init, train

NAME = "q6_vae"
QUESTION = "What is a generative model? Can you name a type of generative autoencoder?"

# Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016, Table 1: test NLL (nats) on
# dynamically binarised MNIST, estimated with 5000 importance samples; columns are the k used in training.
# Published numbers, not measured here (see /work/shared/ANCHORS.md).
BURDA_TABLE1 = {"VAE, 1 stochastic layer": (86.76, 86.47, 86.35),
                "IWAE, 1 stochastic layer": (86.76, 85.54, 84.78),
                "VAE, 2 stochastic layers": (85.33, 85.01, 84.78),
                "IWAE, 2 stochastic layers": (85.33, 83.89, 82.90)}
ANCHOR = {"source": "Burda, Grosse & Salakhutdinov 2016, Importance Weighted Autoencoders, Table 1",
          "vae_nll_nats": 86.76, "iw_samples": 5000, "test_images": 10000, "epochs": 3280, "batch_size": 20,
          "train_images": 59600, "lr": 1e-3, "adam_eps": 1e-4, "stages": 8}
SOURCES = {"vae": "Kingma & Welling 2014, Auto-Encoding Variational Bayes"}
CONV_FEATURES = (32, 64)  # aejax.models.vae's conv trunk: two stride-2 conv layers
TB_SAMPLES = 16  # samples from the prior drawn in TensorBoard at each log point


def config(profile: str) -> dict:
  cfg = {"dataset": "mnist", "seed": 0, "latent": 50, "hidden": (200, 200), "train_subset": 0,
         # Burda et al.'s MLP VAE: Adam at mlp_lr, decayed to 0 by a cosine over the run ("cosine") or
         # in their eight stages ("burda"; see mlp_optimizer)
         "mlp_epochs": 200, "mlp_batch_size": 100, "mlp_lr": 2e-3, "mlp_schedule": "cosine",
         "target_nll": 90.0,  # what this profile aims at (nats, k = iw_samples, nll_subset test images)
         # its test NLL while it trains: curve_iw_samples samples on the first curve_subset test images
         "curve_every_epochs": 5, "curve_iw_samples": 50, "curve_subset": 1000,
         # the conv VAE and the 2-D VAE: constant Adam lr, batch_size
         "batch_size": 100, "lr": 1e-3, "conv_steps": 800, "manifold_latent": 2, "manifold_steps": 3000,
         "iw_samples": 1000, "nll_subset": 10000, "conv_nll_subset": 150, "manifold_nll_subset": 1000,
         "elbo_samples": 5, "iw_curve_subset": 200, "iw_curve_k": (1, 10, 100), "manifold_side": 15,
         "test_subset": 0}
  if profile == "smoke":
    cfg.update(train_subset=2000, mlp_epochs=2, curve_every_epochs=1, curve_iw_samples=5, curve_subset=50,
               target_nll=None, conv_steps=10, manifold_steps=40, iw_samples=20, nll_subset=100,
               conv_nll_subset=50, manifold_nll_subset=100, elbo_samples=1, iw_curve_subset=20, manifold_side=5,
               test_subset=200, iw_curve_k=(1,))
  elif profile == "paper":  # Burda et al.'s protocol for the MLP VAE; the other two for 100 epochs
    cfg.update(mlp_epochs=ANCHOR["epochs"], mlp_batch_size=ANCHOR["batch_size"], mlp_lr=ANCHOR["lr"],
               mlp_schedule="burda", target_nll=87.5, curve_every_epochs=40, iw_samples=ANCHOR["iw_samples"],
               conv_steps=60_000, manifold_steps=60_000, conv_nll_subset=1000, manifold_nll_subset=10000,
               checkpoint_every=30_000)  # every 10 epochs of batch 20: about 0.1 s a save, not 10,000 saves
  return cfg


def check(cfg):
  if cfg["manifold_latent"] != 2:
    raise ConfigError("manifold_latent must be 2: the manifold figure is a 2-D grid of codes")
  if cfg["mlp_schedule"] not in ("cosine", "burda"):
    raise ConfigError(f"mlp_schedule must be 'cosine' or 'burda', got {cfg['mlp_schedule']!r}")


def mlp_optimizer(cfg, steps: int) -> dict:
  """recipes.train's optimiser arguments for the MLP VAE over `steps` steps.

  "cosine": Adam(mlp_lr), cosine-decayed to 0 (traced: one compile whatever the settings).
  "burda": Burda et al.'s Adam (eps 1e-4): stage i = 0..7 takes 3^i / 3280 of the steps at
  mlp_lr * 10^(-i/7) (with 3280 epochs, exactly their 3^i passes).
  """
  if cfg["mlp_schedule"] == "cosine":
    return {"lr": cfg["mlp_lr"], "decay_steps": steps, "alpha": 0.0}
  schedule = burda_schedule(cfg["mlp_lr"], steps)
  return {"lr": cfg["mlp_lr"], "tx": optax.adam(schedule, b1=0.9, b2=0.999, eps=ANCHOR["adam_eps"])}


def burda_schedule(lr: float, steps: int):
  """lr * 10^(-i/7) in stage i = 0..7, stage i lasting 3^i / 3280 of `steps` (an optax schedule)."""
  stages = 3 ** np.arange(ANCHOR["stages"])
  bounds = np.round(np.cumsum(stages)[:-1] / stages.sum() * steps).astype(int)
  return optax.piecewise_constant_schedule(lr, {int(b): 10 ** (-1 / 7) for b in bounds})


def train_vae(model, images, steps, *, batch_size, seed, desc, log_every, eval_fn=None, **optimizer):
  """Adam on the negative ELBO with dynamic binarisation; returns (params, history, seconds)."""
  key = jax.random.PRNGKey(seed)
  params = init(model, key, jnp.zeros((1, *images.shape[1:]), jnp.float32), key)
  t0 = time.perf_counter()
  state, history = train(params, losses.elbo(model.apply), {"image": images}, steps=steps, batch_size=batch_size,
                         seed=seed, desc=desc, log_every=log_every, eval_fn=eval_fn, **optimizer)
  return state.params, history, time.perf_counter() - t0


@functools.partial(jax.jit, static_argnums=(0, 3))
def _apply(model, params, x, method):
  return model.apply(params, x, method=method)


def decode_means(model, params, z):
  """Bernoulli means sigmoid(logits) for codes z [n, L] (what we show as 'the image')."""
  return np.asarray(jax.nn.sigmoid(_apply(model, params, jnp.asarray(z, jnp.float32), "decode")))


def encode_means(model, params, x):
  return np.asarray(_apply(model, params, jnp.asarray(x), "encode")[0])


def measure(model, params, test_bin, nll_subset, cfg) -> dict:
  """Test ELBO (all test images, elbo_samples each) and IW log-likelihood (iw_samples, on a subset), in nats."""
  _, elbo = likelihood.vae_log_likelihood(model, params, test_bin, k=cfg["elbo_samples"], seed=1)
  n = min(nll_subset, len(test_bin))
  t0 = time.perf_counter()
  log_px, elbo_sub = likelihood.vae_log_likelihood(model, params, test_bin[:n], k=cfg["iw_samples"], seed=2)
  return {"test_elbo_nats": float(-elbo.mean()), "test_nll_nats": float(-log_px.mean()),
          "nll_subset_elbo_nats": float(-elbo_sub.mean()), "nll_images": n, "nll_k": cfg["iw_samples"],
          "nll_s": time.perf_counter() - t0, "elbo_images": len(test_bin),
          "iw_tightening_nats": float(log_px.mean() - elbo_sub.mean())}


def manifold(model, params, side):
  """Decode a side x side grid of codes at Gaussian quantiles 0.05..0.95 (the prior's bulk)."""
  q = jax.scipy.special.ndtri(jnp.linspace(0.05, 0.95, side))
  rows = [decode_means(model, params, np.stack([np.full(side, y), np.asarray(q)], 1)) for y in np.asarray(q)[::-1]]
  return rows


def interpolate(model, params, a, b, steps=10):
  za, zb = encode_means(model, params, a[None]), encode_means(model, params, b[None])
  t = np.linspace(0, 1, steps)[:, None]
  return decode_means(model, params, (1 - t) * za + t * zb)


def run(cfg: dict, out) -> dict:
  ds = data.load(cfg["dataset"], download=True)
  train_x = ds.train_images[:cfg["train_subset"] or len(ds.train_images)]
  test_images = ds.test_images[:cfg["test_subset"] or len(ds.test_images)]
  test_bin = likelihood.binarize_fixed(test_images, seed=0)  # one fixed binarisation of the test set
  curve_bin = test_bin[:cfg["curve_subset"]]
  per_epoch = len(train_x) // cfg["mlp_batch_size"]
  mlp_steps = cfg["mlp_epochs"] * per_epoch
  vaes = {  # name: (model, steps, batch size, optimiser, log every, NLL subset)
      "mlp_vae": (VAE(latent=cfg["latent"], hidden=tuple(cfg["hidden"])), mlp_steps, cfg["mlp_batch_size"],
                  mlp_optimizer(cfg, mlp_steps), cfg["curve_every_epochs"] * per_epoch, cfg["nll_subset"]),
      "conv_vae": (VAE(latent=cfg["latent"], hidden=(cfg["hidden"][-1],), conv=True), cfg["conv_steps"],
                   cfg["batch_size"], {"lr": cfg["lr"]}, max(1, cfg["conv_steps"] // 10), cfg["conv_nll_subset"]),
      "vae_2d": (VAE(latent=cfg["manifold_latent"], hidden=tuple(cfg["hidden"])), cfg["manifold_steps"],
                 cfg["batch_size"], {"lr": cfg["lr"]}, max(1, cfg["manifold_steps"] // 10),
                 cfg["manifold_nll_subset"]),
  }
  models, trained, histories = {}, {}, {}
  for name, (model, steps, batch_size, optimizer, log_every, nll_subset) in vaes.items():
    z_tb = np.random.default_rng(cfg["seed"] + 4).standard_normal((TB_SAMPLES, model.latent)).astype(np.float32)

    def eval_fn(state, model=model, name=name, z_tb=z_tb):
      row = {"images": decode_means(model, state.params, z_tb)}  # TensorBoard only: the same codes each time
      if name == "mlp_vae":  # the test NLL curve (a cheap estimate: few samples, a subset)
        log_px, _ = likelihood.vae_log_likelihood(model, state.params, curve_bin, k=cfg["curve_iw_samples"], seed=3)
        row["curve_nll_nats"] = float(-log_px.mean())
      return row

    params, history, seconds = train_vae(model, train_x, steps, batch_size=batch_size, seed=cfg["seed"],
                                         desc=f"q6 {name}", log_every=log_every, eval_fn=eval_fn, **optimizer)
    row = measure(model, params, test_bin, nll_subset, cfg)
    row.update(steps=steps, batch_size=batch_size, epochs=steps * batch_size / len(train_x), train_s=seconds,
               train_neg_elbo_last=history[-1]["neg_elbo"],
               train_neg_elbo_still_falling=len(history) > 1 and history[-1]["neg_elbo"] < history[-2]["neg_elbo"],
               params=int(sum(np.size(p) for p in jax.tree.leaves(params))))
    models[name], trained[name], histories[name] = row, (model, params), history

  mlp = models["mlp_vae"]
  evaluated = [h for h in histories["mlp_vae"] if "curve_nll_nats" in h]  # log points (checkpoint rows have none)
  nll_curve = {"epochs": [h["step"] / per_epoch for h in evaluated], "nll_nats": [h["curve_nll_nats"] for h in evaluated],
               "k": cfg["curve_iw_samples"], "images": len(curve_bin)}
  half = max(len(evaluated) // 2 - 1, 0)  # the log point at (or just before) half of training
  nll_curve.update(half_epochs=nll_curve["epochs"][half],
                   second_half_drop_nats=nll_curve["nll_nats"][half] - nll_curve["nll_nats"][-1],
                   last_drop_nats=nll_curve["nll_nats"][-2] - nll_curve["nll_nats"][-1] if len(evaluated) > 1 else 0.0)

  # how the estimate tightens with the number of importance samples (MLP VAE, a small subset)
  mlp_model, mlp_params = trained["mlp_vae"]
  ks = sorted({k for k in cfg["iw_curve_k"] if k < cfg["iw_samples"]} | {cfg["iw_samples"]})
  sub = test_bin[:cfg["iw_curve_subset"]]
  iw_curve = {"k": ks, "images": len(sub),
              "nll_nats": [float(-likelihood.vae_log_likelihood(mlp_model, mlp_params, sub, k=k, seed=3)[0].mean())
                           for k in ks]}

  figures(cfg, ds, trained, histories, nll_curve, mlp, out)
  target = cfg["target_nll"]
  paper = config("paper")
  return {"models": models, "iw_samples": cfg["iw_samples"], "iw_curve": iw_curve, "nll_curve": nll_curve,
          "mlp_minus_anchor_nats": mlp["test_nll_nats"] - ANCHOR["vae_nll_nats"],
          "anchor_epochs_ratio": ANCHOR["epochs"] / mlp["epochs"],
          "target": None if target is None else {"nll_nats": target, "met": mlp["test_nll_nats"] <= target},
          "data": {**data.describe(cfg["dataset"]), "train_images": len(train_x), "test_images": len(test_bin),
                   "pixels": int(np.prod(train_x.shape[1:]))},
          "protocol": {"conv_features": CONV_FEATURES, "tb_samples": TB_SAMPLES},
          "paper_profile": {k: paper[k] for k in ("mlp_epochs", "mlp_batch_size", "mlp_lr", "mlp_schedule",
                                                  "iw_samples", "nll_subset", "target_nll")},
          "anchors": {**ANCHOR, "table1": BURDA_TABLE1}, "sources": SOURCES}


def figures(cfg, ds, trained, histories, nll_curve, mlp, out):
  rng = np.random.default_rng(cfg["seed"])
  sample_rows, titles = [], []
  for name, (model, params) in trained.items():
    z = rng.standard_normal((20, model.latent)).astype(np.float32)
    x = decode_means(model, params, z)
    sample_rows += [x[:10], x[10:]]
    titles += [f"{name}: z ~ N(0, I)", ""]
  plots.image_grid(sample_rows, out / "samples.png", row_titles=titles,
                   title="samples from the prior (Bernoulli means)")

  model2, params2 = trained["vae_2d"]
  plots.image_grid(manifold(model2, params2, cfg["manifold_side"]), out / "manifold.png",
                   title="2-D latent VAE: decoder means on a grid of Gaussian quantiles of z",
                   xlabel="z₂ (quantile 0.05 → 0.95)", ylabel="z₁ (quantile 0.95 → 0.05)")
  test_x = ds.test_images[:5000].astype(np.float32) / 255.0
  plots.scatter2d({"2-D VAE: means of q(z|x), test set": encode_means(model2, params2, test_x)},
                  ds.test_labels[:5000], out / "latent_2d.png", title=f"{cfg['dataset']} test codes")

  # two test digits of different classes
  i = 0
  j = int(np.flatnonzero(ds.test_labels != ds.test_labels[i])[0])
  a, b = test_x[i], test_x[j]
  rows = [interpolate(m, p, a, b) for m, p in trained.values()]
  t = np.linspace(0, 1, 10)[:, None, None, None]
  rows.append((1 - t) * a + t * b)
  plots.image_grid(rows, out / "interpolation.png", row_titles=[*trained, "pixel cross-fade"],
                   title=f"interpolating between test digits {ds.test_labels[i]} and {ds.test_labels[j]}",
                   xlabel="interpolation step")

  anchor = ANCHOR["vae_nll_nats"]
  curves = {name: ([h["step"] for h in hist], [h["neg_elbo"] for h in hist]) for name, hist in histories.items()}
  last = max(max(c[0]) for c in curves.values())
  plots.lines({**curves, f"Burda et al. VAE test NLL ({anchor}, published)": ([1, last], [anchor, anchor])},
              out / "training.png", xlabel="training step", ylabel="−ELBO per image (nats, train batches)",
              title="training curves", logx=True)

  epochs = nll_curve["epochs"]
  plots.lines(
      {f"mlp_vae while training: k={nll_curve['k']}, first {nll_curve['images']} test images":
           (epochs, nll_curve["nll_nats"]),
       f"Burda et al. 2016 (published): {anchor}, k={ANCHOR['iw_samples']}, {ANCHOR['epochs']} epochs":
           ([0, max(epochs)], [anchor, anchor])},
      out / "nll_vs_epochs.png", xlabel="epochs (passes over the training set)", ylabel="test NLL (nats)",
      title="mlp_vae: test negative log-likelihood while training",
      markers={f"final: k={mlp['nll_k']}, {mlp['nll_images']} test images": ([mlp["epochs"]], [mlp["test_nll_nats"]])})


def answer(metrics: dict) -> str:
  """answer.md's body, from metrics.json alone."""
  m, cfg = metrics, metrics["_meta"]["config"]
  models, anchors, d, curve, iw = m["models"], m["anchors"], m["data"], m["nll_curve"], m["iw_curve"]
  mlp, conv, v2 = models["mlp_vae"], models["conv_vae"], models["vae_2d"]
  nll = lambda row: f"{row['test_nll_nats']:.2f} (k={row['nll_k']}, {row['nll_images']} images)"
  ours = [[f"aejax {name} (measured)", f"{row['test_elbo_nats']:.2f}", nll(row), f"{row['epochs']:.1f}"]
          for name, row in models.items()]
  published = [[f"Burda et al. 2016, {name} (published)", "–",
                f"{v[0]:.2f} (k={anchors['iw_samples']}, {anchors['test_images']} images)", str(anchors["epochs"])]
               for name, v in anchors["table1"].items() if name.startswith("VAE")]
  table = report.table(["model", "test −ELBO (nats)", "test NLL (nats)", "epochs"], ours + published)
  table1 = report.table(["Burda et al. 2016, Table 1 (published)", "k=1", "k=5", "k=50"],
                        [[name, *v] for name, v in anchors["table1"].items()])
  k_curve = ", ".join(f"k={k}: {v:.2f}" for k, v in zip(iw["k"], iw["nll_nats"]))
  gap = m["mlp_minus_anchor_nats"]
  anchor = report.anchor(anchors["vae_nll_nats"], "Burda et al. 2016, Table 1")
  like_for_like = ("" if d["name"] == "mnist" else
                   f"*The anchors are for MNIST; this run is on {d['name']}, so the comparison is not like for like.*\n\n")
  target = m["target"]
  target_note = ("" if target is None else
                 f" The target for this profile, at most {target['nll_nats']:.1f} nats, is "
                 + ("**met**." if target["met"] else f"**missed** by {mlp['test_nll_nats'] - target['nll_nats']:.2f} nats."))
  schedule = (f"Adam lr {cfg['mlp_lr']} decayed to 0 by a cosine" if cfg["mlp_schedule"] == "cosine" else
              f"Adam (eps {anchors['adam_eps']}) in Burda et al.'s {anchors['stages']} stages, lr {cfg['mlp_lr']} "
              "× 10^(−i/7) in stage i, for 3^i / 3280 of the epochs")
  last = (f"{report.num(curve['last_drop_nats'], 2)} nats over the last {cfg['curve_every_epochs']} epoch(s)"
          + (", where the cosine had brought the learning rate to nearly 0" if cfg["mlp_schedule"] == "cosine" else ""))
  still = (f"fell by {curve['second_half_drop_nats']:.2f} nats over the second half of training (epochs "
           f"{curve['half_epochs']:.0f} to {mlp['epochs']:.0f}) and by {last}")
  paper = m["paper_profile"]
  images = lambda row: (f"all {row['nll_images']} test images" if row["nll_images"] == d["test_images"]
                        else f"the first {row['nll_images']} of {d['test_images']} test images")
  return f"""
**Short answer.** A generative model is a probability distribution p(x) over the data that we can
sample new data from (and, for a likelihood model, evaluate on data it has never seen). The variational
autoencoder is a generative autoencoder. Burda et al.'s VAE trained here for {mlp['epochs']:.0f} epochs reaches a
test negative log-likelihood of **{mlp['test_nll_nats']:.2f} nats** on {d['name']} ({mlp['nll_k']} importance samples,
{images(mlp)}), {abs(gap):.2f} nats {'above' if gap > 0 else 'below'} the published {anchor}
after {anchors['epochs']} epochs.{target_note}

**A generative model** is a model of the data distribution p(x) that can produce new data: we can draw
x ~ p(x), and for a likelihood model also score log p(x) of an image it has never seen. A plain
autoencoder is not one: it maps x to a code and back, but puts no distribution on its codes, so there is
nothing to sample from. **The variational autoencoder** ({m['sources']['vae']}) is: it fixes a prior
p(z) = N(0, I), its decoder is a distribution p(x|z) (here Bernoulli per pixel), and its encoder
q(z|x) is trained jointly so that log p(x) ≥ ELBO = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)). A new image is
ancestral sampling: z ~ N(0, I), x ~ p(x|z) (figures below). Other generative autoencoders: adversarial
autoencoders, Wasserstein autoencoders, VQ-VAE (with a learned prior), IWAE.

**Measured** on {d['name']} ({d['what']}, {d['train_images']} training images), dynamically binarised for training
(a fresh Bernoulli draw of every pixel each step), a fixed binarisation of the {d['test_images']} test images for
evaluation; seed {cfg['seed']}. mlp_vae: {d['pixels']}-{'-'.join(map(str, cfg['hidden']))}-{cfg['latent']} tanh
(Burda et al.'s one-stochastic-layer VAE, {mlp['params']:,} params), {mlp['epochs']:.0f} epochs of batch
{mlp['batch_size']} ({mlp['steps']} steps), {schedule}. conv_vae: two stride-2 conv layers
{tuple(m['protocol']['conv_features'])}, dense {cfg['hidden'][-1]}, latent {cfg['latent']}, transposed-conv decoder,
{conv['steps']} steps; vae_2d: the MLP VAE with a 2-D latent, {v2['steps']} steps; both Adam lr {cfg['lr']}, batch
{cfg['batch_size']}. −ELBO: all {mlp['elbo_images']} test images, {cfg['elbo_samples']} sample(s) each.
NLL = −log p(x) estimated with k importance samples (Burda et al. use k = {anchors['iw_samples']}) on the test images
shown; on those same images the −ELBO is {mlp['nll_subset_elbo_nats']:.2f} (mlp_vae) / {conv['nll_subset_elbo_nats']:.2f}
(conv_vae), so the importance-weighted bound is {mlp['iw_tightening_nats']:.2f} / {conv['iw_tightening_nats']:.2f} nats
tighter.

{table}

Published anchors (Burda et al. 2016, Table 1; NLL in nats with k = {anchors['iw_samples']}; columns are the k used in
*training*):

{table1}

{like_for_like}**How far from the anchor.** The mlp_vae reaches {mlp['test_nll_nats']:.2f} nats against
{anchors['vae_nll_nats']} for the same architecture in the paper: {gap:+.2f} nats, after {mlp['epochs']:.0f} epochs against
their {anchors['epochs']} ({m['anchor_epochs_ratio']:.1f} times as many; batch {anchors['batch_size']}, {anchors['train_images']}
training images), and with k = {mlp['nll_k']} rather than {anchors['iw_samples']} importance samples at evaluation (a
larger k lowers the estimate in expectation; below, on the first {iw['images']} test images: {k_curve} nats). The test
NLL while training (k = {curve['k']}, first {curve['images']} test images, figure below) {still}; a longer schedule,
which is what separates this profile from the paper's, should close part of the gap. The `paper` profile trains
{paper['mlp_epochs']} epochs of batch {paper['mlp_batch_size']} with Burda et al.'s schedule and evaluates with
k = {paper['iw_samples']} on {paper['nll_subset']} test images.

![test NLL against epochs](nll_vs_epochs.png)

![samples](samples.png)

![manifold](manifold.png)

![latent codes](latent_2d.png)

![interpolation](interpolation.png)

Interpolating in latent space passes through digit-shaped images; the pixel cross-fade (last row) superimposes
two digits. That, and samples that look like digits, is what being a generative model buys.

![training curves](training.png)
"""
