"""How good are codes? A linear probe (logistic regression), a k-NN classifier, and PCA.

All three take plain feature arrays [N, D] (codes, pixels, PCA projections), so the same
measurement is applied to every representation being compared.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from aejax.evaluation import batched_apply, static_fn


def flatten(x):
  """[N, ...] -> float32 [N, D]; uint8 images are scaled to [0, 1]."""
  x = np.asarray(x)
  scale = 255.0 if x.dtype == np.uint8 else 1.0
  return (x.reshape((len(x), -1)) / scale).astype(np.float32)


def encode(apply_encode, params, images, batch_size: int = 1000):
  """Codes [N, D] of `images` (uint8 or float NHWC) under `apply_encode(params, x)`, in chunks.

  One compile per (apply_encode, batch shape, dtype); params are traced. Pass
  `functools.partial(model.apply, method="encode")` (equal for equal models, even built afresh)
  or a module-level function: a fresh lambda per call compiles per call.
  """
  return flatten(batched_apply(functools.partial(_encode, static_fn(apply_encode), params), images, batch_size))


def _scaled(x):
  return x.astype(jnp.float32) / 255.0 if x.dtype == jnp.uint8 else x


@functools.partial(jax.jit, static_argnames="apply_encode")
def _encode(apply_encode, params, x):
  return apply_encode(params, _scaled(x))


# ---------------------------------------------------------------- linear probe

def _probe_loss(params, x, y, l2):
  logits = x @ params["w"] + params["b"]
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
  return ce + l2 * jnp.sum(params["w"] ** 2)


def probe_step(params, opt_state, x, y, *, tx, l2):
  """One pure optax step of L2-regularised multinomial logistic regression."""
  loss, grads = jax.value_and_grad(_probe_loss)(params, x, y, l2)
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, loss


@functools.partial(jax.jit, static_argnames=("num_classes", "steps", "batch_size", "lr", "l2"))
def _fit_probe(x, y, key, *, num_classes, steps, batch_size, lr, l2):
  tx = optax.adam(lr)
  params = {"w": jnp.zeros((x.shape[1], num_classes)), "b": jnp.zeros((num_classes,))}

  def body(carry, k):
    params, opt_state = carry
    if batch_size < x.shape[0]:  # minibatch: a fresh random batch each step
      idx = jax.random.randint(k, (batch_size,), 0, x.shape[0])
      xb, yb = x[idx], y[idx]
    else:  # full batch
      xb, yb = x, y
    params, opt_state, loss = probe_step(params, opt_state, xb, yb, tx=tx, l2=l2)
    return (params, opt_state), loss

  (params, _), losses = jax.lax.scan(body, (params, tx.init(params)), jax.random.split(key, steps))
  return params, losses


def train_linear_probe(features, labels, num_classes: int = 10, *, steps: int = 500,
                       batch_size: int | None = 1000, lr: float = 1e-2, l2: float = 1e-4,
                       seed: int = 0) -> dict:
  """Logistic regression on standardised features; returns the probe (weights + standardisation).

  Features are standardised with the training mean/std so that codes of any scale (pixels,
  linear codes, sigmoid codes) get the same optimiser and regulariser. batch_size=None: full batch.
  """
  x = flatten(features)
  mean, std = x.mean(0), x.std(0) + 1e-6
  xs = jnp.asarray((x - mean) / std)
  bs = len(x) if batch_size is None else min(batch_size, len(x))
  params, losses = _fit_probe(xs, jnp.asarray(labels, jnp.int32), jax.random.PRNGKey(seed),
                              num_classes=num_classes, steps=steps, batch_size=bs, lr=lr, l2=l2)
  return {"w": params["w"], "b": params["b"], "mean": jnp.asarray(mean), "std": jnp.asarray(std),
          "final_loss": float(losses[-1])}


def probe_predict(probe: dict, features) -> np.ndarray:
  """Predicted class per row [N]."""
  x = (jnp.asarray(flatten(features)) - probe["mean"]) / probe["std"]
  return np.asarray(jnp.argmax(x @ probe["w"] + probe["b"], -1))


def linear_probe_accuracy(train_features, train_labels, test_features, test_labels,
                          num_classes: int = 10, **kwargs) -> float:
  """Test accuracy of a linear probe trained on (train_features, train_labels)."""
  probe = train_linear_probe(train_features, train_labels, num_classes, **kwargs)
  return float(np.mean(probe_predict(probe, test_features) == np.asarray(test_labels)))


def classifier_accuracy(apply_fn, params, images, labels, batch_size: int = 1000) -> float:
  """Accuracy of a classifier `apply_fn(params, x) -> logits` on uint8 or float images.

  One compile per (apply_fn, batch shape, dtype); params are traced, so new params reuse it.
  """
  pred = batched_apply(functools.partial(_predict, static_fn(apply_fn), params), images, batch_size)
  return float(np.mean(pred == np.asarray(labels)))


@functools.partial(jax.jit, static_argnames="apply_fn")
def _predict(apply_fn, params, x):
  return jnp.argmax(apply_fn(params, _scaled(x)), -1)


# ---------------------------------------------------------------- k-NN

@functools.partial(jax.jit, static_argnames=("k", "num_classes"))
def _knn_chunk(ref, ref_sq, ref_labels, query, *, k, num_classes):
  # squared distances |q|^2 - 2 q.r + |r|^2: one matmul per chunk, no [Q, R, D] tensor
  d = jnp.sum(query**2, -1, keepdims=True) - 2 * query @ ref.T + ref_sq[None, :]
  # the barrier keeps XLA:CPU from turning top_k into a full sort when idx[:, 0] is used below (80x slower)
  idx = jax.lax.optimization_barrier(jax.lax.top_k(-d, k)[1])
  votes = jax.nn.one_hot(ref_labels[idx], num_classes).sum(1)  # [Q, classes]
  # ties are broken towards the nearest neighbour's class
  votes = votes + 1e-3 * jax.nn.one_hot(ref_labels[idx[:, 0]], num_classes)
  return jnp.argmax(votes, -1)


def knn_predict(ref_features, ref_labels, query_features, k: int = 5, num_classes: int = 10,
                chunk: int = 500) -> np.ndarray:
  """Majority vote of the k nearest (Euclidean) reference rows, for each query row [Q]."""
  ref = jnp.asarray(flatten(ref_features))
  ref_sq = jnp.sum(ref**2, -1)
  labels = jnp.asarray(ref_labels, jnp.int32)
  fn = lambda q: _knn_chunk(ref, ref_sq, labels, q, k=k, num_classes=num_classes)
  return np.asarray(batched_apply(fn, flatten(query_features), chunk))


def knn_accuracy(ref_features, ref_labels, query_features, query_labels, k: int = 5,
                 num_classes: int = 10) -> float:
  """Accuracy of k-NN classification of the query rows."""
  pred = knn_predict(ref_features, ref_labels, query_features, k, num_classes)
  return float(np.mean(pred == np.asarray(query_labels)))


# ---------------------------------------------------------------- PCA

def pca_fit(features, k: int) -> dict:
  """Top-k principal directions (via the D x D covariance; fine for D up to a few thousand)."""
  x = jnp.asarray(flatten(features))
  mean = x.mean(0)
  xc = x - mean
  cov = xc.T @ xc / len(x)
  eigvals, eigvecs = jnp.linalg.eigh(cov)  # ascending
  order = jnp.argsort(eigvals)[::-1][:k]
  return {"mean": mean, "components": eigvecs[:, order], "explained_variance": eigvals[order]}


def pca_transform(pca: dict, features) -> np.ndarray:
  """Project rows onto the fitted components: [N, k]."""
  return np.asarray((jnp.asarray(flatten(features)) - pca["mean"]) @ pca["components"])
