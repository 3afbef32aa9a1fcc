"""Few-label classifier training: recipes.train_classifier, the consistency loss, with_encoder, accuracy."""

import jax
import jax.numpy as jnp
import numpy as np

from aejax.experiment import compile_counter
from aejax import losses, recipes
from aejax.evaluation.probes import classifier_accuracy
from aejax.models.autoencoder import mlp_autoencoder, MLPEncoder
from aejax.models.classifier import EncoderClassifier, with_encoder

SHAPE = (8, 8, 1)


def _data(n, seed=0):
  """Class c = one lit row c (of 4): linearly separable 8x8 images."""
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 4, n).astype(np.int32)
  x = np.zeros((n, *SHAPE), np.uint8)
  x[np.arange(n), 2 * y, :, 0] = 255
  return x, y


def _classifier():
  clf = EncoderClassifier(MLPEncoder(6, (16,)), num_classes=4)
  return clf, clf.init(jax.random.PRNGKey(0), jnp.zeros((1, *SHAPE)))


def head_only(path):
  return "head" in path


def test_random_shift_moves_each_image_within_bounds():
  x = jnp.zeros((16, 8, 8, 1)).at[:, 4, 4, 0].set(1.0)
  shifted = losses.random_shift(x, jax.random.PRNGKey(0), 2)
  assert shifted.shape == x.shape
  np.testing.assert_allclose(shifted.sum((1, 2, 3)), 1.0)  # the dot stays inside: nothing lost
  where = np.argwhere(np.asarray(shifted[..., 0]) == 1.0)[:, 1:]
  assert np.all(np.abs(where - 4) <= 2) and len({tuple(w) for w in where}) > 1
  assert losses.random_shift(x, jax.random.PRNGKey(0), 0) is x


def test_consistency_loss_reduces_to_cross_entropy_without_confident_targets():
  clf, params = _classifier()
  x, y = _data(32)
  batch = {"image": x, "label": y, "unlabeled": x}
  ce, _ = losses.cross_entropy(clf.apply)(params, batch, jax.random.PRNGKey(0))
  loss, metrics = losses.consistency_cross_entropy(clf.apply, threshold=1.0, max_shift=0)(
      params, batch, jax.random.PRNGKey(0))
  assert float(metrics["confident_fraction"]) == 0.0  # an untrained net is never this sure
  np.testing.assert_allclose(loss, ce, rtol=1e-6)
  loss, metrics = losses.consistency_cross_entropy(clf.apply, threshold=0.0, max_shift=0)(
      params, batch, jax.random.PRNGKey(0))
  assert float(metrics["confident_fraction"]) == 1.0 and float(metrics["unlabeled_ce"]) > 0
  assert float(loss) > float(ce)


def test_train_classifier_learns_freezes_and_reuses_the_compiled_step():
  clf, init = _classifier()
  x, y = _data(40)
  tx, ty = _data(200, seed=1)
  assert classifier_accuracy(clf.apply, init, tx, ty) < 0.9
  state, history = recipes.train_classifier(clf.apply, init, x, y, steps=150, batch_size=64, lr=1e-2,
                                            seed=0, log_every=50)  # batch capped at the 40 labels
  params = state.params
  assert [h["step"] for h in history] == [50, 100, 150]
  assert classifier_accuracy(clf.apply, params, tx, ty) == 1.0
  probe = recipes.train_classifier(clf.apply, init, x, y, steps=20, batch_size=64, lr=1e-2, seed=0,
                                   trainable=head_only)[0].params
  for (path, before), after in zip(jax.tree_util.tree_leaves_with_path(init), jax.tree.leaves(probe)):
    changed = not np.allclose(before, after)
    assert changed == ("head" in jax.tree_util.keystr(path)), path
  before = compile_counter()[0]
  recipes.train_classifier(clf.apply, init, x, y, steps=5, batch_size=64, lr=3e-3, seed=1, trainable=lambda p: True)
  assert compile_counter()[0] == before  # another seed, lr and mask reuse every compiled function


def test_train_classifier_with_unlabeled_images_and_pretrained_encoder():
  ae = mlp_autoencoder(6, image_shape=SHAPE, hidden=(16,))
  ae_params = ae.init(jax.random.PRNGKey(3), jnp.zeros((1, *SHAPE)))
  clf, init = _classifier()
  pretrained = with_encoder(init, ae_params)
  np.testing.assert_array_equal(pretrained["params"]["encoder"]["Dense_0"]["kernel"],
                                ae_params["params"]["encoder"]["Dense_0"]["kernel"])
  assert pretrained["params"]["head"] is init["params"]["head"]
  x, y = _data(8)
  unlabeled, _ = _data(96, seed=2)
  state, history = recipes.train_classifier(
      clf.apply, pretrained, x, y, steps=40, batch_size=32, lr=1e-2, seed=0, unlabeled=unlabeled,
      consistency={"threshold": 0.5, "max_shift": 0}, log_every=40)
  assert 0.0 <= history[-1]["confident_fraction"] <= 1.0 and np.isfinite(history[-1]["loss"])
  tx, ty = _data(200, seed=1)
  assert classifier_accuracy(clf.apply, state.params, tx, ty) > 0.9
