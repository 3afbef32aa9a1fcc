"""q4: Under- and overcomplete autoencoders, and the risk at each end.

An autoencoder is undercomplete when its code has fewer dimensions than its input (784 pixels
here) and overcomplete when it has more. We sweep the code size of a one-layer MLP autoencoder
(784 -> latent linear codes -> 784 sigmoid outputs, so the code is the only bottleneck) from 2 to
1568 under the same training budget, and measure reconstruction error (train and test), linear
probe accuracy on the codes, and how well each model reconstructs pixel-shuffled test images
(an identity copies them; a model of digits cannot). The overcomplete sizes are also trained
with denoising and sparsity. To expose memorisation, the same sizes are trained on a small
training subset and their train/test reconstruction gap is measured.
"""

import numpy as np

from aejax import data, plots, report
from aejax.evaluation import image_metrics, mean_std, measure_autoencoder, probes
from aejax.models.autoencoder import mlp_autoencoder
from aejax.recipes import train_autoencoder

NAME = "q4_completeness"
QUESTION = ("What are undercomplete and overcomplete autoencoders? What is the main risk of an excessively "
            "undercomplete autoencoder? What about the main risk of an overcomplete autoencoder?")

EXAMPLE_LATENTS = (2, 16, 784)
SUPPORT_MIN_FRACTION = 0.01  # a position is in the ink support when this fraction of training images light it


def config(profile: str) -> dict:
  cfg = {"dataset": "mnist", "seeds": 2, "latents": (2, 4, 8, 16, 32, 64, 128, 256, 784, 1568),
         "regularised_latents": (784, 1568), "steps": 800, "batch_size": 128, "lr": 1e-3,
         "train_noise": 0.3, "l1_weight": 3e-4, "small_train": 500, "small_latents": (2, 16, 128, 784, 1568),
         "train_subset": 0, "test_subset": 0, "probe_train": 10000, "probe_steps": 500, "knn_ref": 5000,
         "knn_query": 2000, "eval_sigma": 0.3}
  if profile == "smoke":
    cfg.update(seeds=1, steps=20, latents=(2, 16, 784), regularised_latents=(784,), train_subset=2000,
               test_subset=400, probe_train=1000, probe_steps=30, knn_ref=400, knn_query=200, small_train=200,
               small_latents=(16, 784))
  elif profile == "paper":
    cfg.update(seeds=5, steps=20000)
  return cfg


def check(cfg: dict) -> None:
  from aejax.config import ConfigError
  missing = [k for k in EXAMPLE_LATENTS if k not in cfg["latents"]]
  if missing:
    raise ConfigError(f"latents must include {EXAMPLE_LATENTS} (the example reconstructions); missing {missing}")
  if cfg["small_train"] < cfg["batch_size"]:
    raise ConfigError(f"small_train ({cfg['small_train']}) must be at least batch_size ({cfg['batch_size']})")


def identity_score(model, params, test_images, support, seed: int) -> float:
  """Reconstruction MSE of test images shuffled within the ink support: ~ the real-image MSE for an identity."""
  shuffled = image_metrics.shuffle_pixels(test_images[:1000], seed, support)
  return float(image_metrics.reconstruction_mse(model.apply, params, shuffled).mean())


