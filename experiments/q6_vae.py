"""q6: What is a generative model? Can you name a type of generative autoencoder?

We train the VAE of Burda et al. (784-200-200-50, tanh, Bernoulli decoder, dynamic binarisation) and
a convolutional VAE, measure the test ELBO and an importance-weighted estimate of log p(x) (next to
the published MNIST numbers, on MNIST), and look at what they generate: samples from the prior, the
2-D latent manifold of a VAE with two latent dimensions, and interpolations between test images.
"""

import functools
import pathlib
import time
import tomllib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from aejax import config as C
from aejax import data, experiment, losses, plots
from aejax.evaluation import likelihood
from aejax.models.vae import VAE
from aejax.recipes import init, train

NAME = "q6_vae"
QUESTION = "What is a generative model? Can you name a type of generative autoencoder?"

# Burda et al.'s published numbers and protocol (the answer's table; the paper profile; their schedule)
BURDA = tomllib.loads((pathlib.Path(__file__).parent / "answers" / f"{NAME}.toml").read_text())["burda"]
CONV_FEATURES = (32, 64)  # aejax.models.vae's conv trunk: two stride-2 conv layers
TB_SAMPLES = 16  # samples from the prior drawn in TensorBoard at each log point

SCHEMA = C.schema(
    dataset=C.choice("mnist", data.KNOWN),
    seed=C.integer(0, min=0),
    latent=C.integer(50, min=1),
    hidden=C.integers((200, 200), min=1),
    subset=dict(train=C.integer(0, min=0), test=C.integer(0, min=0)),  # 0: the whole split
    # Burda et al.'s MLP VAE: Adam at mlp.lr, decayed to 0 by a cosine over the run ("cosine") or in
    # their eight stages ("burda"; see mlp_optimizer); its test NLL on nll_subset test images
    mlp=dict(epochs=C.integer(200, min=1), batch_size=C.batch(100), lr=C.real(2e-3, above=0),
             schedule=C.choice("cosine", ("cosine", "burda")), nll_subset=C.integer(10000, min=1)),
    # what the profile aims at on MNIST (nats, k = iw.samples, mlp.nll_subset test images); 0: no target
    target=dict(nll=C.real(90.0, min=0)),
    # the MLP VAE's test NLL while it trains: iw_samples samples on the first `subset` test images
    curve=dict(every_epochs=C.integer(5, min=1), iw_samples=C.integer(50, min=1), subset=C.integer(1000, min=1)),
    # the conv VAE and the 2-D VAE: constant Adam lr, batch_size
    batch_size=C.batch(100), lr=C.real(1e-3, above=0),
    conv=dict(steps=C.integer(800, min=1), nll_subset=C.integer(150, min=1)),
    # the 2-D VAE: its latent must be 2 (the manifold figure is a 2-D grid of side x side codes)
    manifold=dict(latent=C.integer(2, min=2, max=2), steps=C.integer(3000, min=1),
                  nll_subset=C.integer(1000, min=1), side=C.integer(15, min=1)),
    elbo_samples=C.integer(5, min=1),  # per test image, for the test ELBO
    # importance samples of the test NLL; the NLL against k on the first curve_subset test images
    iw=dict(samples=C.integer(1000, min=1), curve_subset=C.integer(200, min=1),
            curve_k=C.integers((1, 10, 100), min=1)),
)
PROFILES = {
    "smoke": {"subset.train": 2000, "subset.test": 200, "mlp.epochs": 2, "mlp.nll_subset": 100, "target.nll": 0.0,
              "curve.every_epochs": 1, "curve.iw_samples": 5, "curve.subset": 50, "conv.steps": 10,
              "conv.nll_subset": 50, "manifold.steps": 40, "manifold.nll_subset": 100, "manifold.side": 5,
              "elbo_samples": 1, "iw.samples": 20, "iw.curve_subset": 20, "iw.curve_k": (1,)},
    # Burda et al.'s protocol for the MLP VAE; the other two for 100 epochs
    "paper": {"mlp.epochs": BURDA["epochs"], "mlp.batch_size": BURDA["batch_size"], "mlp.lr": BURDA["lr"],
              "mlp.schedule": "burda", "target.nll": 87.5, "curve.every_epochs": 40, "iw.samples": BURDA["iw_samples"],
              "conv.steps": 60_000, "manifold.steps": 60_000, "conv.nll_subset": 1000, "manifold.nll_subset": 10000,
              "checkpoint_every": 30_000},  # every 10 epochs of batch 20: about 0.1 s a save, not 10,000 saves
}


