"""q1: What are autoencoders used for? Each main use, measured on the same data.

- Dimensionality reduction: a 784-512-256-2 autoencoder against 2-D PCA, judged by 5-NN test
  accuracy in the 2-D map (a map that keeps classes apart keeps neighbours' labels).
- Denoising: the seed's own convolutional model (two stride-2 convs 1-16-32, two transposed convs
  back, sigmoid) trained to remove Gaussian noise of sigma 0.1 / 0.3 / 0.5; PSNR of the noisy input
  and of the output. The sigma=0.1 model is the seed's recipe; it is also tested at 0.3 and 0.5.
- Anomaly detection: the one-class protocol of Ruff et al. (2018): one autoencoder per digit class,
  trained on that class only, every test image scored by its reconstruction error, AUROC with that
  class normal; their published table alongside.
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

from aejax import data, plots, report
from aejax.config import ConfigError
from aejax.evaluation import image_metrics, likelihood, mean_std, probes
from aejax.models.autoencoder import conv_autoencoder, mlp_autoencoder
from aejax.models.vae import VAE
from aejax.recipes import init, train_autoencoder
from experiments import q6_vae

NAME = "q1_uses"
QUESTION = "What are the main tasks that autoencoders are used for?"

# Ruff et al., "Deep One-Class Classification", ICML 2018, Table 1 (MNIST, AUROC %), as in
# ../shared/ANCHORS.md: published numbers, not measured here.
DEEP_SVDD_TABLE = {
    "OC-SVM": [98.6, 99.5, 82.5, 88.1, 94.9, 77.1, 96.5, 93.7, 88.9, 93.1],
    "KDE": [97.1, 98.9, 79.0, 86.2, 87.9, 73.8, 87.6, 91.4, 79.2, 88.2],
    "DCAE": [97.6, 98.3, 85.4, 86.7, 86.5, 78.2, 94.6, 92.3, 86.5, 90.4],
    "AnoGAN": [96.6, 99.2, 85.0, 88.7, 89.4, 88.3, 94.7, 93.5, 84.9, 92.4],
    "Deep SVDD": [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5],
}
DEEP_SVDD_SOURCE = "Ruff et al. (2018), Table 1"

# Architecture and protocol constants, stored in metrics.json (the answer quotes them).
MLP_HIDDEN = (512, 256)  # the MLP autoencoders: pixels-512-256-code-256-512-pixels
CONV_FEATURES = (16, 32)  # the seed's conv autoencoder: two stride-2 convs, two transposed convs back
VAE_HIDDEN = (200, 200)  # q6's MLP VAE
ANOMALY_BATCH = 64
SEED_RECIPE = {"epochs": 10, "batch_size": 64, "train_images": 60000}  # how the seed trains its denoiser


def config(profile: str) -> dict:
  cfg = {"dataset": "mnist", "seeds": 3, "batch_size": 128, "lr": 1e-3,
         "train_subset": 0, "test_subset": 0, "probe_train": 10000, "probe_steps": 500, "knn_ref": 10000,
         "dimred_steps": 1200, "conv_impl": "matmul",
         "denoise_steps": 1000, "denoise_batch_size": 64, "sigmas": (0.1, 0.3, 0.5),
         "anomaly_steps": 300, "anomaly_latent": 32, "anomaly_seeds": 1, "anomaly_classes": 10,
         "features_steps": 1000, "features_latent": 32,
         "vae_steps": 2000, "vae_latent": 50, "vae_iw_samples": 50, "vae_eval_images": 2000}
  if profile == "smoke":
    cfg.update(seeds=1, conv_impl="lax", train_subset=2000, test_subset=500, probe_train=1000, probe_steps=50, knn_ref=1000,
               dimred_steps=20, denoise_steps=20, anomaly_steps=10, anomaly_classes=2, features_steps=20, vae_steps=20,
               vae_iw_samples=5, vae_eval_images=200)
  elif profile == "paper":
    cfg.update(seeds=5, probe_train=60000, knn_ref=60000, dimred_steps=20000, denoise_steps=10000,
               anomaly_steps=5000, anomaly_seeds=5, features_steps=20000, vae_steps=100000,
               vae_iw_samples=5000, vae_eval_images=10000)
  return cfg


def check(cfg):
  if cfg["conv_impl"] not in ("lax", "matmul"):
    raise ConfigError(f"conv_impl must be 'lax' or 'matmul' (the same model; matmul trains faster on CPU, lax "
                     f"compiles faster), got {cfg['conv_impl']!r}")
  if not 1 <= cfg["anomaly_classes"] <= 10:
    raise ConfigError(f"anomaly_classes must be in 1..10, got {cfg['anomaly_classes']}")
  if not cfg["sigmas"]:
    raise ConfigError("sigmas must name at least one noise level")


def dimensionality_reduction(cfg, train_x, train_y, test_x, test_y, out):
  """5-NN accuracy in a learned 2-D map vs the 2-D PCA map; figure of both maps (seed 0)."""
  ref_x, ref_y = train_x[:cfg["knn_ref"]], train_y[:cfg["knn_ref"]]
  knn = lambda ref_codes, test_codes: probes.knn_accuracy(ref_codes, ref_y, test_codes, test_y, 5)
  pca = probes.pca_fit(ref_x, 2)
  pca_ref, pca_test = probes.pca_transform(pca, ref_x), probes.pca_transform(pca, test_x)
  knn_pca = knn(pca_ref, pca_test)
  model = mlp_autoencoder(2, hidden=MLP_HIDDEN)
  encode = functools.partial(model.apply, method="encode")
  rows = []
  for seed in range(cfg["seeds"]):
    params, _ = train_autoencoder(model, train_x, steps=cfg["dimred_steps"], batch_size=cfg["batch_size"],
                                  lr=cfg["lr"], seed=seed, desc=f"q1 dimred s{seed}")
    ae_test = probes.encode(encode, params, test_x)
    rows.append({"knn_acc_ae2d": knn(probes.encode(encode, params, ref_x), ae_test),
                 "recon_mse_test_ae2d": float(image_metrics.reconstruction_mse(model.apply, params, test_x).mean())})
    if seed == 0:
      shown = slice(0, 3000)
      plots.scatter2d({f"autoencoder, 2-D code, seed 0 (5-NN acc {100 * rows[0]['knn_acc_ae2d']:.1f}%)": ae_test[shown],
                       f"PCA, 2 components (5-NN acc {100 * knn_pca:.1f}%)": pca_test[shown]},
                      test_y[shown], out / "dimred_maps.png", title=f"{cfg['dataset']} test images in 2-D")
  pca_recon = np.asarray(pca_test @ np.asarray(pca["components"]).T + np.asarray(pca["mean"]))
  stats = {**mean_std(rows), "knn_acc_pca2d": knn_pca,
           "recon_mse_test_pca2d": float(np.mean((pca_recon - probes.flatten(test_x)) ** 2))}
  stats["knn_ae2d_minus_pca2d"] = stats["knn_acc_ae2d"] - knn_pca
  stats["ae2d_separates_better"] = stats["knn_ae2d_minus_pca2d"] > 0
  stats["ae2d_recon_lower"] = stats["recon_mse_test_ae2d"] < stats["recon_mse_test_pca2d"]
  return stats


def denoising(cfg, train_x, test_x, out):
  """The seed's conv model trained at each noise level; PSNR keyed by sigma, plus the seed recipe
  (the sigma=0.1 model) applied to every noise level, and the gains over the noisy input."""
  model = conv_autoencoder(None, features=CONV_FEATURES, impl=cfg["conv_impl"])  # the seed's model
  sigmas = list(cfg["sigmas"])
  noisy = {s: image_metrics.add_noise(test_x, s, seed=1000 + i) for i, s in enumerate(sigmas)}
  psnr_noisy = {str(s): image_metrics.psnr(test_x, noisy[s]) for s in sigmas}
  rows, seed_recipe, shown = {str(s): [] for s in sigmas}, [], {}
  for seed in range(cfg["seeds"]):
    for s in sigmas:
      params, _ = train_autoencoder(model, train_x, steps=cfg["denoise_steps"], batch_size=cfg["denoise_batch_size"],
                                    lr=cfg["lr"], seed=seed, noise_std=s, desc=f"q1 denoise {s} s{seed}")
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
  error with the class normal and every other test image an anomaly (the first `anomaly_classes`
  classes: all 10 except in the smoke profile). On MNIST, the published table alongside."""
  model = conv_autoencoder(cfg["anomaly_latent"], features=CONV_FEATURES, impl=cfg["conv_impl"])
  per_seed = []
  for seed in range(cfg["anomaly_seeds"]):
    aurocs = []
    for c in range(cfg["anomaly_classes"]):
      params, _ = train_autoencoder(model, train_x[train_y == c], steps=cfg["anomaly_steps"], batch_size=ANOMALY_BATCH,
                                    lr=cfg["lr"], seed=seed, desc=f"q1 anomaly class {c} s{seed}")
      scores = image_metrics.reconstruction_mse(model.apply, params, test_x)
      aurocs.append(image_metrics.auroc(scores, test_y != c))
    per_seed.append(aurocs)
  per_seed = np.asarray(per_seed)
  per_class = per_seed.mean(0)
  stats = {"auroc_per_class": per_class.tolist(), "auroc_per_class_std": per_seed.std(0).tolist(),
           "auroc_mean": float(per_seed.mean()), "auroc_mean_std": float(per_seed.mean(1).std()),
           "seeds": cfg["anomaly_seeds"], "best_class": int(np.argmax(per_class)),
           "hardest_class": int(np.argmin(per_class)), "published": None}
  if cfg["dataset"] == "mnist":  # the published table is MNIST's
    means = {k: float(np.mean(v[:len(per_class)])) for k, v in DEEP_SVDD_TABLE.items()}
    stats["published"] = {"source": DEEP_SVDD_SOURCE, "auroc_percent": DEEP_SVDD_TABLE, "mean_percent": means,
                          "measured_minus_dcae_points": 100 * stats["auroc_mean"] - means["DCAE"],
                          "measured_minus_deep_svdd_points": 100 * stats["auroc_mean"] - means["Deep SVDD"]}
  return stats


