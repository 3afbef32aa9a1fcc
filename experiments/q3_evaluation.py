"""q3: Is perfect reconstruction a good thing? How should an autoencoder be evaluated?

We train an overcomplete autoencoder (784 -> 1568 ReLU codes -> 784, exactly enough units to
copy every pixel as relu(x) - relu(-x)) with no regulariser until it reconstructs test images
almost perfectly, and then measure what it learned with every evaluation we use elsewhere:
reconstruction error, a linear probe and 5-NN on its codes (against the same on raw pixels),
denoising, and two tests of whether its code space knows anything about digits (reconstructing
test images whose pixels were shuffled, and decoding the midpoint of two codes). The same measurements are
made for an undercomplete, a denoising and a sparse autoencoder.
"""

import functools
import numpy as np

from aejax import data, plots, report
from aejax.evaluation import image_metrics, mean_std, measure_autoencoder, probes
from aejax.models.autoencoder import mlp_autoencoder
from aejax.recipes import train_autoencoder

NAME = "q3_evaluation"
QUESTION = "Is perfect reconstruction a good thing? How should an autoencoder be evaluated?"
SUPPORT_MIN_FRACTION = 0.01  # a position is in the ink support when this fraction of training images light it
NEAR_BINARY_MARGIN = 0.1  # a pixel within this of 0 or 1 counts as near-binary (where a sigmoid output clips noise)


def _decode(model, p, z):
  """(decoder logits, None) for flat codes z: the apply_fn shape image_metrics.reconstruct takes."""
  return model.apply(p, z.reshape(z.shape[0], -1), method=model.decode), None


def config(profile: str) -> dict:
  cfg = {"dataset": "mnist", "seeds": 3, "steps": 1000, "plain_steps": 2500, "batch_size": 128, "lr": 1e-3,
         "over_latent": 1568, "under_latent": 32, "train_noise": 0.3, "l1_weight": 3e-4,
         "eval_sigma": 0.3, "train_subset": 0, "test_subset": 0, "probe_train": 10000,
         "probe_steps": 500, "knn_ref": 5000, "knn_query": 2000}
  if profile == "smoke":
    cfg.update(seeds=1, steps=30, plain_steps=40, train_subset=2000, test_subset=500, probe_train=1000,
               probe_steps=50, knn_ref=500, knn_query=200, over_latent=128)
  elif profile == "paper":
    cfg.update(seeds=5, steps=20000, plain_steps=50000)
  return cfg


def autoencoders(cfg):
  """name -> (model, training-loss settings); the three overcomplete ones share one architecture."""
  over = lambda: mlp_autoencoder(cfg["over_latent"], hidden=(), code_activation="relu")
  return {
      "overcomplete_plain": (over(), {"steps": cfg["plain_steps"]}),
      "undercomplete": (mlp_autoencoder(cfg["under_latent"]), {}),
      "overcomplete_denoising": (over(), {"noise_std": cfg["train_noise"]}),
      "overcomplete_sparse": (over(), {"l1_codes": cfg["l1_weight"]}),
  }


def layer_sizes(model, input_dim: int) -> list[int]:
  """[input, hidden..., latent, hidden..., input] of an mlp_autoencoder."""
  enc, dec = model.encoder, model.decoder
  return [input_dim, *enc.hidden, enc.latent, *dec.hidden, input_dim]


