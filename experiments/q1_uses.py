"""q1: What are autoencoders used for? Each main use, measured on the same data.

- Dimensionality reduction: a 784-512-256-2 autoencoder against 2-D PCA, judged by 5-NN test
  accuracy in the 2-D map (a map that keeps classes apart keeps neighbours' labels).
- Denoising: the seed's own convolutional model (two stride-2 convs 1-16-32, two transposed convs
  back, sigmoid) trained to remove Gaussian noise of sigma 0.1 / 0.3 / 0.5; PSNR of the noisy input
  and of the output. The sigma=0.1 model is the seed's recipe; it is also tested at 0.3 and 0.5.
- Anomaly detection: the one-class protocol of Ruff et al. (2018): one autoencoder per class,
  trained on that class only, every test image scored by its reconstruction error, AUROC with that
  class normal; on MNIST their published table alongside (answers/q1_uses.toml).
- Feature learning: a linear probe on 32-d autoencoder codes vs raw pixels vs an untrained encoder
  of the same shape.
- Generation: samples of a VAE with the q6 architecture (784-200-200-50, tanh, Bernoulli).
- Semi-supervised learning: measured in q2.
"""

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from aejax import config as C
from aejax import data, plots
from aejax.evaluation import image_metrics, likelihood, mean_std, probes
from aejax.models.autoencoder import conv_autoencoder, mlp_autoencoder
from aejax.models.vae import VAE
from aejax.recipes import init, train_autoencoder
from aejax.trainer import take_trial
from experiments import q6_vae

NAME = "q1_uses"
QUESTION = "What are the main tasks that autoencoders are used for?"

# Architectures, stored in metrics.json as the widths the run used.
MLP_HIDDEN = (512, 256)  # the MLP autoencoders: pixels-512-256-code-256-512-pixels
CONV_FEATURES = (16, 32)  # the seed's conv autoencoder: two stride-2 convs, two transposed convs back
VAE_HIDDEN = (200, 200)  # q6's MLP VAE

SCHEMA = C.schema(
    dataset=C.choice("mnist", data.KNOWN), seeds=C.integer(3, min=1), batch_size=C.batch(128),
    lr=C.real(1e-3, above=0),
    conv_impl=C.choice("matmul", ("lax", "matmul")),  # the same model; matmul trains faster on CPU, lax compiles faster
    subset=dict(train=C.integer(0, min=0), test=C.integer(0, min=0)),  # 0: the whole split
    probe=dict(train=C.integer(10000, min=1), steps=C.integer(500, min=1)),
    knn=dict(ref=C.integer(10000, min=1)),
    dimred=dict(steps=C.integer(1200, min=1)),
    denoise=dict(steps=C.integer(1000, min=1), batch_size=C.batch(64), sigmas=C.reals((0.1, 0.3, 0.5), min=0)),
    anomaly=dict(steps=C.integer(300, min=1), batch_size=C.batch(64), latent=C.integer(32, min=1),
                 seeds=C.integer(1, min=1), classes=C.integer(10, min=1, max=10)),
    features=dict(steps=C.integer(1000, min=1), latent=C.integer(32, min=1)),
    vae=dict(steps=C.integer(2000, min=1), latent=C.integer(50, min=1), iw_samples=C.integer(50, min=1),
             eval_images=C.integer(2000, min=1)),
)

PROFILES = {
    "smoke": {"seeds": 1, "conv_impl": "lax", "subset.train": 2000, "subset.test": 500, "probe.train": 1000,
              "probe.steps": 50, "knn.ref": 1000, "dimred.steps": 20, "denoise.steps": 20, "anomaly.steps": 10,
              "anomaly.classes": 2, "features.steps": 20, "vae.steps": 20, "vae.iw_samples": 5,
              "vae.eval_images": 200},
    "paper": {"seeds": 5, "probe.train": 60000, "knn.ref": 60000, "dimred.steps": 20000, "denoise.steps": 10000,
              "anomaly.steps": 5000, "anomaly.seeds": 5, "features.steps": 20000, "vae.steps": 100000,
              "vae.iw_samples": 5000, "vae.eval_images": 10000},
}


def check(cfg):
  if not cfg.denoise.sigmas:
    raise C.ConfigError("denoise.sigmas must name at least one noise level, e.g. --set denoise.sigmas=0.1,0.3")


