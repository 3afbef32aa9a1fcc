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
  model = mlp_autoencoder(2)
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
                       f"PCA, 2 components (5-NN acc {100 * knn(pca_ref, pca_test):.1f}%)": pca_test[shown]},
                      test_y[shown], out / "dimred_maps.png", title=f"{cfg['dataset']} test images in 2-D")
  pca_recon = np.asarray(pca_test @ np.asarray(pca["components"]).T + np.asarray(pca["mean"]))
  return {**mean_std(rows), "knn_acc_pca2d": knn(pca_ref, pca_test),
          "recon_mse_test_pca2d": float(np.mean((pca_recon - probes.flatten(test_x)) ** 2))}


def denoising(cfg, train_x, test_x, out):
  """The seed's conv model trained at each noise level; PSNR keyed by sigma, plus the seed recipe
  (the sigma=0.1 model) applied to every noise level."""
  model = conv_autoencoder(None, impl=cfg["conv_impl"])  # the seed's model
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
  return {"psnr_noisy": psnr_noisy,
          "psnr_denoised": {s: v["psnr_denoised"] for s, v in per_sigma.items()},
          "psnr_denoised_std": {s: v["psnr_denoised_std"] for s, v in per_sigma.items()},
          "psnr_seed_recipe": {str(s): recipe[str(s)] for s in sigmas},
          "psnr_seed_recipe_std": {str(s): recipe[str(s) + "_std"] for s in sigmas},
          "trained_at_sigma": sigmas[0]}


def anomaly_detection(cfg, train_x, train_y, test_x, test_y):
  """One-class protocol: per class, an autoencoder trained on that class; AUROC of reconstruction
  error with the class normal and every other test image an anomaly (the first `anomaly_classes`
  classes: all 10 except in the smoke profile)."""
  model = conv_autoencoder(cfg["anomaly_latent"], impl=cfg["conv_impl"])
  per_seed = []
  for seed in range(cfg["anomaly_seeds"]):
    aurocs = []
    for c in range(cfg["anomaly_classes"]):
      params, _ = train_autoencoder(model, train_x[train_y == c], steps=cfg["anomaly_steps"], batch_size=64,
                                    lr=cfg["lr"], seed=seed, desc=f"q1 anomaly class {c} s{seed}")
      scores = image_metrics.reconstruction_mse(model.apply, params, test_x)
      aurocs.append(image_metrics.auroc(scores, test_y != c))
    per_seed.append(aurocs)
  per_seed = np.asarray(per_seed)
  return {"auroc_per_class": per_seed.mean(0).tolist(), "auroc_per_class_std": per_seed.std(0).tolist(),
          "auroc_mean": float(per_seed.mean()), "auroc_mean_std": float(per_seed.mean(1).std()),
          "seeds": cfg["anomaly_seeds"]}


def feature_learning(cfg, train_x, train_y, test_x, test_y):
  """Linear-probe test accuracy on trained codes, raw pixels, and codes of the untrained encoder."""
  tr_x, tr_y = train_x[:cfg["probe_train"]], train_y[:cfg["probe_train"]]
  probe = lambda tr, te, seed: probes.linear_probe_accuracy(tr, tr_y, te, test_y, steps=cfg["probe_steps"], seed=seed)
  model = mlp_autoencoder(cfg["features_latent"])
  encode = functools.partial(model.apply, method="encode")
  codes = lambda p: (probes.encode(encode, p, tr_x), probes.encode(encode, p, test_x))
  rows = []
  for seed in range(cfg["seeds"]):
    random_params = init(model, seed, jnp.zeros((1, *train_x.shape[1:])))
    params, _ = train_autoencoder(model, train_x, steps=cfg["features_steps"], batch_size=cfg["batch_size"],
                                  lr=cfg["lr"], seed=seed, desc=f"q1 features s{seed}")
    rows.append({"probe_acc_ae": probe(*codes(params), seed), "probe_acc_random": probe(*codes(random_params), seed)})
  return {**mean_std(rows), "probe_acc_pixels": probe(tr_x, test_x, 0), "pixel_dim": int(np.prod(train_x.shape[1:]))}


