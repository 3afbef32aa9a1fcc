"""Evaluation: probes, image metrics, likelihoods, Frechet distance, mode counting."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from aejax.static import static_fn  # noqa: F401  (re-exported for the evaluation helpers)


def batched_apply(fn, x, batch_size: int = 1000):
  """Apply a jitted `fn` to `x` in chunks along axis 0 and concatenate (numpy out).

  The last chunk is padded so that `fn` compiles for one shape only.
  """
  n = len(x)
  outs = []
  for i in range(0, n, batch_size):
    chunk = np.asarray(x[i:i + batch_size])
    pad = batch_size - len(chunk) if n > batch_size else 0
    if pad:
      chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, axis=0)])
    out = jax.device_get(fn(jnp.asarray(chunk)))
    outs.append(jax.tree.map(lambda o: o[:len(o) - pad], out))
  return jax.tree.map(lambda *o: np.concatenate(o), *outs)


def mean_std(rows: list[dict]) -> dict:
  """Per-key mean and std over seeds: {k: mean, k + "_std": std} for the numeric keys of `rows`, and
  "_n": how many rows (aejax.report.pm shows no spread for one)."""
  out = {}
  for k in rows[0]:
    if any(r[k] is None for r in rows):  # not measured on some seed: no mean
      out[k] = None
      continue
    vals = np.asarray([r[k] for r in rows], np.float64)
    out[k], out[k + "_std"] = float(vals.mean()), float(vals.std())
  out["_n"] = len(rows)
  return out


def measure_autoencoder(model, params, train_images, train_labels, test_images, test_labels, *,
                        probe_train: int = 10000, probe_steps: int = 500, knn_ref: int = 5000,
                        knn_query: int = 2000, sigma: float = 0.3, seed: int = 0,
                        num_classes: int = 10) -> dict:
  """The standard evaluation of an autoencoder's codes and outputs (used by q3 and q4).

  recon_mse_train / recon_mse_test: per-pixel MSE on (up to probe_train) train images / the test set;
  probe_acc: linear probe trained on `probe_train` train codes, tested on all test codes;
  knn_acc: 5-NN with `knn_ref` train codes as references, `knn_query` test codes as queries;
  denoise_psnr: PSNR (dB) of the output for test images with Gaussian noise `sigma` (clipped).
  """
  from aejax.evaluation import image_metrics, probes
  tr_x, tr_y = train_images[:probe_train], train_labels[:probe_train]
  encode = functools.partial(model.apply, method="encode")  # equal on every call: one compile
  tr_codes = probes.encode(encode, params, tr_x)
  te_codes = probes.encode(encode, params, test_images)
  noisy = image_metrics.add_noise(test_images, sigma, seed=seed + 1000)
  return {
      "recon_mse_train": float(image_metrics.reconstruction_mse(model.apply, params, tr_x).mean()),
      "recon_mse_test": float(image_metrics.reconstruction_mse(model.apply, params, test_images).mean()),
      "probe_acc": probes.linear_probe_accuracy(tr_codes, tr_y, te_codes, test_labels, num_classes,
                                                steps=probe_steps, seed=seed),
      "knn_acc": probes.knn_accuracy(tr_codes[:knn_ref], tr_y[:knn_ref], te_codes[:knn_query],
                                     test_labels[:knn_query], 5, num_classes),
      "denoise_psnr": image_metrics.psnr(test_images, image_metrics.reconstruct(model.apply, params, noisy)),
  }