def feature_learning(cfg, train_x, train_y, test_x, test_y):
  """Linear-probe test accuracy on trained codes, raw pixels, and codes of the untrained encoder."""
  tr_x, tr_y = train_x[:cfg["probe_train"]], train_y[:cfg["probe_train"]]
  probe = lambda tr, te, seed: probes.linear_probe_accuracy(tr, tr_y, te, test_y, steps=cfg["probe_steps"], seed=seed)
  model = mlp_autoencoder(cfg["features_latent"], hidden=MLP_HIDDEN)
  encode = functools.partial(model.apply, method="encode")
  codes = lambda p: (probes.encode(encode, p, tr_x), probes.encode(encode, p, test_x))
  rows = []
  for seed in range(cfg["seeds"]):
    random_params = init(model, seed, jnp.zeros((1, *train_x.shape[1:])))
    params, _ = train_autoencoder(model, train_x, steps=cfg["features_steps"], batch_size=cfg["batch_size"],
                                  lr=cfg["lr"], seed=seed, desc=f"q1 features s{seed}")
    rows.append({"probe_acc_ae": probe(*codes(params), seed), "probe_acc_random": probe(*codes(random_params), seed)})
  stats = {**mean_std(rows), "probe_acc_pixels": probe(tr_x, test_x, 0), "pixel_dim": int(np.prod(train_x.shape[1:]))}
  stats["ae_minus_random"] = stats["probe_acc_ae"] - stats["probe_acc_random"]
  stats["ae_minus_pixels"] = stats["probe_acc_ae"] - stats["probe_acc_pixels"]
  stats["code_beats_pixels"] = stats["ae_minus_pixels"] > 0
  stats["pixels_per_code_dim"] = stats["pixel_dim"] // cfg["features_latent"]
  return stats


