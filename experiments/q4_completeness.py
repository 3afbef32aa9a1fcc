"""q4: Under- and overcomplete autoencoders, and the risk at each end.

An autoencoder is undercomplete when its code has fewer dimensions than its input (784 pixels
for 28x28 images) and overcomplete when it has more. We sweep the code size of a one-layer MLP
autoencoder (input -> latent linear codes -> input sigmoid outputs, so the code is the only
bottleneck) from 2 to twice the input size under the same training budget, and measure
reconstruction error (train and test), linear probe accuracy on the codes, and how well each model
reconstructs pixel-shuffled test images (an identity copies them; a model of the data cannot). The
overcomplete sizes are also trained with denoising and sparsity. To expose memorisation, the same
sizes are trained on a small training subset and their train/test reconstruction gap is measured.
"""

import numpy as np

from aejax import config as C
from aejax import data, plots
from aejax.evaluation import image_metrics, mean_std, measure_autoencoder, probes
from aejax.models.autoencoder import mlp_autoencoder
from aejax.recipes import train_autoencoder
from aejax.trainer import take_trial

NAME = "q4_completeness"
QUESTION = ("What are undercomplete and overcomplete autoencoders? What is the main risk of an excessively "
            "undercomplete autoencoder? What about the main risk of an overcomplete autoencoder?")

EXAMPLE_LATENTS = (2, 16, 784)
SUPPORT_MIN_FRACTION = 0.01  # a position is in the ink support when this fraction of training images light it

SCHEMA = C.schema(
    dataset=C.choice("mnist", data.KNOWN),
    seeds=C.integer(2, min=1),
    latents=C.integers((2, 4, 8, 16, 32, 64, 128, 256, 784, 1568), min=1),
    steps=C.integer(800, min=1),
    batch_size=C.batch(128),
    lr=C.real(1e-3, above=0),
    # the overcomplete sizes also trained with denoising (noise std) and sparsity (L1 weight on the codes)
    regularised=dict(latents=C.integers((784, 1568), min=1), noise=C.real(0.3, min=0),
                     l1_weight=C.real(3e-4, min=0)),
    # memorisation: the same budget on the first `train` training images
    small=dict(train=C.integer(500, min=1), latents=C.integers((2, 16, 128, 784, 1568), min=1)),
    subset=dict(train=C.integer(0, min=0), test=C.integer(0, min=0)),  # 0: the whole split
    probe=dict(train=C.integer(10000, min=1), steps=C.integer(500, min=1)),
    knn=dict(ref=C.integer(5000, min=1), query=C.integer(2000, min=1)),
    eval=dict(sigma=C.real(0.3, min=0)),  # noise of the denoising PSNR measurement
)
PROFILES = {
    "smoke": {"seeds": 1, "steps": 20, "latents": (2, 16, 784), "regularised.latents": (784,),
              "subset.train": 2000, "subset.test": 400, "probe.train": 1000, "probe.steps": 30,
              "knn.ref": 400, "knn.query": 200, "small.train": 200, "small.latents": (16, 784)},
    "paper": {"seeds": 5, "steps": 20000},
}


def check(cfg) -> None:
  missing = [k for k in EXAMPLE_LATENTS if k not in cfg.latents]
  if missing:
    raise ValueError(f"latents must include {EXAMPLE_LATENTS} (the example reconstructions); missing {missing}")
  if cfg.small.train < cfg.batch_size:
    raise ValueError(f"small.train ({cfg.small.train}) must be at least batch_size ({cfg.batch_size})")
  extra = [k for k in cfg.regularised.latents if k not in cfg.latents]
  if extra:
    raise ValueError(f"regularised.latents must be among latents (each is compared with the plain model there); "
                     f"add {extra} to latents")


def identity_score(model, params, test_images, support, seed: int) -> float:
  """Reconstruction MSE of test images shuffled within the ink support: ~ the real-image MSE for an identity."""
  shuffled = image_metrics.shuffle_pixels(test_images[:1000], seed, support)
  return float(image_metrics.reconstruction_mse(model.apply, params, shuffled).mean())


