"""Figures as PNG (matplotlib, Agg backend). Each function writes one file and returns its path;
every axis is labelled, and colour has a key only where it encodes a value."""

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


def image_grid(rows: list, path, row_titles: list[str] | None = None, title: str = "",
               xlabel: str = "", ylabel: str = ""):
  """rows: list of arrays [n, H, W, C] in [0, 1] (or uint8); one row of images each. The images
  carry no axes; `xlabel` / `ylabel` label the grid's columns / rows where their position means
  something (an interpolation step, a latent coordinate)."""
  n = max(len(r) for r in rows)
  w, h = n * 0.9, len(rows) * 0.95
  fig, axes = plt.subplots(len(rows), n, figsize=(w, h), squeeze=False)
  # margins in inches, so that a large grid keeps its title and labels next to the images
  fig.subplots_adjust(left=(0.3 if ylabel else 0.05) / w, right=1 - 0.05 / w, bottom=(0.3 if xlabel else 0.05) / h,
                      top=1 - (0.45 if title else 0.2) / h, hspace=0.3 if row_titles else 0.1, wspace=0.1)
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
  if xlabel:
    fig.supxlabel(xlabel, fontsize=8, y=0.05 / h, va="bottom")
  if ylabel:
    fig.supylabel(ylabel, fontsize=8, x=0.05 / w, ha="left")
  if title:
    fig.suptitle(title, fontsize=9, y=1 - 0.05 / h, va="top")
  return _save(fig, path)


def scatter2d(panels: dict, labels, path, title: str = "", xlabel="x1", ylabel="x2",
              label_name: str = "class"):
  """panels: name -> points [n, 2]; one panel each. `labels` [n] colours the points: integer
  classes get one colour each and a legend titled `label_name`, other values a colour bar labelled
  `label_name`; None (or one value for all) draws every point in one colour, with no key.
  xlabel / ylabel: one label for every panel, or a list with one per panel."""
  names = list(panels)
  per_panel = lambda v: list(v) if isinstance(v, (list, tuple)) else [v] * len(names)
  xlabels, ylabels = per_panel(xlabel), per_panel(ylabel)
  values = None if labels is None else np.asarray(labels)
  if values is not None and len(np.unique(values)) < 2:
    values = None
  classes = None
  if values is not None and np.all(values == np.round(values)) and len(np.unique(values)) <= 20:
    classes = np.unique(values)
    palette = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    colours = palette(np.searchsorted(classes, values))
  fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4), squeeze=False, layout="constrained")
  for ax, name, xl, yl in zip(axes[0], names, xlabels, ylabels):
    pts = np.asarray(panels[name])
    if values is None:
      sc = ax.scatter(pts[:, 0], pts[:, 1], s=2, color="C0", alpha=0.6)
    elif classes is not None:
      sc = ax.scatter(pts[:, 0], pts[:, 1], s=2, c=colours, alpha=0.6)
    else:
      sc = ax.scatter(pts[:, 0], pts[:, 1], s=2, c=values, cmap="viridis", alpha=0.6)
    ax.set_title(name, fontsize=9)
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
  if classes is not None:
    handles = [plt.Line2D([], [], ls="", marker="o", ms=5, color=palette(i), label=f"{c:g}")
               for i, c in enumerate(classes)]
    axes[0][-1].legend(handles=handles, title=label_name, loc="center left", bbox_to_anchor=(1.02, 0.5),
                       fontsize=8, title_fontsize=8, frameon=False)
  elif values is not None:
    fig.colorbar(sc, ax=axes[0].tolist(), fraction=0.02).set_label(label_name)
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
  for i, (name, (xs, ys)) in enumerate((markers or {}).items()):  # colours not shared with a series
    ax.scatter(xs, ys, label=name, marker="x", s=30, color=f"C{(len(series) + i) % 10}")
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  if logx:
    ax.set_xscale("log")
  if logy:
    ax.set_yscale("log")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)  # beside, never over, the data
  if title:
    ax.set_title(title, fontsize=10)
  return _save(fig, path)