def run(cfg: dict, out) -> dict:
  ds = data.load(cfg["dataset"], download=True).head(cfg["train_subset"], cfg["test_subset"])
  train_x, train_y, test_x, test_y = ds.train_images, ds.train_labels, ds.test_images, ds.test_labels
  eval_kw = dict(probe_train=cfg["probe_train"], probe_steps=cfg["probe_steps"], knn_ref=cfg["knn_ref"],
                 knn_query=cfg["knn_query"], sigma=cfg["eval_sigma"], num_classes=ds.num_classes)
  train_kw = dict(steps=cfg["steps"], batch_size=cfg["batch_size"], lr=cfg["lr"], log_every=cfg["steps"])
  variants = {"plain": {}, "denoising": {"noise_std": cfg["train_noise"]}, "sparse": {"l1_codes": cfg["l1_weight"]}}
  support = image_metrics.ink_support(train_x, SUPPORT_MIN_FRACTION)  # where the images ever have ink
  shown = np.concatenate([test_x[:8], image_metrics.shuffle_pixels(test_x[:4], 99, support)])

  sweep, regularised, examples = {}, {}, {}
  for latent in cfg["latents"]:
    model = mlp_autoencoder(latent, hidden=())
    for variant, loss_kw in variants.items():
      if variant != "plain" and latent not in cfg["regularised_latents"]:
        continue
      rows = []
      for seed in range(cfg["seeds"]):
        params, _ = train_autoencoder(model, train_x, seed=seed, desc=f"q4 {variant} {latent} s{seed}",
                                      **train_kw, **loss_kw)
        row = measure_autoencoder(model, params, train_x, train_y, test_x, test_y, seed=seed, **eval_kw)
        row["recon_mse_shuffled"] = identity_score(model, params, test_x, support, seed)
        rows.append(row)
        if seed == 0 and variant == "plain" and latent in EXAMPLE_LATENTS:
          examples[latent] = image_metrics.reconstruct(model.apply, params, shown)
      (sweep if variant == "plain" else regularised.setdefault(variant, {}))[latent] = mean_std(rows)

  # memorisation: the same budget spent on a small training subset
  small_x = train_x[:cfg["small_train"]]
  small = {}
  for latent in cfg["small_latents"]:
    model = mlp_autoencoder(latent, hidden=())
    rows = []
    for seed in range(cfg["seeds"]):
      params, _ = train_autoencoder(model, small_x, seed=seed, desc=f"q4 small {latent} s{seed}", **train_kw)
      tr = float(image_metrics.reconstruction_mse(model.apply, params, small_x).mean())
      te = float(image_metrics.reconstruction_mse(model.apply, params, test_x).mean())
      rows.append({"recon_mse_train": tr, "recon_mse_test": te, "gap": te - tr, "test_over_train": te / tr})
    small[latent] = mean_std(rows)

  tr = train_x[:cfg["probe_train"]]
  pixels_probe = probes.linear_probe_accuracy(tr, train_y[:len(tr)], test_x, test_y, ds.num_classes,
                                              steps=cfg["probe_steps"])
  knee = knee_of(cfg["latents"], [sweep[k]["recon_mse_test"] for k in cfg["latents"]])
  best_probe = max(sweep[k]["probe_acc"] for k in cfg["latents"])
  probe_knee = min(k for k in cfg["latents"] if sweep[k]["probe_acc"] >= best_probe - 0.01)

  figures(cfg, sweep, regularised, small, pixels_probe, examples, shown, out)
  return {"sweep": {str(k): v for k, v in sweep.items()},
          "regularised": {v: {str(k): m for k, m in d.items()} for v, d in regularised.items()},
          "small_train": {str(k): v for k, v in small.items()},
          "pixels": {"probe_acc": pixels_probe}, "knee": knee, "probe_knee": probe_knee,
          "findings": findings(cfg, sweep, regularised, small, pixels_probe, knee),
          "data": data.describe(cfg["dataset"]),
          "protocol": {"input_dim": int(np.prod(train_x.shape[1:])), "example_latents": list(EXAMPLE_LATENTS),
                       "support_min_fraction": SUPPORT_MIN_FRACTION}}


