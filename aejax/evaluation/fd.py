"""Sample quality in a classifier's feature space: Frechet distance and the classifier score.

Both use aejax.evaluation.classifier: `fd` on its penultimate features (FID with a small
data-set-specific CNN instead of Inception), `classifier_score` on its softmax (the Inception
Score analogue). Computed in float64 numpy.
"""

import numpy as np
from scipy.special import log_softmax


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
  """Mean [D] and covariance [D, D] (unbiased) of features [N, D]."""
  f = np.asarray(features, np.float64).reshape((len(features), -1))
  return f.mean(0), np.cov(f, rowvar=False)


def trace_sqrt_product(cov_a, cov_b) -> float:
  """tr((A B)^{1/2}) for symmetric PSD A, B.

  (A B)^{1/2} is similar to (A^{1/2} B A^{1/2})^{1/2}, which is symmetric PSD, so its trace is the
  sum of square roots of the eigenvalues of a symmetric matrix: eigh, no complex sqrtm, and tiny
  negative eigenvalues from round-off are clipped to zero.
  """
  w, v = np.linalg.eigh(cov_a)
  sqrt_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
  m = sqrt_a @ cov_b @ sqrt_a
  eig = np.linalg.eigvalsh((m + m.T) / 2)
  return float(np.sqrt(np.clip(eig, 0, None)).sum())


def frechet_distance_from_stats(mu_a, cov_a, mu_b, cov_b) -> float:
  """||mu_a - mu_b||^2 + tr(A + B - 2 (A B)^{1/2}): the 2-Wasserstein distance^2 of two Gaussians."""
  diff = np.asarray(mu_a, np.float64) - np.asarray(mu_b, np.float64)
  value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt_product(cov_a, cov_b)
  return float(max(value, 0.0))


def frechet_distance(features_a, features_b) -> float:
  """FD between the Gaussians fitted to two feature sets [N, D], [M, D]."""
  return frechet_distance_from_stats(*gaussian_stats(features_a), *gaussian_stats(features_b))


def fd(clf, images_a, images_b) -> float:
  """Frechet distance between two image sets in `clf`'s feature space (an evaluation.classifier.Classifier)."""
  return frechet_distance(clf.features(images_a), clf.features(images_b))


def classifier_score(logits, splits: int = 1) -> float:
  """exp(E_x KL(p(y|x) || p(y))) from logits [N, K]: between 1 and K, high when every sample is
  confidently one class and the classes are used evenly. With splits > 1, the mean over splits."""
  logp = log_softmax(np.asarray(logits, np.float64), axis=-1)
  scores = []
  for part in np.array_split(logp, splits):
    log_marginal = np.log(np.exp(part).mean(0))
    kl = (np.exp(part) * (part - log_marginal)).sum(-1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores))
