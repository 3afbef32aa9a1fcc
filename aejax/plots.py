"""Figures as PNG (matplotlib, Agg backend). Each function writes one file and returns its path."""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path):
  path = pathlib.Path(path)
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)
  return path


def image_grid(rows: list, path, row_titles: list[str] | None = None, title: str = ""):
  """rows: list of arrays [n, H, W, C] in [0, 1] (or uint8); one row of images each."""
  n = max(len(r) for r in rows)
  fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.9, len(rows) * 0.95), squeeze=False)
  for i, row in enumerate(rows):
    for j in range(n):
      ax = axes[i][j]
      ax.axis("off")
      if j < len(row):
        img = np.asarray(row[j], dtype=np.float32)
        img = img / 255.0 if img.max() > 1.5 else img
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
    if row_titles:
      axes[i][0].set_title(row_titles[i], fontsize=7, loc="left")
  if title:
    fig.suptitle(title, fontsize=9)
  return _save(fig, path)


def scatter2d(panels: dict, labels, path, title: str = ""):
  """panels: name -> points [n, 2], coloured by integer `labels`; one panel each."""
  fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
  for ax, (name, pts) in zip(axes[0], panels.items()):
    sc = ax.scatter(pts[:, 0], pts[:, 1], c=labels, s=2, cmap="tab10", alpha=0.6)
    ax.set_title(name, fontsize=9)
  fig.colorbar(sc, ax=axes[0].tolist(), fraction=0.02)
  if title:
    fig.suptitle(title, fontsize=10)
  return _save(fig, path)


def lines(series: dict, path, xlabel: str, ylabel: str, title: str = "", logx: bool = False,
          logy: bool = False, markers: dict | None = None, errors: dict | None = None):
  """series: name -> (xs, ys); optional errors: name -> std per point; markers: name -> (xs, ys)
  drawn as unconnected reference points (e.g. published anchors)."""
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  for name, (xs, ys) in series.items():
    if errors and name in errors:
      ax.errorbar(xs, ys, yerr=errors[name], label=name, marker="o", ms=3, capsize=2)
    else:
      ax.plot(xs, ys, label=name, marker="o", ms=3)
  for name, (xs, ys) in (markers or {}).items():
    ax.scatter(xs, ys, label=name, marker="x", s=30)
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  if logx:
    ax.set_xscale("log")
  if logy:
    ax.set_yscale("log")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  if title:
    ax.set_title(title, fontsize=10)
  return _save(fig, path)