def findings(cfg, sweep, regularised, small, pixels_probe, knee) -> dict:
  """What the answer states, computed from the measurements (dicts keyed by latent size): ratios between
  the ends of the sweep, and whether underfitting, copying, memorisation and regularisation showed."""
  lat, reg, sm = list(cfg["latents"]), list(cfg["regularised_latents"]), list(cfg["small_latents"])
  lo, hi, big = sweep[lat[0]], sweep[knee], sweep[lat[-1]]
  return {
      "best_probe": max(sweep[k]["probe_acc"] for k in lat),
      "shuffled_over_test": {str(k): sweep[k]["recon_mse_shuffled"] / sweep[k]["recon_mse_test"] for k in lat},
      "smallest_over_largest_test": lo["recon_mse_test"] / big["recon_mse_test"],
      "smallest_underfits": lo["recon_mse_train"] >= 0.9 * lo["recon_mse_test"],
      "largest_probe_minus_pixels": big["probe_acc"] - pixels_probe,
      "copies_past_knee": big["recon_mse_shuffled"] < hi["recon_mse_shuffled"],
      "memorises": small[sm[-1]]["test_over_train"] > small[sm[0]]["test_over_train"],
      "harder_to_copy": [[v, k] for v, d in regularised.items() for k in reg
                         if d[k]["recon_mse_shuffled"] > sweep[k]["recon_mse_shuffled"]],
  }


def knee_of(xs, ys) -> int:
  """The 'kneedle' point of a decreasing curve on a log-x axis: furthest below the chord of its ends."""
  x = np.log2(np.asarray(xs, np.float64))
  y = np.asarray(ys, np.float64)
  x, y = (x - x[0]) / (x[-1] - x[0]), (y - y.min()) / max(y.max() - y.min(), 1e-12)
  chord = y[0] + (y[-1] - y[0]) * x
  return int(xs[int(np.argmax(chord - y))])


def figures(cfg, sweep, regularised, small, pixels_probe, examples, shown, out):
  lat = list(cfg["latents"])
  get = lambda d, key, ks: [d[k][key] for k in ks]
  reg = list(cfg["regularised_latents"])
  markers = {f"{v}: {key.replace('recon_mse_', '')}": (reg, get(regularised[v], key, reg))
             for v in regularised for key in ("recon_mse_test", "recon_mse_shuffled")}
  plots.lines({"train": (lat, get(sweep, "recon_mse_train", lat)),
               "test": (lat, get(sweep, "recon_mse_test", lat)),
               "pixel-shuffled test images": (lat, get(sweep, "recon_mse_shuffled", lat)),
               f"test, trained on {cfg['small_train']} images": (list(small), get(small, "recon_mse_test", small)),
               f"train, trained on {cfg['small_train']} images": (list(small), get(small, "recon_mse_train", small))},
              out / "reconstruction_vs_latent.png", xlabel="latent size (784 = input size)",
              ylabel="reconstruction MSE per pixel", logx=True, logy=True, markers=markers,
              errors={"test": get(sweep, "recon_mse_test_std", lat)},
              title="reconstruction error vs code size")
  plots.lines({"linear probe on codes": (lat, [100 * a for a in get(sweep, "probe_acc", lat)]),
               "linear probe on raw pixels": (lat, [100 * pixels_probe] * len(lat))},
              out / "probe_vs_latent.png", xlabel="latent size (784 = input size)", ylabel="test accuracy %",
              logx=True, errors={"linear probe on codes": [100 * s for s in get(sweep, "probe_acc_std", lat)]},
              markers={f"{v}": (reg, [100 * a for a in get(regularised[v], "probe_acc", reg)]) for v in regularised},
              title="linear probe accuracy vs code size")
  rows = [["input: 8 test images, then 4 pixel-shuffled ones"] + list(shown)]
  rows += [[f"latent {k}"] + list(examples[k]) for k in EXAMPLE_LATENTS]
  plots.image_grid([r[1:] for r in rows], out / "reconstructions.png", row_titles=[r[0] for r in rows],
                   title="reconstructions (seed 0)")


