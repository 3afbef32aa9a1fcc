"""Evaluation helpers compile once per model and batch shape: params are traced, not baked in.

Each helper runs three times with different params (and a freshly built, equal model or partial);
only the first call may compile, and every result equals the model applied directly (up to float32
round-off: eager op-by-op vs one fused program on batches of 4; stale params would be off by ~0.1).
Shapes here are used by no other test, so the first call must compile.
"""

import functools

import jax
import numpy as np
import pytest

from aejax.evaluation import classifier, image_metrics, likelihood, probes
from aejax.losses import log_likelihood
from aejax.models.autoencoder import mlp_autoencoder
from aejax.models.classifier import CNN
from aejax.models.vae import VAE

N, SHAPE = 10, (6, 6, 1)  # 10 images in batches of 4: the padded last batch must not compile again
X = np.random.default_rng(0).integers(0, 256, (N, *SHAPE)).astype(np.uint8)
XF = X.astype(np.float32) / 255.0
LABELS = np.arange(N) % 3


def check_compiles_once(count, run, direct, params):
  for i, p in enumerate(params):
    out, compiles = count(lambda: run(p))
    assert compiles > 0 if i == 0 else compiles == 0, (i, compiles)
    np.testing.assert_allclose(out, direct(p), rtol=1e-6, atol=1e-6)


def init_params(model, *args):
  return [model.init(jax.random.PRNGKey(s), np.zeros((1, *SHAPE), np.float32), *args) for s in range(3)]


ae = lambda: mlp_autoencoder(3, image_shape=SHAPE, hidden=(12,))  # a fresh but equal model each call
cnn = lambda: CNN(num_classes=3)


def test_reconstruct_and_mse(count_compiles):
  direct = lambda p: np.asarray(jax.nn.sigmoid(ae().apply(p, XF)[0]))
  params = init_params(ae())
  check_compiles_once(count_compiles, lambda p: image_metrics.reconstruct(ae().apply, p, X, 4), direct, params)
  mse = lambda p: ((direct(p) - XF) ** 2).reshape((N, -1)).mean(-1)
  for p in params:  # the same jitted function: nothing new to compile
    out, compiles = count_compiles(lambda: image_metrics.reconstruction_mse(ae().apply, p, X, 4))
    assert compiles == 0
    np.testing.assert_allclose(out, mse(p), rtol=1e-6, atol=1e-6)


def test_encode_with_a_partial_and_with_a_lambda(count_compiles):
  direct = lambda p: np.asarray(ae().apply(p, XF, method="encode"))
  params = init_params(ae())
  run = lambda p: probes.encode(functools.partial(ae().apply, method="encode"), p, X, 4)
  check_compiles_once(count_compiles, run, direct, params)
  model = ae()  # a fresh lambda still works; it compiles for itself
  np.testing.assert_allclose(probes.encode(lambda q, x: model.apply(q, x, method=model.encode), params[1], X, 4),
                             direct(params[1]), rtol=1e-6, atol=1e-6)


def test_classifier_accuracy(count_compiles):
  direct = lambda p: float(np.mean(np.argmax(cnn().apply(p, XF), -1) == LABELS))
  check_compiles_once(count_compiles, lambda p: probes.classifier_accuracy(cnn().apply, p, X, LABELS, 4),
                      direct, init_params(cnn()))


@pytest.mark.parametrize("method", ["logits", "features"])
def test_classifier_logits_and_features(count_compiles, method):
  fn = None if method == "logits" else CNN.features
  direct = lambda p: np.asarray(cnn().apply(p, XF, method=fn))
  run = lambda p: getattr(classifier.Classifier(cnn(), p, 0.0, "test"), method)(X, batch_size=4)
  check_compiles_once(count_compiles, run, direct, init_params(cnn()))


def test_vae_log_likelihood(count_compiles):
  vae = lambda: VAE(latent=2, image_shape=SHAPE, hidden=(8,))
  x = (XF > 0.5).astype(np.float32)
  params = init_params(vae(), jax.random.PRNGKey(9))
  run = lambda p: np.stack(likelihood.vae_log_likelihood(vae(), p, x, k=6, batch_size=4, sample_chunk=3))

  def closed_over(p):  # the same estimate with params as constants (compiles per call)
    model = vae()
    return np.stack(likelihood.iw_log_likelihood(
        lambda v: model.apply(p, v, method=model.encode), lambda z: model.apply(p, z, method=model.decode),
        lambda out, v: log_likelihood(out, v, "bernoulli"),
        x, k=6, batch_size=4, sample_chunk=3))
  for i, p in enumerate(params):
    out, compiles = count_compiles(lambda: run(p))
    assert compiles > 0 if i == 0 else compiles == 0, (i, compiles)
    np.testing.assert_allclose(out, closed_over(p), rtol=1e-5)