def mlp_optimizer(mlp, steps: int) -> dict:
  """recipes.train's optimiser arguments for the MLP VAE (`mlp`: cfg.mlp) over `steps` steps: "cosine",
  Adam(lr) cosine-decayed to 0 (traced: one compile whatever the settings); "burda", Burda et al.'s
  Adam (eps 1e-4) in their stages (burda_schedule)."""
  if mlp.schedule == "cosine":
    return {"lr": mlp.lr, "decay_steps": steps, "alpha": 0.0}
  schedule = burda_schedule(mlp.lr, steps)
  return {"lr": mlp.lr, "tx": optax.adam(schedule, b1=0.9, b2=0.999, eps=BURDA["adam_eps"])}


def burda_schedule(lr: float, steps: int):
  """An optax schedule: lr * 10^(-i/7) in stage i = 0..7, for 3^i / 3280 of `steps` (Burda et al.'s 3^i epochs)."""
  stages = 3 ** np.arange(BURDA["stages"])
  bounds = np.round(np.cumsum(stages)[:-1] / stages.sum() * steps).astype(int)
  return optax.piecewise_constant_schedule(lr, {int(b): 10 ** (-1 / 7) for b in bounds})


def train_vae(model, images, steps, *, batch_size, seed, name, log_every, eval_fn=None, **optimizer):
  """Adam on the negative ELBO with dynamic binarisation, as the run `name`; returns (params, history, seconds)."""
  key = jax.random.PRNGKey(seed)
  params = init(model, key, jnp.zeros((1, *images.shape[1:]), jnp.float32), key)
  t0 = time.perf_counter()
  state, history = train(params, losses.elbo(model.apply), {"image": images}, steps=steps, batch_size=batch_size,
                         seed=seed, name=name, log_every=log_every, eval_fn=eval_fn, **optimizer)
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
  """Test ELBO (all test images, elbo_samples each) and IW log-likelihood (iw.samples, on a subset), in nats."""
  _, elbo = likelihood.vae_log_likelihood(model, params, test_bin, k=cfg.elbo_samples, seed=1)
  n = min(nll_subset, len(test_bin))
  t0 = time.perf_counter()
  log_px, elbo_sub = likelihood.vae_log_likelihood(model, params, test_bin[:n], k=cfg.iw.samples, seed=2)
  return {"test_elbo_nats": float(-elbo.mean()), "test_nll_nats": float(-log_px.mean()),
          "nll_subset_elbo_nats": float(-elbo_sub.mean()), "nll_images": n, "nll_k": cfg.iw.samples,
          "nll_s": time.perf_counter() - t0, "elbo_images": len(test_bin),
          "iw_tightening_nats": float(log_px.mean() - elbo_sub.mean())}


def manifold(model, params, side):
  """Decode a side x side grid of codes at Gaussian quantiles 0.05..0.95 (the prior's bulk)."""
  q = jax.scipy.special.ndtri(jnp.linspace(0.05, 0.95, side))
  return [decode_means(model, params, np.stack([np.full(side, y), np.asarray(q)], 1)) for y in np.asarray(q)[::-1]]


def interpolate(model, params, a, b, steps=10):
  za, zb = encode_means(model, params, a[None]), encode_means(model, params, b[None])
  t = np.linspace(0, 1, steps)[:, None]
  return decode_means(model, params, (1 - t) * za + t * zb)


