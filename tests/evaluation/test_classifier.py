"""pretrained(): trains on a tiny synthetic data set, caches with orbax, loads instead of retraining."""

import numpy as np
import pytest

from aejax import data as data_lib
from aejax.evaluation import classifier


def bars(n, seed):
  """Class 0: a horizontal bar, class 1: a vertical bar, at random positions (easy to learn)."""
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 2, n).astype(np.int32)
  x = np.zeros((n, 28, 28, 1), np.uint8)
  pos = rng.integers(4, 24, n)
  for i in range(n):
    if y[i] == 0:
      x[i, pos[i], 4:24] = 255
    else:
      x[i, 4:24, pos[i]] = 255
  return x, y


@pytest.fixture
def tiny(monkeypatch, tmp_path):
  monkeypatch.setenv("AEJAX_CACHE", str(tmp_path))
  (xtr, ytr), (xte, yte) = bars(256, 0), bars(64, 1)
  ds = data_lib.Dataset("mnist", xtr, ytr, xte, yte, 2, "synthetic")
  monkeypatch.setattr(data_lib, "load", lambda name, *a, **k: ds)
  return ds, tmp_path


def test_pretrained_trains_then_loads_from_cache(tiny, monkeypatch):
  ds, cache = tiny
  clf = classifier.pretrained("mnist", steps=30, seed=0, batch_size=32)
  assert clf.test_acc > 0.9
  assert clf.path.is_relative_to(cache / "classifiers")
  logits, feats = clf.logits(ds.test_images), clf.features(ds.test_images)
  assert logits.shape == (64, 2) and feats.shape == (64, 128)
  assert np.mean(logits.argmax(-1) == ds.test_labels) == pytest.approx(clf.test_acc)
  # float input in [0, 1] is the same as uint8 input
  np.testing.assert_allclose(clf.features(ds.test_images / 255.0), feats, atol=1e-4)

  def no_training(*a, **k):
    raise AssertionError("a cached classifier was retrained")
  monkeypatch.setattr(classifier, "train_classifier", no_training)
  again = classifier.pretrained("mnist", steps=30, seed=0)
  assert again.test_acc == pytest.approx(clf.test_acc)
  np.testing.assert_allclose(again.logits(ds.test_images), logits, atol=1e-5)
  with pytest.raises(AssertionError, match="retrained"):  # another key is another classifier
    classifier.pretrained("mnist", steps=31, seed=0)


def test_a_cached_classifier_that_does_not_load_is_trained_again(tiny, capsys):
  ds, cache = tiny
  clf = classifier.pretrained("mnist", steps=30, seed=0, batch_size=32)
  for f in clf.path.rglob("*"):  # cut every file of the checkpoint short, as a full disk would
    if f.is_file() and f.stat().st_size > 8:
      f.write_bytes(f.read_bytes()[:8])
  again = classifier.pretrained("mnist", steps=30, seed=0, batch_size=32)
  assert "did not load" in capsys.readouterr().err
  assert again.test_acc == pytest.approx(clf.test_acc)
  assert classifier.pretrained("mnist", steps=30, seed=0).test_acc == pytest.approx(clf.test_acc)  # rebuilt cache loads