def code_space_tests(model, params, test_images, support, seed):
  """Does the code space know digits? Two numbers that are ~0 for an identity map.

  recon_mse_shuffled: reconstruction error of test images with their pixels shuffled within the
  training images' ink support (an identity copies them);
  midpoint_vs_crossfade_mse: decoding the mean of two digits' codes vs the pixel average of the
  two images (an identity, or any linear code, just cross-fades).
  """
  shuffled = image_metrics.shuffle_pixels(test_images[:1000], seed, support)
  half = min(500, len(test_images) // 2)
  x = test_images[:2 * half].astype(np.float32) / 255.0
  a, b = x[:half], x[half:]
  encode = functools.partial(model.apply, method="encode")
  za, zb = probes.encode(encode, params, a), probes.encode(encode, params, b)
  decode = functools.partial(_decode, model)
  mid = image_metrics.reconstruct(decode, params, (za + zb) / 2).reshape(a.shape)
  return {"recon_mse_shuffled": float(image_metrics.reconstruction_mse(model.apply, params, shuffled).mean()),
          "midpoint_vs_crossfade_mse": float(np.mean((mid - (a + b) / 2) ** 2))}


def trajectory_probe(model, test_images, sigma):
  """eval_fn for the trainer: test MSE and denoising PSNR of the current params (1000 test images)."""
  x = test_images[:1000]
  noisy = image_metrics.add_noise(x, sigma, seed=1000)

  def eval_fn(state):
    return {"recon_mse_test": float(image_metrics.reconstruction_mse(model.apply, state.params, x).mean()),
            "denoise_psnr": image_metrics.psnr(x, image_metrics.reconstruct(model.apply, state.params, noisy))}

  return eval_fn


def run(cfg: dict, out) -> dict:
  ds = data.load(cfg["dataset"], download=True).head(cfg["train_subset"], cfg["test_subset"])
  train_x, train_y, test_x, test_y = ds.train_images, ds.train_labels, ds.test_images, ds.test_labels
  eval_kw = dict(probe_train=cfg["probe_train"], probe_steps=cfg["probe_steps"], knn_ref=cfg["knn_ref"],
                 knn_query=cfg["knn_query"], sigma=cfg["eval_sigma"], num_classes=ds.num_classes)

  support = image_metrics.ink_support(train_x, SUPPORT_MIN_FRACTION)  # where the images ever have ink
  per_seed, examples = {}, {}
  noisy_examples = image_metrics.add_noise(test_x[:8], cfg["eval_sigma"], seed=7)
  ae = autoencoders(cfg)
  for name, (model, loss_kw) in ae.items():
    rows = []
    for seed in range(cfg["seeds"]):
      # seed 0 of the plain model is watched while it trains: does denoising get worse as copying improves?
      watch = name == "overcomplete_plain" and seed == 0
      params, history = train_autoencoder(
          model, train_x, **{"steps": cfg["steps"], **loss_kw}, batch_size=cfg["batch_size"], lr=cfg["lr"],
          seed=seed, desc=f"q3 {name} s{seed}", log_every=max(1, cfg["plain_steps"] // 5),
          eval_fn=trajectory_probe(model, test_x, cfg["eval_sigma"]) if watch else None)
      if watch:
        trajectory = {k: [h[k] for h in history] for k in ("step", "recon_mse_test", "denoise_psnr")}
      row = measure_autoencoder(model, params, train_x, train_y, test_x, test_y, seed=seed, **eval_kw)
      row.update(code_space_tests(model, params, test_x, support, seed))
      rows.append(row)
      if seed == 0:
        examples[name] = image_metrics.reconstruct(model.apply, params, noisy_examples)
    per_seed[name] = rows
  models = {name: mean_std(rows) for name, rows in per_seed.items()}

  # the same measurements on raw pixels: the baseline a useful code must beat
  tr = train_x[:cfg["probe_train"]]
  pixels = {
      "probe_acc": probes.linear_probe_accuracy(tr, train_y[:len(tr)], test_x, test_y, ds.num_classes,
                                                steps=cfg["probe_steps"]),
      "knn_acc": probes.knn_accuracy(tr[:cfg["knn_ref"]], train_y[:cfg["knn_ref"]], test_x[:cfg["knn_query"]],
                                     test_y[:cfg["knn_query"]], 5, ds.num_classes),
      "noisy_psnr": image_metrics.psnr(test_x, image_metrics.add_noise(test_x, cfg["eval_sigma"], seed=1000)),
  }

  rows = [[f"clean ({cfg['dataset']} test)"] + list(test_x[:8]), ["noisy input"] + list(noisy_examples)]
  rows += [[name] + list(examples[name]) for name in examples]
  plots.image_grid([r[1:] for r in rows], out / "denoising.png", row_titles=[r[0] for r in rows],
                   title=f"outputs for noisy inputs (sigma {cfg['eval_sigma']})")
  steps = trajectory["step"]
  plots.lines({"test reconstruction PSNR (dB)": (steps, [10 * np.log10(1 / m) for m in trajectory["recon_mse_test"]]),
               f"denoising PSNR (dB), sigma {cfg['eval_sigma']}": (steps, trajectory["denoise_psnr"]),
               "noisy input PSNR (dB)": (steps, [pixels["noisy_psnr"]] * len(steps))},
              out / "plain_training.png", xlabel="training step", ylabel="PSNR (dB)",
              title="overcomplete_plain while it trains (seed 0)")
  x, input_dim = test_x.astype(np.float32) / 255.0, int(np.prod(train_x.shape[1:]))
  near_binary = float(np.mean((x <= NEAR_BINARY_MARGIN) | (x >= 1 - NEAR_BINARY_MARGIN)))
  return {"models": models, "pixels": pixels, "plain_trajectory": trajectory, "per_seed": per_seed,
          "findings": findings(models, pixels, trajectory),
          "data": {**data.describe(cfg["dataset"]), "near_binary_fraction": near_binary},
          "protocol": {"input_dim": input_dim, "layers": {n: layer_sizes(m, input_dim) for n, (m, _) in ae.items()},
                       "support_min_fraction": SUPPORT_MIN_FRACTION, "near_binary_margin": NEAR_BINARY_MARGIN}}


def findings(models: dict, pixels: dict, trajectory: dict) -> dict:
  """What the answer states, computed from the measurements: the best model by each measure, the plain
  model against raw pixels, error ratios, and where denoising peaked while the plain model trained."""
  names = list(models)
  plain = models["overcomplete_plain"]
  dn = trajectory["denoise_psnr"]
  peak = int(np.argmax(dn))
  probe_gain = plain["probe_acc"] - pixels["probe_acc"]
  knn_gain = plain["knn_acc"] - pixels["knn_acc"]
  return {
      "lowest_test": min(names, key=lambda n: models[n]["recon_mse_test"]),
      "best_probe": max(names, key=lambda n: models[n]["probe_acc"]),
      "best_knn": max(names, key=lambda n: models[n]["knn_acc"]),
      "best_denoise": max(names, key=lambda n: models[n]["denoise_psnr"]),
      "plain_recon_psnr_test": float(10 * np.log10(1 / plain["recon_mse_test"])),
      "plain_probe_minus_pixels": probe_gain, "plain_knn_minus_pixels": knn_gain,
      "plain_label_gain": max(probe_gain, knn_gain),
      "shuffled_over_test": {n: m["recon_mse_shuffled"] / m["recon_mse_test"] for n, m in models.items()},
      "plain_beats_noisy_input": plain["denoise_psnr"] > pixels["noisy_psnr"],
      "denoise_peak_step": trajectory["step"][peak], "denoise_peak_psnr": dn[peak],
      "denoise_final_psnr": dn[-1], "denoise_change_after_peak": dn[-1] - dn[peak],
      "denoise_falls_after_peak": dn[-1] < dn[peak],
  }


def relation(diff: float, points: float = 0.5) -> str:
  """'below' / 'about equal to' / 'above' for a difference of two accuracies (fractions), within `points` %."""
  d = 100 * diff
  return "about equal to" if abs(d) <= points else ("below" if d < 0 else "above")


def answer(metrics: dict) -> str:
  cfg = metrics["_meta"]["config"]
  models, pixels, trajectory = metrics["models"], metrics["pixels"], metrics["plain_trajectory"]
  f, d, proto = metrics["findings"], metrics["data"], metrics["protocol"]
  item, sigma = d["item"], cfg["eval_sigma"]
  names = list(models)
  plain, under, den = models["overcomplete_plain"], models["undercomplete"], models["overcomplete_denoising"]
  ratio = f["shuffled_over_test"]
  keys = [("recon_mse_train", 1, 3), ("recon_mse_test", 1, 3), ("probe_acc", 100, 4), ("knn_acc", 100, 4),
          ("denoise_psnr", 1, 4), ("recon_mse_shuffled", 1, 3), ("midpoint_vs_crossfade_mse", 1, 3)]
  table = report.table(
      ["model", "recon MSE train", "recon MSE test", "linear probe acc %", "5-NN acc %",
       f"denoise PSNR dB (σ={sigma})", "recon MSE of pixel-shuffled images", "midpoint vs cross-fade MSE"],
      [[name] + [report.pm(models[name], k, s, n) for k, s, n in keys] for name in names]
      + [["raw pixels (no model)", "0", "0", report.num(100 * pixels["probe_acc"], 4),
          report.num(100 * pixels["knn_acc"], 4), f"{report.num(pixels['noisy_psnr'], 4)} (noisy input)", "0", "0"]])
  slash = lambda key, scale=1.0, fmt=".3g": " / ".join(f"{scale * models[n][key]:{fmt}}" for n in names)
  pct = lambda x: f"{100 * x:.2f}%"

  if f["plain_label_gain"] <= 0.005:
    verdict = ": the near-perfect reconstruction did not make the labels more accessible than the pixels it copies"
  else:
    verdict = (f": at most {100 * f['plain_label_gain']:.1f} points above the pixels it copies, for all its "
               "reconstruction accuracy")
  clip_note = ""
  if f["plain_beats_noisy_input"]:
    clip_note = (f"; part of its gain over the noisy input comes from the sigmoid output, which clips faint noise "
                 f"towards 0 or 1 ({pct(d['near_binary_fraction'])} of the test pixels here are within "
                 f"{proto['near_binary_margin']} of 0 or 1)")
    if f["denoise_falls_after_peak"]:
      clip_note += ", and the trajectory above shows that gain shrinking as copying improves"
  if f["best_probe"] == "overcomplete_plain":
    rival = ", the best probe here"
  else:
    rival = f", while the codes of {f['best_probe']} reach {pct(models[f['best_probe']]['probe_acc'])}"
  if f["denoise_falls_after_peak"]:
    trend = (f"denoising peaks at step {f['denoise_peak_step']} ({f['denoise_peak_psnr']:.2f} dB) and ends at "
             f"{f['denoise_final_psnr']:.2f} dB ({f['denoise_change_after_peak']:+.2f} dB) while reconstruction keeps improving")
  else:
    trend = (f"denoising is at its best at the last point, step {f['denoise_peak_step']} ({f['denoise_peak_psnr']:.2f} dB): "
             "in this run it had not started to fall")

  return f"""
**Short answer.** Not by itself. The unregularised overcomplete autoencoder reconstructs test images with
MSE {plain['recon_mse_test']:.3g} (PSNR {f['plain_recon_psnr_test']:.1f} dB), yet a linear probe on its codes reaches
{pct(plain['probe_acc'])}, {relation(f['plain_probe_minus_pixels'])} the raw pixels it copies ({pct(pixels['probe_acc'])}){rival}.
Evaluate an autoencoder by its held-out reconstruction error *and* by what its codes and outputs are good for:
a linear probe, k-NN, a downstream task such as denoising, inputs without the data's structure, interpolation.

Overcomplete models: {' → '.join(map(str, proto['layers']['overcomplete_plain']))} with ReLU codes (no hidden layer, so
nothing but the regulariser stops them from copying). Undercomplete: {'-'.join(map(str, proto['layers']['undercomplete']))}.
Each trained {cfg['steps']} Adam steps ({cfg['plain_steps']} for overcomplete_plain, to push it towards copying)
(batch {cfg['batch_size']}, lr {cfg['lr']}, MSE) on {d['name']} ({d['what']}); denoising with Gaussian noise σ={cfg['train_noise']},
sparse with an L1 penalty {cfg['l1_weight']} on the codes. Mean ± std over {cfg['seeds']} seed(s). Probe: logistic
regression on {cfg['probe_train']} training codes, tested on the test set; 5-NN: {cfg['knn_ref']} training codes as
references, {cfg['knn_query']} test queries. Pixel-shuffled images: test images with each image's pixels in a random
order among the positions that are non-zero in at least {100 * proto['support_min_fraction']:.0f}% of training images
(same intensities, no {item}); an identity map reconstructs them as well as real images.

{table}

![outputs for noisy inputs](denoising.png)

While the plain model trains (seed 0), its test error and its denoising are measured at the same points:
step {trajectory['step']}, test MSE {[float(f"{m:.3g}") for m in trajectory['recon_mse_test']]},
denoising PSNR {[round(p, 2) for p in trajectory['denoise_psnr']]} dB: {trend}.

![plain model during training](plain_training.png)

**Is perfect reconstruction good?** The unregularised overcomplete autoencoder reaches a test
reconstruction MSE of {plain['recon_mse_test']:.3g} (PSNR {f['plain_recon_psnr_test']:.1f} dB; the lowest test error here belongs to
{f['lowest_test']}; undercomplete: {under['recon_mse_test']:.3g}). What did it learn? Its codes give a linear probe
accuracy of {pct(plain['probe_acc'])}, {relation(f['plain_probe_minus_pixels'])} raw pixels
({pct(pixels['probe_acc'])}), and a 5-NN accuracy of {pct(plain['knn_acc'])},
{relation(f['plain_knn_minus_pixels'])} pixels ({pct(pixels['knn_acc'])}){verdict}. For noisy inputs (σ={sigma}) its
output has PSNR {plain['denoise_psnr']:.2f} dB against {pixels['noisy_psnr']:.2f} dB for the noisy input itself and
{den['denoise_psnr']:.2f} dB for the denoising autoencoder of the same shape (best here: {f['best_denoise']}){clip_note}.
Pixel-shuffled images come back with MSE {plain['recon_mse_shuffled']:.3g} ({ratio['overcomplete_plain']:.3g}× its error on
real {item}s; undercomplete: {under['recon_mse_shuffled']:.3g}, {ratio['undercomplete']:.3g}×).
Decoding the midpoint of two {item}s' codes differs from the pixel cross-fade of the two images by MSE
{plain['midpoint_vs_crossfade_mse']:.3g} (undercomplete: {under['midpoint_vs_crossfade_mse']:.3g}): a small number means
the code space is pixel space in other coordinates. Low reconstruction error alone is therefore no evidence of a
useful representation; an objective that cannot be met by copying (a bottleneck, noise, sparsity) is what makes the
codes useful, and each must be checked with the measurements below.

**How to evaluate an autoencoder**, each with the number this run measured ({' / '.join(names)}):
1. *Reconstruction error on held-out data* (and its gap to the training error, for memorisation): test MSE
   {slash('recon_mse_test')}; train MSE {slash('recon_mse_train')}. Necessary, never sufficient.
2. *Linear probe on the codes* (how linearly accessible the labels are): {slash('probe_acc', 100, '.2f')}%
   (pixels {pct(pixels['probe_acc'])}); best here: {f['best_probe']}.
3. *k-NN in code space* (is distance in the code space semantic?): {slash('knn_acc', 100, '.2f')}%
   (pixels {pct(pixels['knn_acc'])}); best here: {f['best_knn']}.
4. *A downstream task, e.g. denoising PSNR at σ={sigma}*: {slash('denoise_psnr', 1, '.2f')} dB (noisy input
   {pixels['noisy_psnr']:.2f} dB).
5. *Inputs without the data's structure* (does it reconstruct anything? pixel-shuffled test images): MSE
   {slash('recon_mse_shuffled')} (high = it only knows the data).
6. *Structure of the code space: interpolation* (midpoint decode vs pixel cross-fade): {slash('midpoint_vs_crossfade_mse')}.
7. *Looking at outputs* (figure above): reconstructions and denoisings side by side.
For generative autoencoders, add likelihood bounds and sample quality (q6).
"""