def run(cfg, out) -> dict:
  ds = data.load(cfg.dataset, download=True).head(cfg.subset.train, cfg.subset.test)
  train_x, train_y, test_x, test_y = ds.train_images, ds.train_labels, ds.test_images, ds.test_labels
  eval_kw = dict(probe_train=cfg.probe.train, probe_steps=cfg.probe.steps, knn_ref=cfg.knn.ref,
                 knn_query=cfg.knn.query, sigma=cfg.eval.sigma, num_classes=ds.num_classes)
  train_kw = dict(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, log_every=cfg.steps)
  variants = {"plain": {}, "denoising": {"noise_std": cfg.regularised.noise},
              "sparse": {"l1_codes": cfg.regularised.l1_weight}}
  support = image_metrics.ink_support(train_x, SUPPORT_MIN_FRACTION)  # where the images ever have ink
  shown = np.concatenate([test_x[:8], image_metrics.shuffle_pixels(test_x[:4], 99, support)])

  sweep, regularised, examples = {}, {}, {}
  for latent in cfg.latents:
    model = mlp_autoencoder(latent, hidden=())
    for variant, loss_kw in variants.items():
      if variant != "plain" and latent not in cfg.regularised.latents:
        continue
      rows, seeds = [], tuple(range(cfg.seeds))
      trials = train_autoencoder(model, train_x, seed=seeds, name=f"{variant}-z{latent}", **train_kw, **loss_kw)[0].params
      for seed in seeds:  # the seeds were trials of one program
        params = take_trial(trials, seed)
        row = measure_autoencoder(model, params, train_x, train_y, test_x, test_y, seed=seed, **eval_kw)
        row["recon_mse_shuffled"] = identity_score(model, params, test_x, support, seed)
        rows.append(row)
        if seed == 0 and variant == "plain" and latent in EXAMPLE_LATENTS:
          examples[latent] = image_metrics.reconstruct(model.apply, params, shown)
      (sweep if variant == "plain" else regularised.setdefault(variant, {}))[latent] = mean_std(rows)

  # memorisation: the same budget spent on a small training subset
  small_x = train_x[:cfg.small.train]
  small = {}
  for latent in cfg.small.latents:
    model = mlp_autoencoder(latent, hidden=())
    rows, seeds = [], tuple(range(cfg.seeds))
    trials = train_autoencoder(model, small_x, seed=seeds, name=f"small-z{latent}", **train_kw)[0].params
    for seed in seeds:
      params = take_trial(trials, seed)
      tr = float(image_metrics.reconstruction_mse(model.apply, params, small_x).mean())
      te = float(image_metrics.reconstruction_mse(model.apply, params, test_x).mean())
      rows.append({"recon_mse_train": tr, "recon_mse_test": te, "gap": te - tr, "test_over_train": te / tr})
    small[latent] = mean_std(rows)

  tr = train_x[:cfg.probe.train]
  pixels_probe = probes.linear_probe_accuracy(tr, train_y[:len(tr)], test_x, test_y, ds.num_classes,
                                              steps=cfg.probe.steps)
  knee = knee_of(cfg.latents, [sweep[k]["recon_mse_test"] for k in cfg.latents])
  best_probe = max(sweep[k]["probe_acc"] for k in cfg.latents)
  probe_knee = min(k for k in cfg.latents if sweep[k]["probe_acc"] >= best_probe - 0.01)
  input_dim = int(np.prod(train_x.shape[1:]))

  figures(cfg, sweep, regularised, small, pixels_probe, examples, shown, input_dim, out)
  measured = {"sweep": {str(k): v for k, v in sweep.items()},
              "regularised": {v: {str(k): m for k, m in d.items()} for v, d in regularised.items()},
              "small_train": {str(k): v for k, v in small.items()},
              "pixels": {"probe_acc": pixels_probe}, "knee": knee, "probe_knee": probe_knee}
  # the derived numbers are stored too, so that every number the answer quotes is in metrics.json
  return {**measured, "findings": findings(measured), "data": data.describe(cfg.dataset),
          "protocol": {"input_dim": input_dim, "example_latents": list(EXAMPLE_LATENTS),
                       "support_min_fraction": SUPPORT_MIN_FRACTION}}