def answer(metrics: dict) -> str:
  cfg = metrics["_meta"]["config"]
  sweep, regularised, small = metrics["sweep"], metrics["regularised"], metrics["small_train"]
  f, d, proto = metrics["findings"], metrics["data"], metrics["protocol"]
  knee, probe_knee, pixels_probe, item, dim = (metrics["knee"], metrics["probe_knee"], metrics["pixels"]["probe_acc"],
                                               d["item"], proto["input_dim"])
  lat, reg, sm = ([str(k) for k in cfg[key]] for key in ("latents", "regularised_latents", "small_latents"))
  pm = report.pm
  kind = lambda k: "under" if int(k) < dim else ("complete" if int(k) == dim else "over")
  sweep_table = report.table(
      ["latent", "kind", "recon MSE train", "recon MSE test", "linear probe acc %", "5-NN acc %",
       "recon MSE of shuffled images", "shuffled / test MSE"],
      [[k, kind(k), pm(sweep[k], "recon_mse_train"), pm(sweep[k], "recon_mse_test"), pm(sweep[k], "probe_acc", 100, 4),
        pm(sweep[k], "knn_acc", 100, 4), pm(sweep[k], "recon_mse_shuffled"), report.num(f["shuffled_over_test"][k])]
       for k in lat])
  reg_table = report.table(
      ["latent", "training", "recon MSE test", "linear probe acc %", f"denoise PSNR dB (σ={cfg['eval_sigma']})",
       "recon MSE of shuffled images"],
      [[k, v, pm(dd[k], "recon_mse_test"), pm(dd[k], "probe_acc", 100, 4), pm(dd[k], "denoise_psnr"),
        pm(dd[k], "recon_mse_shuffled")]
       for k in reg for v, dd in [("plain", sweep)] + list(regularised.items())])
  small_table = report.table(
      ["latent", "recon MSE train (its own images)", "recon MSE test", "test − train", "test / train"],
      [[k] + [pm(small[k], key) for key in ("recon_mse_train", "recon_mse_test", "gap", "test_over_train")]
       for k in sm])
  lo, hi, big = sweep[lat[0]], sweep[str(knee)], sweep[lat[-1]]
  s_lo, s_hi = small[sm[0]], small[sm[-1]]
  pct = lambda x: f"{100 * x:.2f}%"
  gain = 100 * f["largest_probe_minus_pixels"]
  probe_word = ("about equal to" if abs(gain) <= 0.5
                else f"{abs(gain):.1f} points {'below' if gain < 0 else 'above'}")
  underfit = " is as bad (underfitting, not overfitting)" if f["smallest_underfits"] else " is lower"
  if f["copies_past_knee"]:
    copying = (f"Past the knee the model increasingly copies whatever it is given: the shuffled-image MSE is "
               f"{lo['recon_mse_shuffled']:.3g} at {lat[0]}, {hi['recon_mse_shuffled']:.3g} at {knee} and "
               f"{big['recon_mse_shuffled']:.3g} at {lat[-1]}; images with no {item} in them are reconstructed ever better "
               f"(though at {lat[-1]} still {f['shuffled_over_test'][lat[-1]]:.3g}× worse than {item}s: the copy "
               "is learned only as far as the training data exercised it).")
  else:
    copying = (f"The shuffled-image MSE did not fall past the knee in this run ({hi['recon_mse_shuffled']:.3g} at {knee}, "
               f"{big['recon_mse_shuffled']:.3g} at {lat[-1]}), so this run shows no copying of structureless images.")
  if f["memorises"]:
    memo = (f"the large code fits its own training images far better than new ones: test error / training error is "
            f"{s_lo['test_over_train']:.3g} at latent {sm[0]} and {s_hi['test_over_train']:.3g} at {sm[-1]} (absolute gaps "
            f"{s_lo['gap']:.3g} and {s_hi['gap']:.3g}; training error {s_hi['recon_mse_train']:.3g} at {sm[-1]})")
  else:
    memo = (f"the test/train error ratio did not grow with the code size ({sm[0]}: {s_lo['test_over_train']:.3g}; "
            f"{sm[-1]}: {s_hi['test_over_train']:.3g})")
  harder = ", ".join(f"{v} at {k}" for v, k in f["harder_to_copy"]) or "nowhere in this run"
  risks = []
  if f["copies_past_knee"]:
    risks.append(f"drifts towards the identity (pixel-shuffled images come back with MSE {big['recon_mse_shuffled']:.3g} at latent {lat[-1]}, "
                 f"{hi['recon_mse_shuffled']:.3g} at the knee)")
  if f["memorises"]:
    risks.append(f"memorises a small training set (test / train error {s_hi['test_over_train']:.3g} at latent {sm[-1]}, "
                 f"{s_lo['test_over_train']:.3g} at {sm[0]})")
  over_risk = (" and ".join(risks) if risks else
               "risks learning the identity, though this run measured neither copying nor memorisation growing with the code size")
  examples = ", ".join(map(str, proto["example_latents"][:-1])) + f" and {proto['example_latents'][-1]}"
  return f"""
**Short answer.** An autoencoder is undercomplete when its code has fewer dimensions than its input ({dim} pixels
here) and overcomplete when it has more. Too small a code loses information: at latent {lat[0]} the test
reconstruction MSE is {lo['recon_mse_test']:.3g}, {f['smallest_over_largest_test']:.3g}× that at {lat[-1]}, and a linear probe on the
codes reaches {pct(lo['probe_acc'])} (raw pixels {pct(pixels_probe)}); too large a code, unregularised, {over_risk}.

An autoencoder is **undercomplete** when its code has fewer dimensions than its input and
**overcomplete** when it has more (here the input has {dim} pixels). Model: {dim} → latent (linear
codes) → {dim} (sigmoid), no hidden layers, so the code is the only bottleneck; every size trained
{cfg['steps']} Adam steps (batch {cfg['batch_size']}, lr {cfg['lr']}, MSE) on {d['name']} ({d['what']}), mean ± std over
{cfg['seeds']} seed(s). Probe: logistic regression on {cfg['probe_train']} training codes, tested on the test set
(raw pixels: {pct(pixels_probe)}). "Shuffled images": test images with each image's pixels put in a random
order among the positions that are non-zero in at least {100 * proto['support_min_fraction']:.0f}% of training images —
same intensities, no {item} left; an identity map reconstructs them as well as real images, a model of {item}s cannot.

{sweep_table}

![reconstruction error vs latent](reconstruction_vs_latent.png)
![probe accuracy vs latent](probe_vs_latent.png)
![reconstructions](reconstructions.png)

**Measured knee.** The test reconstruction error falls fastest up to latent **{knee}** (the point of the
log-x curve furthest below the chord between its ends): {lo['recon_mse_test']:.3g} at {lat[0]},
{hi['recon_mse_test']:.3g} at {knee}, {big['recon_mse_test']:.3g} at {lat[-1]}. The linear probe is within 1 point
of its best ({pct(f['best_probe'])}) from latent **{probe_knee}** on.

**Risk of too small a code: information loss.** At latent {lat[0]} the test error is
{lo['recon_mse_test']:.3g} ({f['smallest_over_largest_test']:.3g}× that at {lat[-1]}), the training error
{lo['recon_mse_train']:.3g}{underfit}, and a linear probe on the codes reaches {pct(lo['probe_acc'])}
(pixels {pct(pixels_probe)}): what does not fit through the bottleneck is lost, class information included.
Compare the rows for latents {examples} in the reconstruction figure.

**Risk of too large a code: the identity, and memorisation.** {copying} Its codes give a probe accuracy of
{pct(big['probe_acc'])}, {probe_word} raw pixels ({pct(pixels_probe)}). Trained on only
{cfg['small_train']} images with the same budget, {memo}:

{small_table}

Regularising the overcomplete codes changes what they learn (same budget):

{reg_table}

Regularisation makes copying harder where the shuffled-image error rises above the plain model's: {harder}.
An overcomplete code is only useful with such a constraint; without one, code dimensions past the knee buy
reconstruction accuracy and little else.
"""
