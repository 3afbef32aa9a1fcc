"""A pretrained CNN per data set, the yardstick for generated images (FD, classifier score, modes).

`pretrained(dataset, steps=...)` trains aejax's CNN once, saves it with orbax under
`aejax.data.cache_dir()/classifiers/<dataset>-steps<steps>-seed<seed>`, and loads it afterwards.
"""

import dataclasses
import functools
import pathlib
import shutil
import sys

import jax
import jax.numpy as jnp
import numpy as np

from aejax import data as data_lib
from aejax import losses, recipes
from aejax.checkpoint import Checkpointer
from aejax.evaluation import batched_apply
from aejax.models.classifier import CNN

# Steps used by the experiments: about 3 epochs at batch 128, >= 99% test accuracy on MNIST.
DEFAULT_STEPS = 1500


@functools.partial(jax.jit, static_argnames=("model", "method"))
def _apply(model, params, x, method=None):
  """model.apply on uint8 or [0, 1] images; one compile per (model, method, batch shape), shared by
  every Classifier with an equal model (Flax modules compare by value), whatever its params."""
  return model.apply(params, losses.to_float(x), method=method)


@dataclasses.dataclass
class Classifier:
  """A trained CNN; images are uint8 or float in [0, 1], NHWC with the data set's channels."""
  model: CNN
  params: dict
  test_acc: float
  dataset: str
  path: pathlib.Path | None = None

  def logits(self, images, batch_size: int = 500) -> np.ndarray:
    """[N, num_classes] logits."""
    return batched_apply(functools.partial(_apply, self.model, self.params), images, batch_size)

  def features(self, images, batch_size: int = 500) -> np.ndarray:
    """[N, 128] penultimate activations (the space Frechet distance is measured in)."""
    return batched_apply(functools.partial(_apply, self.model, self.params, method=CNN.features), images,
                         batch_size)

  def predict(self, images, batch_size: int = 500) -> np.ndarray:
    """[N] most probable class."""
    return self.logits(images, batch_size).argmax(-1)


def accuracy(clf: Classifier, images, labels) -> float:
  return float(np.mean(clf.predict(images) == np.asarray(labels)))


def cache_path(dataset: str, steps: int, seed: int) -> pathlib.Path:
  return data_lib.cache_dir() / "classifiers" / f"{dataset}-steps{steps}-seed{seed}"


def train_classifier(images, labels, *, num_classes: int = 10, steps: int, seed: int = 0,
                     batch_size: int = 128, lr: float = 1e-3, name: str | None = None):
  """Train the CNN with cross-entropy (Adam, cosine decay) on uint8 `images`; returns (model, params)."""
  model = CNN(num_classes=num_classes)
  params = recipes.init(model, seed, jnp.zeros((1, *images.shape[1:]), jnp.float32))
  state, _ = recipes.train(params, losses.cross_entropy(model.apply), {"image": images, "label": labels},
                           steps=steps, batch_size=min(batch_size, len(images)), lr=lr, seed=seed,
                           decay_steps=steps, alpha=0.05,
                           name=name, log_every=max(1, steps))
  return model, state.params


def pretrained(dataset: str, *, steps: int = DEFAULT_STEPS, seed: int = 0, batch_size: int = 128,
               retrain: bool = False) -> Classifier:
  """The CNN trained `steps` steps on `dataset`'s training set, from the cache if it is there.

  The first call trains (MNIST: about 1500 steps reach 99% test accuracy) and saves params and
  test accuracy with orbax; later calls with the same (dataset, steps, seed) load them.
  """
  ds = data_lib.load(dataset)
  path = cache_path(dataset, steps, seed)
  model = CNN(num_classes=ds.num_classes)
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, *ds.train_images.shape[1:])))
  template = {"params": shapes, "test_acc": jax.ShapeDtypeStruct((), np.float32)}
  ckpt = Checkpointer(path, keep=1)
  try:
    try:
      saved = None if retrain else ckpt.restore(template)
    except Exception as e:  # a cache that does not load is rebuilt from its source: the training set
      print(f"aejax: cached classifier {path} did not load ({type(e).__name__}); training it again",
            file=sys.stderr, flush=True)
      ckpt.close()
      shutil.rmtree(path, ignore_errors=True)
      ckpt, saved = Checkpointer(path, keep=1), None
    if saved is not None:
      return Classifier(model, saved["params"], float(saved["test_acc"]), dataset, path)
    model, params = train_classifier(ds.train_images, ds.train_labels, num_classes=ds.num_classes,
                                     steps=steps, seed=seed, batch_size=batch_size,
                                     name=f"classifier-{dataset}")
    clf = Classifier(model, params, 0.0, dataset, path)
    clf.test_acc = accuracy(clf, ds.test_images, ds.test_labels)
    ckpt.save(steps, {"params": params, "test_acc": np.asarray(clf.test_acc, np.float32)})
    return clf
  finally:
    ckpt.close()