def findings(metrics: dict, published: dict | None = None, results=None) -> dict:
  """What the answer states, from the measurements (dicts keyed by latent size, in sweep order):
  ratios between the ends of the sweep, and whether underfitting, copying, memorisation and
  regularisation showed."""
  sweep, regularised, small = metrics["sweep"], metrics["regularised"], metrics["small_train"]
  lat, sm = list(sweep), list(small)
  lo, hi, big = sweep[lat[0]], sweep[str(metrics["knee"])], sweep[lat[-1]]
  pixels_probe = metrics["pixels"]["probe_acc"]
  return {
      "best_probe": max(sweep[k]["probe_acc"] for k in lat),
      "shuffled_over_test": {k: sweep[k]["recon_mse_shuffled"] / sweep[k]["recon_mse_test"] for k in lat},
      "smallest_over_largest_test": lo["recon_mse_test"] / big["recon_mse_test"],
      "smallest_underfits": lo["recon_mse_train"] >= 0.9 * lo["recon_mse_test"],
      "largest_probe_minus_pixels": big["probe_acc"] - pixels_probe,
      "copies_past_knee": big["recon_mse_shuffled"] < hi["recon_mse_shuffled"],
      "memorises": small[sm[-1]]["test_over_train"] > small[sm[0]]["test_over_train"],
      "harder_to_copy": [[v, int(k)] for v, d in regularised.items() for k in d
                         if d[k]["recon_mse_shuffled"] > sweep[k]["recon_mse_shuffled"]],
  }


def knee_of(xs, ys) -> int:
  """The 'kneedle' point of a decreasing curve on a log-x axis: furthest below the chord of its ends."""
  x = np.log2(np.asarray(xs, np.float64))
  y = np.asarray(ys, np.float64)
  x, y = (x - x[0]) / (x[-1] - x[0]), (y - y.min()) / max(y.max() - y.min(), 1e-12)
  chord = y[0] + (y[-1] - y[0]) * x
  return int(xs[int(np.argmax(chord - y))])


def figures(cfg, sweep, regularised, small, pixels_probe, examples, shown, input_dim, out):
  lat = list(cfg.latents)
  get = lambda d, key, ks: [d[k][key] for k in ks]
  reg = list(cfg.regularised.latents)
  xlabel = f"latent size ({input_dim} = input size)"
  markers = {f"{v}: {key.replace('recon_mse_', '')}": (reg, get(regularised[v], key, reg))
             for v in regularised for key in ("recon_mse_test", "recon_mse_shuffled")}
  plots.lines({"train": (lat, get(sweep, "recon_mse_train", lat)),
               "test": (lat, get(sweep, "recon_mse_test", lat)),
               "pixel-shuffled test images": (lat, get(sweep, "recon_mse_shuffled", lat)),
               f"test, trained on {cfg.small.train} images": (list(small), get(small, "recon_mse_test", small)),
               f"train, trained on {cfg.small.train} images": (list(small), get(small, "recon_mse_train", small))},
              out / "reconstruction_vs_latent.png", xlabel=xlabel,
              ylabel="reconstruction MSE per pixel", logx=True, logy=True, markers=markers,
              errors={"test": get(sweep, "recon_mse_test_std", lat)},
              title="reconstruction error vs code size")
  plots.lines({"linear probe on codes": (lat, [100 * a for a in get(sweep, "probe_acc", lat)]),
               "linear probe on raw pixels": (lat, [100 * pixels_probe] * len(lat))},
              out / "probe_vs_latent.png", xlabel=xlabel, ylabel="test accuracy %",
              logx=True, errors={"linear probe on codes": [100 * s for s in get(sweep, "probe_acc_std", lat)]},
              markers={f"{v}": (reg, [100 * a for a in get(regularised[v], "probe_acc", reg)]) for v in regularised},
              title="linear probe accuracy vs code size")
  rows = [["input: 8 test images, then 4 pixel-shuffled ones"] + list(shown)]
  rows += [[f"latent {k}"] + list(examples[k]) for k in EXAMPLE_LATENTS]
  plots.image_grid([r[1:] for r in rows], out / "reconstructions.png", row_titles=[r[0] for r in rows],
                   title="reconstructions (seed 0)")
