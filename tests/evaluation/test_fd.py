"""Frechet distance and classifier score against closed-form values."""

import numpy as np
import pytest

from aejax.evaluation import fd


def test_identical_sets_have_zero_distance():
  x = np.random.default_rng(0).normal(size=(500, 16))
  assert fd.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_closed_form_for_gaussians():
  rng = np.random.default_rng(1)
  d = 8
  q, _ = np.linalg.qr(rng.normal(size=(d, d)))
  a = (q * rng.uniform(0.5, 2.0, d)) @ q.T  # non-diagonal, non-commuting covariances
  b = np.diag(rng.uniform(0.1, 3.0, d))
  mu_a, mu_b = np.zeros(d), np.full(d, 0.5)
  # shifted, equal covariances: FD = ||shift||^2
  assert fd.frechet_distance_from_stats(mu_a, a, mu_b, a) == pytest.approx(d * 0.25, rel=1e-8)
  # diagonal covariances commute: FD = ||shift||^2 + sum (sqrt(a_i) - sqrt(b_i))^2
  da, db = np.diag(rng.uniform(0.1, 3.0, d)), b
  want = d * 0.25 + np.sum((np.sqrt(np.diag(da)) - np.sqrt(np.diag(db))) ** 2)
  assert fd.frechet_distance_from_stats(mu_a, da, mu_b, db) == pytest.approx(want, rel=1e-8)
  # general case: tr sqrt(A B) equals the trace of a (non-symmetric) matrix square root by eigvals
  eig = np.linalg.eigvals(a @ b)
  assert fd.trace_sqrt_product(a, b) == pytest.approx(np.sqrt(eig.real.clip(0)).sum(), rel=1e-6)
  # a singular covariance (rank-deficient features) stays finite and non-negative
  low = np.outer(np.ones(d), np.ones(d))
  assert np.isfinite(fd.frechet_distance_from_stats(mu_a, low, mu_a, low))
  assert fd.frechet_distance_from_stats(mu_a, low, mu_a, low) == pytest.approx(0.0, abs=1e-6)


def test_samples_of_shifted_gaussians():
  rng = np.random.default_rng(2)
  x, y = rng.normal(size=(20000, 4)), rng.normal(size=(20000, 4)) + 1.0
  assert fd.frechet_distance(x, y) == pytest.approx(4.0, abs=0.1)


def test_classifier_score_bounds():
  k = 10
  confident_even = np.eye(k)[np.arange(1000) % k] * 50  # sure, and every class equally often
  assert fd.classifier_score(confident_even) == pytest.approx(k, rel=1e-3)
  collapsed = np.tile(np.eye(k)[0] * 50, (1000, 1))  # one class only
  assert fd.classifier_score(collapsed) == pytest.approx(1.0, rel=1e-3)
  unsure = np.zeros((1000, k))
  assert fd.classifier_score(unsure) == pytest.approx(1.0)
  assert fd.classifier_score(confident_even, splits=5) == pytest.approx(k, rel=1e-3)