def dimensionality_reduction(cfg, train_x, train_y, test_x, test_y, out):
  """5-NN accuracy in a learned 2-D map vs the 2-D PCA map; figure of both maps (seed 0)."""
  ref_x, ref_y = train_x[:cfg.knn.ref], train_y[:cfg.knn.ref]
  knn = lambda ref_codes, test_codes: probes.knn_accuracy(ref_codes, ref_y, test_codes, test_y, 5)
  pca = probes.pca_fit(ref_x, 2)
  pca_ref, pca_test = probes.pca_transform(pca, ref_x), probes.pca_transform(pca, test_x)
  knn_pca = knn(pca_ref, pca_test)
  model = mlp_autoencoder(2, hidden=MLP_HIDDEN)
  encode = functools.partial(model.apply, method="encode")
  rows, seeds = [], tuple(range(cfg.seeds))
  trials = train_autoencoder(model, train_x, steps=cfg.dimred.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                             seed=seeds, name="dimred")[0].params  # the seeds as trials of one program
  for seed in seeds:
    params = take_trial(trials, seed)
    ae_test = probes.encode(encode, params, test_x)
    rows.append({"knn_acc_ae2d": knn(probes.encode(encode, params, ref_x), ae_test),
                 "recon_mse_test_ae2d": float(image_metrics.reconstruction_mse(model.apply, params, test_x).mean())})
    if seed == 0:
      shown = slice(0, 3000)
      plots.scatter2d({f"autoencoder, 2-D code, seed 0 (5-NN acc {100 * rows[0]['knn_acc_ae2d']:.1f}%)": ae_test[shown],
                       f"PCA, 2 components (5-NN acc {100 * knn_pca:.1f}%)": pca_test[shown]},
                      test_y[shown], out / "dimred_maps.png", title=f"{cfg.dataset} test images in 2-D")
  pca_recon = np.asarray(pca_test @ np.asarray(pca["components"]).T + np.asarray(pca["mean"]))
  stats = {**mean_std(rows), "knn_acc_pca2d": knn_pca,
           "recon_mse_test_pca2d": float(np.mean((pca_recon - probes.flatten(test_x)) ** 2))}
  stats["knn_ae2d_minus_pca2d"] = stats["knn_acc_ae2d"] - knn_pca
  stats["ae2d_separates_better"] = stats["knn_ae2d_minus_pca2d"] > 0
  stats["ae2d_recon_lower"] = stats["recon_mse_test_ae2d"] < stats["recon_mse_test_pca2d"]
  return stats


def denoising(cfg, train_x, test_x, out):
  """The seed's conv model trained at each noise level; PSNR keyed by sigma, plus the seed recipe
  (the model trained at the first sigma) applied to every noise level, and the gains over the noisy input."""
  model = conv_autoencoder(None, features=CONV_FEATURES, impl=cfg.conv_impl)  # the seed's model
  sigmas = list(cfg.denoise.sigmas)
  noisy = {s: image_metrics.add_noise(test_x, s, seed=1000 + i) for i, s in enumerate(sigmas)}
  psnr_noisy = {str(s): image_metrics.psnr(test_x, noisy[s]) for s in sigmas}
  rows, seed_recipe, shown, seeds = {str(s): [] for s in sigmas}, [], {}, tuple(range(cfg.seeds))
  # the seeds as trials of one program, one after another in it (lax.map: convolutions, benchmarks/RESULTS.md, trials)
  trials = {s: train_autoencoder(model, train_x, steps=cfg.denoise.steps, batch_size=cfg.denoise.batch_size, lr=cfg.lr,
                                 seed=seeds, noise_std=s, name=f"denoise-sigma{s}", vectorise_trials=False)[0].params
            for s in sigmas}
  for seed in seeds:
    for s in sigmas:
      params = take_trial(trials[s], seed)
      out_s = image_metrics.reconstruct(model.apply, params, noisy[s])
      rows[str(s)].append({"psnr_denoised": image_metrics.psnr(test_x, out_s)})
      if seed == 0:
        shown[s] = out_s[:8]
      if s == sigmas[0]:  # the seed's recipe trains at one noise level: how does it do at the others?
        outs = {t: out_s if t == s else image_metrics.reconstruct(model.apply, params, noisy[t]) for t in sigmas}
        seed_recipe.append({str(t): image_metrics.psnr(test_x, o) for t, o in outs.items()})
        if seed == 0:
          shown_recipe = {t: o[:8] for t, o in outs.items()}
  per_sigma = {s: mean_std(r) for s, r in rows.items()}
  recipe = mean_std(seed_recipe)
  grid = [test_x[:8]]
  titles = ["clean test images"]
  for s in sigmas:
    grid += [noisy[s][:8], shown[s]]
    titles += [f"noisy, sigma {s} (PSNR {psnr_noisy[str(s)]:.1f} dB)",
               f"denoised by the model trained at sigma {s} ({per_sigma[str(s)]['psnr_denoised']:.1f} dB)"]
    if s != sigmas[0]:
      grid.append(shown_recipe[s])
      titles.append(f"denoised by the seed recipe (trained at sigma {sigmas[0]}; {recipe[str(s)]:.1f} dB)")
  plots.image_grid(grid, out / "denoising.png", row_titles=titles, title="the seed's conv autoencoder as a denoiser")
  keys = [str(s) for s in sigmas]
  denoised = {s: per_sigma[s]["psnr_denoised"] for s in keys}
  gain = {s: denoised[s] - psnr_noisy[s] for s in keys}
  matched_minus_recipe = {s: denoised[s] - recipe[s] for s in keys[1:]}  # noise stronger than the recipe's
  return {"psnr_noisy": psnr_noisy, "psnr_denoised": denoised,
          "psnr_denoised_std": {s: per_sigma[s]["psnr_denoised_std"] for s in keys},
          "psnr_seed_recipe": {s: recipe[s] for s in keys},
          "psnr_seed_recipe_std": {s: recipe[s + "_std"] for s in keys},
          "trained_at_sigma": sigmas[0],
          "gain_db": gain,
          "seed_recipe_gain_db": {s: recipe[s] - psnr_noisy[s] for s in keys},
          "matched_minus_seed_recipe_db": matched_minus_recipe,
          "matched_training_pays": all(v > 0 for v in matched_minus_recipe.values()),
          "worse_than_noisy": [s for s in keys if gain[s] < 0]}


