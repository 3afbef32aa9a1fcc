"""q3: Is perfect reconstruction a good thing? How should an autoencoder be evaluated?

We train an overcomplete autoencoder (784 -> 1568 ReLU codes -> 784, exactly enough units to
copy every pixel as relu(x) - relu(-x)) with no regulariser until it reconstructs test images
almost perfectly, and then measure what it learned with every evaluation we use elsewhere:
reconstruction error, a linear probe and 5-NN on its codes (against the same on raw pixels),
denoising, and two tests of whether its code space knows anything about the data (reconstructing
test images whose pixels were shuffled, and decoding the midpoint of two codes). The same measurements are
made for an undercomplete, a denoising and a sparse autoencoder.
"""

import functools
import math

import numpy as np

from aejax import config as C
from aejax import data, plots
from aejax.evaluation import image_metrics, mean_std, measure_autoencoder, probes
from aejax.models.autoencoder import mlp_autoencoder
from aejax.recipes import train_autoencoder
from aejax.trainer import take_trial

NAME = "q3_evaluation"
QUESTION = "Is perfect reconstruction a good thing? How should an autoencoder be evaluated?"
SUPPORT_MIN_FRACTION = 0.01  # a position is in the ink support when this fraction of training images light it
NEAR_BINARY_MARGIN = 0.1  # a pixel within this of 0 or 1 counts as near-binary (where a sigmoid output clips noise)


SCHEMA = C.schema(
    dataset=C.choice("mnist", data.KNOWN), seeds=C.integer(3, min=1),
    train_subset=C.integer(0, min=0), test_subset=C.integer(0, min=0),  # 0: the whole split
    steps=C.integer(1000, min=1), batch_size=C.batch(128), lr=C.real(1e-3, above=0),
    plain=dict(steps=C.integer(2500, min=1)),  # longer, to push the unregularised model towards copying
    over=dict(latent=C.integer(1568, min=1)), under=dict(latent=C.integer(32, min=1)),
    denoising=dict(noise=C.real(0.3, min=0)), sparse=dict(l1_weight=C.real(3e-4, min=0)),
    eval=dict(sigma=C.real(0.3, min=0)),  # the noise of the denoising test
    probe=dict(train=C.integer(10000, min=1), steps=C.integer(500, min=1)),
    knn=dict(ref=C.integer(5000, min=5), query=C.integer(2000, min=1)),  # 5-NN: at least 5 references
)
PROFILES = {
    "smoke": {"seeds": 1, "steps": 30, "plain.steps": 40, "train_subset": 2000, "test_subset": 500,
              "probe.train": 1000, "probe.steps": 50, "knn.ref": 500, "knn.query": 200, "over.latent": 128},
    "paper": {"seeds": 5, "steps": 20000, "plain.steps": 50000},
}


def check(cfg) -> None:
  # the k-NN references are the first knn.ref of the probe's training codes
  if cfg.knn.ref > cfg.probe.train:
    raise C.ConfigError(f"config key 'knn.ref' = {cfg.knn.ref} exceeds probe.train = {cfg.probe.train}; "
                        f"set knn.ref <= probe.train")


def _decode(model, p, z):
  """(decoder logits, None) for flat codes z: the apply_fn shape image_metrics.reconstruct takes."""
  return model.apply(p, z.reshape(z.shape[0], -1), method=model.decode), None


def autoencoders(cfg):
  """name -> (model, training-loss settings); the three overcomplete ones share one architecture."""
  over = lambda: mlp_autoencoder(cfg.over.latent, hidden=(), code_activation="relu")
  return {
      "overcomplete_plain": (over(), {"steps": cfg.plain.steps}),
      "undercomplete": (mlp_autoencoder(cfg.under.latent), {}),
      "overcomplete_denoising": (over(), {"noise_std": cfg.denoising.noise}),
      "overcomplete_sparse": (over(), {"l1_codes": cfg.sparse.l1_weight}),
  }


def layer_sizes(model, input_dim: int) -> list[int]:
  """[input, hidden..., latent, hidden..., input] of an mlp_autoencoder."""
  enc, dec = model.encoder, model.decoder
  return [input_dim, *enc.hidden, enc.latent, *dec.hidden, input_dim]


def code_space_tests(model, params, test_images, support, seed):
  """Does the code space know the data? Two numbers that are ~0 for an identity map.

  recon_mse_shuffled: reconstruction error of test images with their pixels shuffled within the
  training images' ink support (an identity copies them);
  midpoint_vs_crossfade_mse: decoding the mean of two images' codes vs the pixel average of the
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
  """eval_fn for the trainer: test MSE and denoising PSNR of trial 0's current params (seed 0; 1000 test images)."""
  x = test_images[:1000]
  noisy = image_metrics.add_noise(x, sigma, seed=1000)

  def eval_fn(state):
    params = take_trial(state.params, 0)
    return {"recon_mse_test": float(image_metrics.reconstruction_mse(model.apply, params, x).mean()),
            "denoise_psnr": image_metrics.psnr(x, image_metrics.reconstruct(model.apply, params, noisy))}

  return eval_fn