def generation(cfg, train_x, test_x, out):
  """The q6 MLP VAE, trained by q6's recipe: 64 samples from the prior, and its test ELBO / log-likelihood."""
  model = VAE(latent=cfg["vae_latent"], hidden=VAE_HIDDEN)
  params, _, _ = q6_vae.train_vae(model, train_x, cfg["vae_steps"], batch_size=cfg["batch_size"], seed=0,
                                  desc="q1 vae", log_every=max(1, cfg["vae_steps"] // 10), lr=cfg["lr"])
  z = jax.random.normal(jax.random.PRNGKey(2), (64, cfg["vae_latent"]))
  samples = q6_vae.decode_means(model, params, z)  # Bernoulli means
  plots.image_grid([samples[i:i + 8] for i in range(0, 64, 8)], out / "vae_samples.png",
                   title=f"VAE samples (decoder means for z ~ N(0, I)), {cfg['vae_steps']} steps")
  x = likelihood.binarize_fixed(test_x[:cfg["vae_eval_images"]], seed=0)
  log_px, elbo = likelihood.vae_log_likelihood(model, params, x, k=cfg["vae_iw_samples"])
  return {"samples_figure": "vae_samples.png", "test_elbo": float(elbo.mean()),
          "test_log_px": float(log_px.mean()), "iw_samples": cfg["vae_iw_samples"], "eval_images": len(x)}


def run(cfg: dict, out) -> dict:
  ds = data.load(cfg["dataset"], download=True).head(cfg["train_subset"], cfg["test_subset"])
  train_x, train_y, test_x, test_y = ds.train_images, ds.train_labels, ds.test_images, ds.test_labels

  metrics = {"data": {**data.describe(cfg["dataset"]), "train_images": len(train_x), "test_images": len(test_x)},
             "protocol": {"pixel_dim": int(np.prod(train_x.shape[1:])), "channels": int(train_x.shape[-1]),
                          "mlp_hidden": list(MLP_HIDDEN), "conv_features": list(CONV_FEATURES),
                          "vae_hidden": list(VAE_HIDDEN), "anomaly_batch_size": ANOMALY_BATCH,
                          "seed_recipe": {**SEED_RECIPE, "steps": SEED_RECIPE["epochs"] * SEED_RECIPE["train_images"]
                                          // SEED_RECIPE["batch_size"]}}}
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


# --- answer.md, from metrics.json alone ------------------------------------------------------


def _at(stats: dict, key: str, i) -> dict:
  """{key, key_std} at index `i` of per-sigma or per-class values, for report.pm."""
  return {key: stats[key][i], key + "_std": stats[key + "_std"][i]}


def _pct(fraction: float) -> str:
  """A fraction as a percentage for prose: 0.7123 -> '71.2'."""
  return f"{100 * fraction:.1f}"


def _signed(values: dict, digits: int = 2) -> str:
  """'+3.97 / +7.96 / +7.75': signed values in their stored order."""
  return " / ".join(f"{v:+.{digits}f}" for v in values.values())


def _mlp_shape(pixels: int, hidden, code: int) -> str:
  """'784-512-256-2-256-512-784'."""
  return "-".join(map(str, [pixels, *hidden, code, *reversed(hidden), pixels]))


def _conv_layers(channels: int, features) -> str:
  """'Conv 1→16 s2, Conv 16→32 s2, ConvT 32→16 s2, ConvT 16→1 s2'."""
  pairs = list(zip([channels, *features], features))
  return ", ".join([f"Conv {a}→{b} s2" for a, b in pairs] + [f"ConvT {b}→{a} s2" for a, b in reversed(pairs)])


def _dimred(cfg, m) -> str:
  dim, p = m["dimred"], m["protocol"]
  table = report.table(
      ["2-D map", "5-NN test accuracy %", "test reconstruction MSE"],
      [[f"autoencoder {_mlp_shape(p['pixel_dim'], p['mlp_hidden'], 2)}", report.pm(dim, "knn_acc_ae2d", 100),
        report.pm(dim, "recon_mse_test_ae2d")],
       ["PCA, 2 components", report.num(100 * dim["knn_acc_pca2d"]), report.num(dim["recon_mse_test_pca2d"])]])
  return f"""### 1. Dimensionality reduction (visualisation, compression)
An MLP autoencoder with a 2-D code, {cfg['dimred_steps']} steps (batch {cfg['batch_size']}, MSE), against the first
two principal components (fitted on the same {cfg['knn_ref']} training images that serve as 5-NN references; all
test images are queries).

{table}

![2-D maps](dimred_maps.png)

In the autoencoder's 2-D map, {_pct(dim['knn_acc_ae2d'])}% of test images have a majority of their 5 nearest
neighbours in their own class, against {_pct(dim['knn_acc_pca2d'])}% for the best linear 2-D projection
({'better' if dim['ae2d_separates_better'] else 'worse'} by {abs(100 * dim['knn_ae2d_minus_pca2d']):.1f} points);
its reconstruction error is {'lower' if dim['ae2d_recon_lower'] else 'higher'}
({report.num(dim['recon_mse_test_ae2d'])} vs {report.num(dim['recon_mse_test_pca2d'])})."""


def _denoise(cfg, m) -> str:
  den, p = m["denoise"], m["protocol"]
  sig = list(den["psnr_noisy"])
  table = report.table(
      ["noise sigma", "noisy input PSNR dB", "denoised PSNR dB (trained at that sigma)",
       f"denoised PSNR dB (seed recipe, trained at {den['trained_at_sigma']})"],
      [[s, f"{den['psnr_noisy'][s]:.2f}", report.pm(_at(den, "psnr_denoised", s), "psnr_denoised", digits=4),
        report.pm(_at(den, "psnr_seed_recipe", s), "psnr_seed_recipe", digits=4)] for s in sig])
  stronger = ""
  if den["matched_minus_seed_recipe_db"]:
    verdict = ("training at the noise level met in use pays" if den["matched_training_pays"] else
               "at this training budget, training at the expected noise level does not pay everywhere; the "
               "low-noise model generalises to stronger noise")
    stronger = (f" On noise stronger than the recipe's (sigma {' / '.join(sig[1:])}), the model trained at the matching "
                f"level minus the recipe is {_signed(den['matched_minus_seed_recipe_db'])} dB: {verdict}.")
  worse = den["worse_than_noisy"]
  worse_note = (f" At sigma {' / '.join(worse)} the output is *worse* than the noisy input: after {cfg['denoise_steps']} "
                f"steps (the seed trains {p['seed_recipe']['steps']}) the model cannot yet reconstruct clean images to "
                f"better than the noisy input's {den['psnr_noisy'][worse[0]]:.1f} dB." if worse else "")
  return f"""### 2. Denoising
The seed's model ({_conv_layers(p['channels'], p['conv_features'])}, sigmoid; MSE to the clean image),
{cfg['denoise_steps']} steps of batch {cfg['denoise_batch_size']}, one model per training noise level (training noise is
not clipped). Test inputs get Gaussian noise of std sigma, clipped to [0, 1]; PSNR is per image against the clean
image, averaged over the test set.

{table}

![denoising](denoising.png)

Change in PSNR from the noisy input to the output at sigma {' / '.join(sig)}: {_signed(den['gain_db'])} dB for the model
trained at that level, {_signed(den['seed_recipe_gain_db'])} dB for the seed's recipe (one model trained at sigma
{den['trained_at_sigma']}).{stronger}{worse_note}"""


def _anomaly(cfg, m) -> str:
  ano, names, pub = m["anomaly"], m["data"]["classes"], m["anomaly"]["published"]
  anchors = pub["auroc_percent"] if pub else {}
  n_cls = len(ano["auroc_per_class"])
  # one model per class by default: a std only where several seeds give one
  cell = lambda stats, key: report.pm(stats if ano["seeds"] > 1 else {key: stats[key]}, key, 100)
  rows = [[names[c], cell(_at(ano, "auroc_per_class", c), "auroc_per_class")]
          + [f"{v[c]:.1f}" for v in anchors.values()] for c in range(n_cls)]
  rows.append([f"mean of {n_cls} classes", cell(ano, "auroc_mean")]
              + [f"{pub['mean_percent'][k]:.1f}" for k in anchors])
  table = report.table(["normal class", "this run: conv AE, reconstruction error"]
                       + [f"{k} (published)" for k in anchors], rows)
  measured = _pct(ano["auroc_mean"])
  if pub:
    note = (f"The published columns are {pub['source']} (MNIST, mean over 10 seeds; they preprocess with global "
            f"contrast normalisation and min-max scaling and use their own architecture and schedule; here pixels are "
            f"in [0, 1] and each model trains {cfg['anomaly_steps']} steps). The measured mean AUROC is {measured}%, "
            f"{pub['measured_minus_dcae_points']:+.1f} points from the published DCAE ({pub['mean_percent']['DCAE']:.1f}%, "
            f"the same method: a convolutional autoencoder scored by reconstruction error) and "
            f"{pub['measured_minus_deep_svdd_points']:+.1f} from Deep SVDD ({pub['mean_percent']['Deep SVDD']:.1f}%).")
  else:
    note = (f"The published one-class table (Ruff et al. 2018) is for MNIST and does not apply to "
            f"{m['data']['name']}. The measured mean AUROC is {measured}%.")
  best, hardest = ano["best_class"], ano["hardest_class"]
  return f"""### 3. Anomaly detection
One-class protocol: for each class, a convolutional autoencoder (the seed's two stride-2 convs with a
{cfg['anomaly_latent']}-d dense bottleneck, so that it cannot copy arbitrary images) trained {cfg['anomaly_steps']} steps
(batch {m['protocol']['anomaly_batch_size']}) on that class's training images only; every test image is scored by its
reconstruction MSE and the AUROC is computed with that class normal and all other test images anomalous.
{ano['seeds']} seed(s) per class.

{table}

{note} Best normal class here: {names[best]} ({_pct(ano['auroc_per_class'][best])}%); hardest:
{names[hardest]} ({_pct(ano['auroc_per_class'][hardest])}%)."""


def _features(cfg, m) -> str:
  fea, p, latent = m["features"], m["protocol"], cfg["features_latent"]
  table = report.table(
      ["features", "dimension", "linear-probe test accuracy %"],
      [[f"autoencoder codes (trained {cfg['features_steps']} steps)", latent, report.pm(fea, "probe_acc_ae", 100)],
       ["untrained encoder of the same shape", latent, report.pm(fea, "probe_acc_random", 100)],
       ["raw pixels", fea["pixel_dim"], report.num(100 * fea["probe_acc_pixels"])]])
  ratio, vs_pixels = fea["pixels_per_code_dim"], 100 * fea["ae_minus_pixels"]
  pixels_note = (": the code is both smaller and more linearly separable than the pixels" if fea["code_beats_pixels"]
                 else f": a linear classifier on pixels is already strong on {m['data']['name']}; the code keeps all but "
                      f"{-vs_pixels:.1f} points of that accuracy in {ratio}× fewer numbers")
  return f"""### 4. Feature learning (pretraining for classification)
Linear probe (logistic regression on standardised features, {cfg['probe_steps']} Adam steps) trained on
{cfg['probe_train']} training images' features, tested on the test set. Autoencoder:
{_mlp_shape(p['pixel_dim'], p['mlp_hidden'], latent)}, {cfg['features_steps']} steps, MSE.

{table}

Training the encoder as an autoencoder, with no labels, changes the probe accuracy by
{100 * fea['ae_minus_random']:+.1f} points relative to the same encoder with random weights. Against raw pixels
({fea['pixel_dim']} dimensions, {ratio}× more) the {latent}-d code is {vs_pixels:+.1f} points{pixels_note}."""


def _generation(cfg, m) -> str:
  gen, p = m["generation"], m["protocol"]
  shape = "-".join(map(str, [p["pixel_dim"], *p["vae_hidden"], cfg["vae_latent"]]))
  return f"""### 5. Generation
A VAE with the q6 architecture ({shape} tanh, Bernoulli decoder, dynamic binarisation),
{cfg['vae_steps']} steps of batch {cfg['batch_size']}. Test ELBO {gen['test_elbo']:.2f} nats; importance-weighted
estimate of log p(x) {gen['test_log_px']:.2f} nats (k = {gen['iw_samples']}, {gen['eval_images']} binarised test
images). q6 measures likelihood properly against the IWAE table.

![VAE samples]({gen['samples_figure']})"""


def answer(metrics: dict) -> str:
  """answer.md's body, from metrics.json alone."""
  m, cfg = metrics, metrics["_meta"]["config"]
  d, dim, den, ano, fea = m["data"], m["dimred"], m["denoise"], m["anomaly"], m["features"]
  sig = " / ".join(den["psnr_noisy"])
  short = (f"**Short answer.** Dimensionality reduction, denoising, anomaly detection, feature learning (pretraining "
           f"for classification), generation and semi-supervised learning. Measured here on {d['what']} "
           f"({d['name']}): 5-NN accuracy in a 2-D autoencoder code is {_pct(dim['knn_acc_ae2d'])}% against "
           f"{_pct(dim['knn_acc_pca2d'])}% for 2-D PCA, and reconstruction error tells one class from all others with a "
           f"mean AUROC of {_pct(ano['auroc_mean'])}%.")
  setup = (f"Data: {d['name']}, {d['what']} ({d['train_images']} training images, {d['test_images']} test images).\n"
           f"Adam, lr {cfg['lr']}. Mean ± std over {cfg['seeds']} seed(s) where a row compares trained models.\n"
           f"Wall time per part (s): {', '.join(f'{k} {v}' for k, v in m['wall_s'].items())}.")
  semi = (f"### 6. Semi-supervised learning\nPretraining on all unlabeled images and then learning from a few labels "
          f"is measured in q2 (`{m['semi_supervised']['see']}`).")
  summary = f"""**Answer.** An autoencoder is trained without labels to reconstruct its input through a code, and each main use
is a way of using that code or that reconstruction. Measured here on {d['name']}:
- *dimensionality reduction*: the 2-D code gives {_pct(dim['knn_acc_ae2d'])}% 5-NN accuracy vs {_pct(dim['knn_acc_pca2d'])}%
  for PCA ({'the nonlinear map separates classes better' if dim['ae2d_separates_better'] else 'no better than PCA at this budget'});
- *denoising*: {_signed(den['gain_db'])} dB at sigma {sig} with the seed's conv model;
- *anomaly detection* by reconstruction error: mean one-class AUROC {_pct(ano['auroc_mean'])}%;
- *feature learning*: linear probe {_pct(fea['probe_acc_ae'])}% on {cfg['features_latent']}-d codes vs
  {_pct(fea['probe_acc_random'])}% untrained and {_pct(fea['probe_acc_pixels'])}% on pixels;
- *generation* with a variational autoencoder (samples above, test ELBO {m['generation']['test_elbo']:.1f} nats);
- *semi-supervised learning*: pretraining for classification from few labels (q2)."""
  return "\n\n".join([short, setup, _dimred(cfg, m), _denoise(cfg, m), _anomaly(cfg, m), _features(cfg, m),
                      _generation(cfg, m), semi, summary])