def anomaly_detection(cfg, train_x, train_y, test_x, test_y):
  """One-class protocol: per class, an autoencoder trained on that class; AUROC of reconstruction
  error with the class normal and every other test image an anomaly (the first `anomaly.classes`
  classes: all 10 except in the smoke profile)."""
  model = conv_autoencoder(cfg.anomaly.latent, features=CONV_FEATURES, impl=cfg.conv_impl)
  per_seed, seeds = [], tuple(range(cfg.anomaly.seeds))
  trials = [train_autoencoder(model, train_x[train_y == c], steps=cfg.anomaly.steps, batch_size=cfg.anomaly.batch_size,
                              lr=cfg.lr, seed=seeds, name=f"anomaly-class{c}", vectorise_trials=False)[0].params
            for c in range(cfg.anomaly.classes)]  # per class, the seeds as trials of one program (as denoising's)
  for seed in seeds:
    aurocs = []
    for c in range(cfg.anomaly.classes):
      params = take_trial(trials[c], seed)
      scores = image_metrics.reconstruction_mse(model.apply, params, test_x)
      aurocs.append(image_metrics.auroc(scores, test_y != c))
    per_seed.append(aurocs)
  per_seed = np.asarray(per_seed)
  per_class = per_seed.mean(0)
  return {"auroc_per_class": per_class.tolist(), "auroc_per_class_std": per_seed.std(0).tolist(),
          "auroc_mean": float(per_seed.mean()), "auroc_mean_std": float(per_seed.mean(1).std()),
          "seeds": cfg.anomaly.seeds, "best_class": int(np.argmax(per_class)),
          "hardest_class": int(np.argmin(per_class))}


def feature_learning(cfg, train_x, train_y, test_x, test_y):
  """Linear-probe test accuracy on trained codes, raw pixels, and codes of the untrained encoder."""
  tr_x, tr_y = train_x[:cfg.probe.train], train_y[:cfg.probe.train]
  probe = lambda tr, te, seed: probes.linear_probe_accuracy(tr, tr_y, te, test_y, steps=cfg.probe.steps, seed=seed)
  model = mlp_autoencoder(cfg.features.latent, hidden=MLP_HIDDEN)
  encode = functools.partial(model.apply, method="encode")
  codes = lambda p: (probes.encode(encode, p, tr_x), probes.encode(encode, p, test_x))
  rows, seeds = [], tuple(range(cfg.seeds))
  trials = train_autoencoder(model, train_x, steps=cfg.features.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                             seed=seeds, name="features")[0].params  # the seeds as trials of one program
  for seed in seeds:
    random_params = init(model, seed, jnp.zeros((1, *train_x.shape[1:])))
    params = take_trial(trials, seed)
    rows.append({"probe_acc_ae": probe(*codes(params), seed), "probe_acc_random": probe(*codes(random_params), seed)})
  stats = {**mean_std(rows), "probe_acc_pixels": probe(tr_x, test_x, 0), "pixel_dim": int(np.prod(train_x.shape[1:]))}
  stats["ae_minus_random"] = stats["probe_acc_ae"] - stats["probe_acc_random"]
  stats["ae_minus_pixels"] = stats["probe_acc_ae"] - stats["probe_acc_pixels"]
  stats["code_beats_pixels"] = stats["ae_minus_pixels"] > 0
  stats["pixels_per_code_dim"] = stats["pixel_dim"] // cfg.features.latent
  return stats


