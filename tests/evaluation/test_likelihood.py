"""Importance-weighted log-likelihood against models whose log p(x) is known exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aejax.evaluation import likelihood as lk
from aejax.models.vae import VAE


def linear_gaussian(seed=0, sigma=0.5):
  """p(z) = N(0, I2), p(x|z) = N(Wz + b, sigma^2 I3) with orthogonal columns of W, so the exact
  posterior is diagonal Gaussian and log p(x) = log N(x; b, W W^T + sigma^2 I)."""
  rng = np.random.default_rng(seed)
  q, _ = np.linalg.qr(rng.normal(size=(3, 2)))
  w = (q * np.array([2.0, 0.7])).astype(np.float32)
  b = rng.normal(size=3).astype(np.float32)
  cov = w @ w.T + sigma**2 * np.eye(3)
  x = rng.multivariate_normal(b, cov, size=37).astype(np.float32)  # 37: not a multiple of the batch
  diff = x - b
  exact = -0.5 * (np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff) + np.linalg.slogdet(cov)[1]
                  + 3 * np.log(2 * np.pi))
  post_var = 1.0 / (1.0 + (w**2).sum(0) / sigma**2)
  def exact_posterior(x):
    return (x - b) @ w * post_var / sigma**2, jnp.broadcast_to(jnp.log(post_var), (x.shape[0], 2))
  decode = lambda z: z @ w.T + b
  log_px_given_z = lambda mean, x: -0.5 * jnp.sum((x - mean)**2 / sigma**2 + np.log(2 * np.pi * sigma**2), -1)
  return x, exact, exact_posterior, decode, log_px_given_z


def test_exact_posterior_gives_exact_log_likelihood_with_one_sample():
  x, exact, posterior, decode, log_px_given_z = linear_gaussian()
  est, elbo = lk.iw_log_likelihood(posterior, decode, log_px_given_z, x, k=1, batch_size=10)
  assert est.shape == (37,)
  np.testing.assert_allclose(est, exact, atol=1e-4)  # every weight equals p(x): zero variance
  np.testing.assert_allclose(elbo, exact, atol=1e-4)


def test_prior_as_proposal_converges_to_exact_and_elbo_is_below():
  x, exact, _, decode, log_px_given_z = linear_gaussian()
  prior = lambda x: (jnp.zeros((x.shape[0], 2)), jnp.zeros((x.shape[0], 2)))
  est1, elbo1 = lk.iw_log_likelihood(prior, decode, log_px_given_z, x, k=1, seed=1)
  est_many, elbo_many = lk.iw_log_likelihood(prior, decode, log_px_given_z, x, k=4000, sample_chunk=500)
  assert np.mean(elbo_many) < np.mean(exact) - 0.3  # a poor q: the ELBO is loose
  assert np.all(elbo_many <= est_many + 1e-5)  # Jensen, for the same samples
  assert np.mean(est1) < np.mean(est_many)  # more samples, tighter bound
  assert np.mean(np.abs(est_many - exact)) < 0.05


def test_k_not_a_multiple_of_the_chunk_uses_every_sample():
  x, exact, posterior, decode, log_px_given_z = linear_gaussian()
  est, _ = lk.iw_log_likelihood(posterior, decode, log_px_given_z, x, k=7, sample_chunk=4)
  np.testing.assert_allclose(est, exact, atol=1e-4)


def test_vae_whose_posterior_is_the_prior():
  """Zero weights: q(z|x) = N(0, I) = p(z) and the decoder ignores z, so log p(x) = log p(x|z) exactly."""
  model = VAE(latent=3, image_shape=(4, 4, 1), hidden=(8,))
  params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 4, 4, 1)), jax.random.PRNGKey(1))
  params = jax.tree.map(jnp.zeros_like, params)
  bias = np.linspace(-2, 2, 16).astype(np.float32)
  params["params"]["decoder"]["Dense_1"]["bias"] = jnp.asarray(bias)
  x = lk.binarize_fixed(np.random.default_rng(0).uniform(size=(5, 4, 4, 1)), seed=0)
  p = 1 / (1 + np.exp(-bias))
  exact = (x.reshape(5, -1) * np.log(p) + (1 - x.reshape(5, -1)) * np.log(1 - p)).sum(-1)
  est, elbo = lk.vae_log_likelihood(model, params, x, k=20, batch_size=2)
  np.testing.assert_allclose(est, exact, rtol=1e-5)
  np.testing.assert_allclose(elbo, exact, rtol=1e-5)


def test_binarize_fixed_is_fixed_and_has_the_right_mean():
  x = np.full((100, 28, 28, 1), 77, np.uint8)
  a, b = lk.binarize_fixed(x, seed=3), lk.binarize_fixed(x, seed=3)
  assert np.array_equal(a, b) and set(np.unique(a)) <= {0.0, 1.0}
  assert a.mean() == pytest.approx(77 / 255, abs=0.01)