def run(cfg, out) -> dict:
  ds = data.load(cfg.dataset, download=True)
  train_x = ds.train_images[:cfg.subset.train or len(ds.train_images)]
  test_images = ds.test_images[:cfg.subset.test or len(ds.test_images)]
  test_bin = likelihood.binarize_fixed(test_images, seed=0)  # one fixed binarisation of the test set
  curve_bin = test_bin[:cfg.curve.subset]
  per_epoch = len(train_x) // cfg.mlp.batch_size
  mlp_steps, hidden = cfg.mlp.epochs * per_epoch, tuple(cfg.hidden)
  vaes = {  # run name: (model, steps, batch size, optimiser, log every, NLL subset)
      "mlp_vae": (VAE(latent=cfg.latent, hidden=hidden), mlp_steps, cfg.mlp.batch_size,
                  mlp_optimizer(cfg.mlp, mlp_steps), cfg.curve.every_epochs * per_epoch, cfg.mlp.nll_subset),
      "conv_vae": (VAE(latent=cfg.latent, hidden=hidden[-1:], conv=True), cfg.conv.steps, cfg.batch_size,
                   {"lr": cfg.lr}, max(1, cfg.conv.steps // 10), cfg.conv.nll_subset),
      "vae_2d": (VAE(latent=cfg.manifold.latent, hidden=hidden), cfg.manifold.steps, cfg.batch_size,
                 {"lr": cfg.lr}, max(1, cfg.manifold.steps // 10), cfg.manifold.nll_subset),
  }
  models, trained, histories = {}, {}, {}
  for name, (model, steps, batch_size, optimizer, log_every, nll_subset) in vaes.items():
    z_tb = np.random.default_rng(cfg.seed + 4).standard_normal((TB_SAMPLES, model.latent)).astype(np.float32)

    def eval_fn(state, model=model, name=name, z_tb=z_tb):
      row = {"images": decode_means(model, state.params, z_tb)}  # TensorBoard only: the same codes each time
      if name == "mlp_vae":  # the test NLL curve (a cheap estimate: few samples, a subset)
        log_px, _ = likelihood.vae_log_likelihood(model, state.params, curve_bin, k=cfg.curve.iw_samples, seed=3)
        row["curve_nll_nats"] = float(-log_px.mean())
      return row

    params, history, seconds = train_vae(model, train_x, steps, batch_size=batch_size, seed=cfg.seed, name=name,
                                         log_every=log_every, eval_fn=eval_fn, **optimizer)
    row = measure(model, params, test_bin, nll_subset, cfg)
    row.update(steps=steps, batch_size=batch_size, epochs=steps * batch_size / len(train_x), train_s=seconds,
               train_neg_elbo_last=history[-1]["neg_elbo"],
               train_neg_elbo_still_falling=len(history) > 1 and history[-1]["neg_elbo"] < history[-2]["neg_elbo"],
               params=int(sum(np.size(p) for p in jax.tree.leaves(params))))
    models[name], trained[name], histories[name] = row, (model, params), history

  mlp = models["mlp_vae"]
  evaluated = [h for h in histories["mlp_vae"] if "curve_nll_nats" in h]  # log points (checkpoint rows have none)
  nll_curve = {"epochs": [h["step"] / per_epoch for h in evaluated], "nll_nats": [h["curve_nll_nats"] for h in evaluated],
               "k": cfg.curve.iw_samples, "images": len(curve_bin)}
  half = max(len(evaluated) // 2 - 1, 0)  # the log point at (or just before) half of training
  nll_curve.update(half_epochs=nll_curve["epochs"][half],
                   second_half_drop_nats=nll_curve["nll_nats"][half] - nll_curve["nll_nats"][-1],
                   last_drop_nats=nll_curve["nll_nats"][-2] - nll_curve["nll_nats"][-1] if len(evaluated) > 1 else 0.0)

  # how the estimate tightens with the number of importance samples (MLP VAE, a small subset)
  mlp_model, mlp_params = trained["mlp_vae"]
  ks, sub = sorted({k for k in cfg.iw.curve_k if k < cfg.iw.samples} | {cfg.iw.samples}), test_bin[:cfg.iw.curve_subset]
  iw_curve = {"k": ks, "images": len(sub),
              "nll_nats": [float(-likelihood.vae_log_likelihood(mlp_model, mlp_params, sub, k=k, seed=3)[0].mean())
                           for k in ks]}

  describe = data.describe(cfg.dataset)
  figures(cfg, ds, describe, trained, histories, nll_curve, mlp, out)
  like_for_like = cfg.dataset == BURDA["dataset"]  # Burda et al.'s numbers are for MNIST only
  paper = (experiment.COMMON | SCHEMA).build(PROFILES["paper"])
  return {"models": models, "iw_samples": cfg.iw.samples, "iw_curve": iw_curve, "nll_curve": nll_curve,
          "mlp_minus_anchor_nats": mlp["test_nll_nats"] - BURDA["vae_nll_nats"] if like_for_like else None,
          "anchor_epochs_ratio": BURDA["epochs"] / mlp["epochs"] if like_for_like else None,
          "data": {**describe, "train_images": len(train_x), "test_images": len(test_bin),
                   "pixels": int(np.prod(train_x.shape[1:]))},
          "protocol": {"conv_features": CONV_FEATURES, "tb_samples": TB_SAMPLES},
          "paper_profile": {"mlp_epochs": paper.mlp.epochs, "mlp_batch_size": paper.mlp.batch_size,
                            "mlp_lr": paper.mlp.lr, "mlp_schedule": paper.mlp.schedule, "iw_samples": paper.iw.samples,
                            "nll_subset": paper.mlp.nll_subset, "target_nll": paper.target.nll}}


def findings(metrics, published, results) -> dict:
  """Whether Burda et al.'s MNIST numbers apply to this run's data set, and the profile's target."""
  cfg, nll = metrics["_meta"]["config"], metrics["models"]["mlp_vae"]["test_nll_nats"]
  target = cfg["target"]["nll"] or None  # 0: this profile sets no target
  return {"like_for_like": cfg["dataset"] == published["burda"]["dataset"],
          "target": target, "target_met": target is not None and nll <= target}


def figures(cfg, ds, describe, trained, histories, nll_curve, mlp, out):
  rng = np.random.default_rng(cfg.seed)
  sample_rows, titles = [], []
  for name, (model, params) in trained.items():
    z = rng.standard_normal((20, model.latent)).astype(np.float32)
    x = decode_means(model, params, z)
    sample_rows += [x[:10], x[10:]]
    titles += [f"{name}: z ~ N(0, I)", ""]
  plots.image_grid(sample_rows, out / "samples.png", row_titles=titles,
                   title="samples from the prior (Bernoulli means)")

  model2, params2 = trained["vae_2d"]
  plots.image_grid(manifold(model2, params2, cfg.manifold.side), out / "manifold.png",
                   title="2-D latent VAE: decoder means on a grid of Gaussian quantiles of z",
                   xlabel="z₂ (quantile 0.05 → 0.95)", ylabel="z₁ (quantile 0.95 → 0.05)")
  test_x = ds.test_images[:5000].astype(np.float32) / 255.0
  plots.scatter2d({"2-D VAE: means of q(z|x), test set": encode_means(model2, params2, test_x)},
                  ds.test_labels[:5000], out / "latent_2d.png", title=f"{cfg.dataset} test codes")

  # two test images of different classes
  i, j, classes = 0, int(np.flatnonzero(ds.test_labels != ds.test_labels[0])[0]), describe["classes"]
  a, b, t = test_x[i], test_x[j], np.linspace(0, 1, 10)[:, None, None, None]
  rows = [interpolate(m, p, a, b) for m, p in trained.values()] + [(1 - t) * a + t * b]
  plots.image_grid(rows, out / "interpolation.png", row_titles=[*trained, "pixel cross-fade"],
                   title=f"interpolating between test {describe['item']}s {classes[ds.test_labels[i]]} and "
                         f"{classes[ds.test_labels[j]]}", xlabel="interpolation step")

  nll, curves = BURDA["vae_nll_nats"], {n: ([h["step"] for h in hist], [h["neg_elbo"] for h in hist])
                                        for n, hist in histories.items()}
  mnist = cfg.dataset == BURDA["dataset"]  # Burda et al.'s line only where their number applies
  last, epochs = max(max(c[0]) for c in curves.values()), nll_curve["epochs"]
  plots.lines({**curves, **({f"Burda et al. VAE test NLL ({nll}, published)": ([1, last], [nll, nll])} if mnist else {})},
              out / "training.png", xlabel="training step", ylabel="−ELBO per image (nats, train batches)",
              title="training curves", logx=True)
  anchor = f"Burda et al. 2016 (published): {nll}, k={BURDA['iw_samples']}, {BURDA['epochs']} epochs"
  plots.lines({f"mlp_vae while training: k={nll_curve['k']}, first {nll_curve['images']} test images":
                   (epochs, nll_curve["nll_nats"]), **({anchor: ([0, max(epochs)], [nll, nll])} if mnist else {})},
              out / "nll_vs_epochs.png", xlabel="epochs (passes over the training set)", ylabel="test NLL (nats)",
              title="mlp_vae: test negative log-likelihood while training",
              markers={f"final: k={mlp['nll_k']}, {mlp['nll_images']} test images": ([mlp["epochs"]], [mlp["test_nll_nats"]])})