def generation(cfg, train_x, test_x, out):
  """The q6 MLP VAE, trained by q6's recipe: 64 samples from the prior, and its test ELBO / log-likelihood."""
  model = VAE(latent=cfg.vae.latent, hidden=VAE_HIDDEN)
  params, _, _ = q6_vae.train_vae(model, train_x, cfg.vae.steps, batch_size=cfg.batch_size, seed=0,
                                  name="vae", log_every=max(1, cfg.vae.steps // 10), lr=cfg.lr)
  z = jax.random.normal(jax.random.PRNGKey(2), (64, cfg.vae.latent))
  samples = q6_vae.decode_means(model, params, z)  # Bernoulli means
  plots.image_grid([samples[i:i + 8] for i in range(0, 64, 8)], out / "vae_samples.png",
                   title=f"VAE samples (decoder means for z ~ N(0, I)), {cfg.vae.steps} steps")
  x = likelihood.binarize_fixed(test_x[:cfg.vae.eval_images], seed=0)
  log_px, elbo = likelihood.vae_log_likelihood(model, params, x, k=cfg.vae.iw_samples)
  return {"samples_figure": "vae_samples.png", "test_elbo": float(elbo.mean()),
          "test_log_px": float(log_px.mean()), "iw_samples": cfg.vae.iw_samples, "eval_images": len(x)}


def run(cfg, out) -> dict:
  ds = data.load(cfg.dataset, download=True).head(cfg.subset.train, cfg.subset.test)
  train_x, train_y, test_x, test_y = ds.train_images, ds.train_labels, ds.test_images, ds.test_labels

  metrics = {"data": {**data.describe(cfg.dataset), "train_images": len(train_x), "test_images": len(test_x)},
             "protocol": {"pixel_dim": int(np.prod(train_x.shape[1:])), "channels": int(train_x.shape[-1]),
                          "mlp_hidden": list(MLP_HIDDEN), "conv_features": list(CONV_FEATURES),
                          "vae_hidden": list(VAE_HIDDEN), "anomaly_batch_size": cfg.anomaly.batch_size}}
  wall_s, cpu_s = {}, {}
  parts = {
      "dimred": lambda: dimensionality_reduction(cfg, train_x, train_y, test_x, test_y, out),
      "denoise": lambda: denoising(cfg, train_x, test_x, out),
      "anomaly": lambda: anomaly_detection(cfg, train_x, train_y, test_x, test_y),
      "features": lambda: feature_learning(cfg, train_x, train_y, test_x, test_y),
      "generation": lambda: generation(cfg, train_x, test_x, out),
  }
  for name, part in parts.items():
    t0, c0 = time.perf_counter(), time.process_time()
    metrics[name] = part()
    wall_s[name], cpu_s[name] = round(time.perf_counter() - t0, 1), round(time.process_time() - c0, 1)
  metrics["semi_supervised"] = {
      "see": "q2_few_labels",
      "what": "autoencoder pretraining on all training images, then a classifier from 100-3000 labels"}
  metrics["wall_s"], metrics["cpu_s"] = wall_s, cpu_s  # CPU time: for sizing on a shared machine
  return metrics


def findings(metrics, published, results) -> dict:
  """Whether the published one-class table applies (its data set, all its classes run) and, where it
  does, its means over the classes and the measured mean's distance to DCAE and Deep SVDD (points)."""
  table, ano = published["deep_svdd"], metrics["anomaly"]
  applies = metrics["_meta"]["config"]["dataset"] == table["dataset"]
  classes = len(ano["auroc_per_class"])
  out = {"published_applies": applies, "published_means": {},
         "all_published_classes": classes == len(next(iter(table["auroc_percent"].values())))}
  if applies and out["all_published_classes"]:
    means = {k: float(np.mean(v)) for k, v in table["auroc_percent"].items()}
    out.update(published_means=means, minus_dcae_points=100 * ano["auroc_mean"] - means["DCAE"],
               minus_deep_svdd_points=100 * ano["auroc_mean"] - means["Deep SVDD"])
  return out