def run(cfg, out) -> dict:
  ds = data.load(cfg.dataset, download=True).head(cfg.train_subset, cfg.test_subset)
  train_x, train_y, test_x, test_y = ds.train_images, ds.train_labels, ds.test_images, ds.test_labels
  sigma = cfg.eval.sigma
  eval_kw = dict(probe_train=cfg.probe.train, probe_steps=cfg.probe.steps, knn_ref=cfg.knn.ref,
                 knn_query=cfg.knn.query, sigma=sigma, num_classes=ds.num_classes)

  support = image_metrics.ink_support(train_x, SUPPORT_MIN_FRACTION)  # where the images ever have ink
  per_seed, examples = {}, {}
  noisy_examples = image_metrics.add_noise(test_x[:8], sigma, seed=7)
  ae = autoencoders(cfg)
  seeds = tuple(range(cfg.seeds))
  for name, (model, loss_kw) in ae.items():
    rows = []
    # the seeds as trials of one program; seed 0 of the plain model is watched while it trains: does denoising
    # get worse as copying improves?
    watch = name == "overcomplete_plain"
    state, history = train_autoencoder(
        model, train_x, **{"steps": cfg.steps, **loss_kw}, batch_size=cfg.batch_size, lr=cfg.lr,
        seed=seeds, name=name, log_every=max(1, cfg.plain.steps // 5),
        eval_fn=trajectory_probe(model, test_x, sigma) if watch else None)
    if watch:
      trajectory = {k: [h[k] for h in history] for k in ("step", "recon_mse_test", "denoise_psnr")}
    for seed in seeds:
      params = take_trial(state.params, seed)
      row = measure_autoencoder(model, params, train_x, train_y, test_x, test_y, seed=seed, **eval_kw)
      row.update(code_space_tests(model, params, test_x, support, seed))
      rows.append(row)
      if seed == 0:
        examples[name] = image_metrics.reconstruct(model.apply, params, noisy_examples)
    per_seed[name] = rows
  models = {name: mean_std(rows) for name, rows in per_seed.items()}

  # the same measurements on raw pixels: the baseline a useful code must beat
  tr, ref, query = train_x[:cfg.probe.train], cfg.knn.ref, cfg.knn.query
  pixels = {
      "probe_acc": probes.linear_probe_accuracy(tr, train_y[:len(tr)], test_x, test_y, ds.num_classes,
                                                steps=cfg.probe.steps),
      "knn_acc": probes.knn_accuracy(tr[:ref], train_y[:ref], test_x[:query], test_y[:query], 5, ds.num_classes),
      "noisy_psnr": image_metrics.psnr(test_x, image_metrics.add_noise(test_x, sigma, seed=1000)),
  }

  rows = [[f"clean ({cfg.dataset} test)"] + list(test_x[:8]), ["noisy input"] + list(noisy_examples)]
  rows += [[name] + list(examples[name]) for name in examples]
  plots.image_grid([r[1:] for r in rows], out / "denoising.png", row_titles=[r[0] for r in rows],
                   title=f"outputs for noisy inputs (sigma {sigma})")
  steps = trajectory["step"]
  plots.lines({"test reconstruction PSNR (dB)": (steps, [10 * np.log10(1 / m) for m in trajectory["recon_mse_test"]]),
               f"denoising PSNR (dB), sigma {sigma}": (steps, trajectory["denoise_psnr"]),
               "noisy input PSNR (dB)": (steps, [pixels["noisy_psnr"]] * len(steps))},
              out / "plain_training.png", xlabel="training step", ylabel="PSNR (dB)",
              title="overcomplete_plain while it trains (seed 0)")
  x, input_dim = test_x.astype(np.float32) / 255.0, int(np.prod(train_x.shape[1:]))
  near_binary = float(np.mean((x <= NEAR_BINARY_MARGIN) | (x >= 1 - NEAR_BINARY_MARGIN)))
  metrics = {"models": models, "pixels": pixels, "plain_trajectory": trajectory, "per_seed": per_seed}
  # stored with the measurements too, so that runs can be compared by what they found
  metrics["findings"] = findings(metrics, {}, None)
  return {**metrics, "data": {**data.describe(cfg.dataset), "near_binary_fraction": near_binary},
          "protocol": {"input_dim": input_dim, "layers": {n: layer_sizes(m, input_dim) for n, (m, _) in ae.items()},
                       "support_min_fraction": SUPPORT_MIN_FRACTION, "near_binary_margin": NEAR_BINARY_MARGIN}}


def findings(metrics: dict, published: dict, results) -> dict:
  """What the answer states, computed from the measurements: the best model by each measure, the plain
  model against raw pixels, error ratios, and where denoising peaked while the plain model trained."""
  models, pixels, trajectory = metrics["models"], metrics["pixels"], metrics["plain_trajectory"]
  names = list(models)
  plain = models["overcomplete_plain"]
  dn = trajectory["denoise_psnr"]
  peak = dn.index(max(dn))  # the first maximum, as np.argmax
  probe_gain = plain["probe_acc"] - pixels["probe_acc"]
  knn_gain = plain["knn_acc"] - pixels["knn_acc"]
  return {
      "lowest_test": min(names, key=lambda n: models[n]["recon_mse_test"]),
      "best_probe": max(names, key=lambda n: models[n]["probe_acc"]),
      "best_knn": max(names, key=lambda n: models[n]["knn_acc"]),
      "best_denoise": max(names, key=lambda n: models[n]["denoise_psnr"]),
      "plain_recon_psnr_test": 10 * math.log10(1 / plain["recon_mse_test"]),
      "plain_probe_minus_pixels": probe_gain, "plain_knn_minus_pixels": knn_gain,
      "plain_label_gain": max(probe_gain, knn_gain),
      "shuffled_over_test": {n: m["recon_mse_shuffled"] / m["recon_mse_test"] for n, m in models.items()},
      "plain_beats_noisy_input": plain["denoise_psnr"] > pixels["noisy_psnr"],
      "denoise_peak_step": trajectory["step"][peak], "denoise_peak_psnr": dn[peak],
      "denoise_final_psnr": dn[-1], "denoise_change_after_peak": dn[-1] - dn[peak],
      "denoise_falls_after_peak": dn[-1] < dn[peak],
  }