def generation(cfg, train_x, test_x, out):
  """The q6 MLP VAE, trained by q6's recipe: 64 samples from the prior, and its test ELBO / log-likelihood."""
  model = VAE(latent=cfg["vae_latent"], hidden=(200, 200))
  params, _, _ = q6_vae.train_vae(model, train_x, cfg["vae_steps"],
                                  {"seed": 0, "batch_size": cfg["batch_size"], "lr": cfg["lr"]}, "q1 vae")
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

  metrics, wall_s, cpu_s = {}, {}, {}
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
  write_answer(cfg, metrics, out)
  return metrics


def write_answer(cfg, m, out):
  pm = lambda d, k, scale=100.0, digits=1: f"{scale * d[k]:.{digits}f} ± {scale * d[k + '_std']:.{digits}f}"
  than = lambda a, b, more="higher", less="lower": more if a > b else less
  dim, den, ano, fea, gen = m["dimred"], m["denoise"], m["anomaly"], m["features"], m["generation"]
  sig = [str(s) for s in cfg["sigmas"]]
  mnist = cfg["dataset"] == "mnist"

  dimred_table = report.table(
      ["2-D map", "5-NN test accuracy %", "test reconstruction MSE"],
      [["autoencoder 784-512-256-2-256-512-784", pm(dim, "knn_acc_ae2d"), pm(dim, "recon_mse_test_ae2d", 1, 4)],
       ["PCA, 2 components", f"{100 * dim['knn_acc_pca2d']:.1f}", f"{dim['recon_mse_test_pca2d']:.4f}"]])
  ae_wins_2d = dim["knn_acc_ae2d"] > dim["knn_acc_pca2d"]

  denoise_table = report.table(
      ["noise sigma", "noisy input PSNR dB", "denoised PSNR dB (trained at that sigma)",
       f"denoised PSNR dB (seed recipe, trained at {den['trained_at_sigma']})"],
      [[s, f"{den['psnr_noisy'][s]:.2f}", f"{den['psnr_denoised'][s]:.2f} ± {den['psnr_denoised_std'][s]:.2f}",
        f"{den['psnr_seed_recipe'][s]:.2f} ± {den['psnr_seed_recipe_std'][s]:.2f}"] for s in sig])
  gain = {s: den["psnr_denoised"][s] - den["psnr_noisy"][s] for s in sig}
  recipe_gain = {s: den["psnr_seed_recipe"][s] - den["psnr_noisy"][s] for s in sig}
  recipe_loss = {s: den["psnr_denoised"][s] - den["psnr_seed_recipe"][s] for s in sig[1:]}
  fmt = lambda d: " / ".join(f"{d[s]:+.2f}" for s in d)
  matched_note = ("training at the noise level met in use pays" if all(v > 0 for v in recipe_loss.values()) else
                  "at this training budget, training at the expected noise level does not pay everywhere; the "
                  "low-noise model generalises to stronger noise")
  seed_epochs_steps = 10 * 60000 // 64  # the seed trains 10 epochs of batch 64
  worse = [s for s in sig if gain[s] < 0]
  worse_note = (f" At sigma {' / '.join(worse)} the output is *worse* than the noisy input: after {cfg['denoise_steps']} "
                f"steps (the seed trains {seed_epochs_steps}) the model cannot yet reconstruct clean digits to "
                f"better than the noisy input's {den['psnr_noisy'][worse[0]]:.1f} dB." if worse else "")

  anchors = DEEP_SVDD_TABLE if mnist else {}
  n_cls = len(ano["auroc_per_class"])
  cell = lambda c: f"{100 * ano['auroc_per_class'][c]:.1f}" + (
      f" ± {100 * ano['auroc_per_class_std'][c]:.1f}" if ano["seeds"] > 1 else "")
  rows = [[c, cell(c)] + [f"{v[c]:.1f}" for v in anchors.values()] for c in range(n_cls)]
  rows.append([f"mean of {n_cls} classes", f"{100 * ano['auroc_mean']:.1f}"
               + (f" ± {100 * ano['auroc_mean_std']:.1f}" if ano["seeds"] > 1 else "")]
              + [f"{np.mean(v[:n_cls]):.1f}" for v in anchors.values()])
  anomaly_table = report.table(["normal class", "this run: conv AE, reconstruction error"]
                               + [f"{k} (published)" for k in anchors], rows)
  weakest, strongest = int(np.argmin(ano["auroc_per_class"])), int(np.argmax(ano["auroc_per_class"]))
  if mnist:
    dcae, svdd = np.mean(DEEP_SVDD_TABLE["DCAE"][:n_cls]), np.mean(DEEP_SVDD_TABLE["Deep SVDD"][:n_cls])
    anomaly_note = (
        f"The published columns are Ruff et al. (2018), Table 1 (MNIST, mean over 10 seeds; they preprocess with "
        f"global contrast normalisation and min-max scaling and use their own architecture and schedule; here pixels are "
        f"in [0, 1] and each model trains {cfg['anomaly_steps']} steps). The measured mean AUROC is {100 * ano['auroc_mean']:.1f}%, "
        f"{100 * ano['auroc_mean'] - dcae:+.1f} points from the published DCAE ({dcae:.1f}%, the same method: a "
        f"convolutional autoencoder scored by reconstruction error) and {100 * ano['auroc_mean'] - svdd:+.1f} from "
        f"Deep SVDD ({svdd:.1f}%).")
  else:
    anomaly_note = (f"ANCHORS.md has no one-class table for {cfg['dataset']}; the MNIST anchors do not apply. "
                    f"The measured mean AUROC is {100 * ano['auroc_mean']:.1f}%.")

  features_table = report.table(
      ["features", "dimension", "linear-probe test accuracy %"],
      [[f"autoencoder codes (trained {cfg['features_steps']} steps)", cfg["features_latent"], pm(fea, "probe_acc_ae")],
       ["untrained encoder of the same shape", cfg["features_latent"], pm(fea, "probe_acc_random")],
       ["raw pixels", fea["pixel_dim"], f"{100 * fea['probe_acc_pixels']:.1f}"]])
  lift = 100 * (fea["probe_acc_ae"] - fea["probe_acc_random"])
  vs_pixels = 100 * (fea["probe_acc_ae"] - fea["probe_acc_pixels"])
  pixels_note = (f": a linear classifier on pixels is already strong on {cfg['dataset']}; the code keeps all but "
                 f"{-vs_pixels:.1f} points of that accuracy in {fea['pixel_dim'] // cfg['features_latent']}× fewer numbers"
                 if vs_pixels < 0 else ": the code is both smaller and more linearly separable than the pixels")

  body = f"""
Data: {cfg['dataset']} ({cfg['train_subset'] or 'all'} training images, {cfg['test_subset'] or 'all'} test images).
Adam, lr {cfg['lr']}. Mean ± std over {cfg['seeds']} seed(s) where a row compares trained models.
Wall time per part (s): {', '.join(f"{k} {v}" for k, v in m['wall_s'].items())}.

### 1. Dimensionality reduction (visualisation, compression)
An MLP autoencoder with a 2-D code, {cfg['dimred_steps']} steps (batch {cfg['batch_size']}, MSE), against the first
two principal components (fitted on the same {cfg['knn_ref']} training images that serve as 5-NN references; all
test images are queries).

{dimred_table}

![2-D maps](dimred_maps.png)

In the autoencoder's 2-D map, {100 * dim['knn_acc_ae2d']:.1f}% of test images have a majority of their 5 nearest
neighbours in their own class, against {100 * dim['knn_acc_pca2d']:.1f}% for the best linear 2-D projection
({than(dim['knn_acc_ae2d'], dim['knn_acc_pca2d'], 'better', 'worse')} by {100 * abs(dim['knn_acc_ae2d'] - dim['knn_acc_pca2d']):.1f} points);
its reconstruction error is {than(dim['recon_mse_test_ae2d'], dim['recon_mse_test_pca2d'])}
({dim['recon_mse_test_ae2d']:.4f} vs {dim['recon_mse_test_pca2d']:.4f}).

### 2. Denoising
The seed's model (Conv 1→16 s2, Conv 16→32 s2, ConvT 32→16 s2, ConvT 16→1 s2, sigmoid; MSE to the clean image),
{cfg['denoise_steps']} steps of batch {cfg['denoise_batch_size']}, one model per training noise level (training noise is
not clipped). Test inputs get Gaussian noise of std sigma, clipped to [0, 1]; PSNR is per image against the clean
image, averaged over the test set.

{denoise_table}

![denoising](denoising.png)

Change in PSNR from the noisy input to the output at sigma {' / '.join(sig)}: {fmt(gain)} dB for the model trained at
that level, {fmt(recipe_gain)} dB for the seed's recipe (one model trained at sigma {den['trained_at_sigma']}). On noise
stronger than the recipe's (sigma {' / '.join(sig[1:])}), the model trained at the matching level minus the recipe is
{fmt(recipe_loss)} dB: {matched_note}.{worse_note}

### 3. Anomaly detection
One-class protocol: for each class, a convolutional autoencoder (the seed's two stride-2 convs with a
{cfg['anomaly_latent']}-d dense bottleneck, so that it cannot copy arbitrary images) trained {cfg['anomaly_steps']} steps
(batch 64) on that class's training images only; every test image is scored by its reconstruction MSE and the AUROC
is computed with that class normal and all other test images anomalous. {ano['seeds']} seed(s) per class.

{anomaly_table}

{anomaly_note} Best normal class here: {strongest} ({100 * ano['auroc_per_class'][strongest]:.1f}%); hardest:
{weakest} ({100 * ano['auroc_per_class'][weakest]:.1f}%).

### 4. Feature learning (pretraining for classification)
Linear probe (logistic regression on standardised features, {cfg['probe_steps']} Adam steps) trained on
{cfg['probe_train']} training images' features, tested on the test set. Autoencoder:
784-512-256-{cfg['features_latent']}-256-512-784, {cfg['features_steps']} steps, MSE.

{features_table}

Training the encoder as an autoencoder, with no labels, changes the probe accuracy by {lift:+.1f} points relative to the
same encoder with random weights. Against raw pixels ({fea['pixel_dim']} dimensions, {fea['pixel_dim'] // cfg['features_latent']}×
more) the {cfg['features_latent']}-d code is {vs_pixels:+.1f} points{pixels_note}.

### 5. Generation
A VAE with the q6 architecture (784-200-200-{cfg['vae_latent']} tanh, Bernoulli decoder, dynamic binarisation),
{cfg['vae_steps']} steps of batch {cfg['batch_size']}. Test ELBO {gen['test_elbo']:.2f} nats; importance-weighted estimate
of log p(x) {gen['test_log_px']:.2f} nats (k = {gen['iw_samples']}, {gen['eval_images']} binarised test images). q6 measures
likelihood properly against the IWAE table.

![VAE samples](vae_samples.png)

### 6. Semi-supervised learning
Pretraining on all unlabeled images and then learning from a few labels is measured in q2 (`q2_few_labels`).

**Answer.** An autoencoder is trained without labels to reconstruct its input through a code, and each main use
is a way of using that code or that reconstruction. Measured here on {cfg['dataset']}:
- *dimensionality reduction*: the 2-D code gives {100 * dim['knn_acc_ae2d']:.1f}% 5-NN accuracy vs {100 * dim['knn_acc_pca2d']:.1f}%
  for PCA ({'the nonlinear map separates classes better' if ae_wins_2d else 'no better than PCA at this budget'});
- *denoising*: {fmt(gain)} dB at sigma {' / '.join(sig)} with the seed's conv model;
- *anomaly detection* by reconstruction error: mean one-class AUROC {100 * ano['auroc_mean']:.1f}%;
- *feature learning*: linear probe {100 * fea['probe_acc_ae']:.1f}% on {cfg['features_latent']}-d codes vs
  {100 * fea['probe_acc_random']:.1f}% untrained and {100 * fea['probe_acc_pixels']:.1f}% on pixels;
- *generation* with a variational autoencoder (samples above, test ELBO {gen['test_elbo']:.1f} nats);
- *semi-supervised learning*: pretraining for classification from few labels (q2).
"""
  report.write_answer(out, QUESTION, body)
