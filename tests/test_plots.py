"""Figures label their axes, and colour has a key only where it encodes a value."""

import numpy as np
import pytest

from aejax import plots


@pytest.fixture
def figures(monkeypatch):
  """Each figure a plot function saves, caught before it is closed."""
  caught, save = [], plots._save
  monkeypatch.setattr(plots, "_save", lambda fig, path: caught.append(fig) or save(fig, path))
  return caught


def _points(n=200):
  return np.random.default_rng(0).normal(size=(n, 2))


@pytest.mark.parametrize("labels", [None, np.zeros(200)], ids=["no labels", "one value for all"])
def test_scatter_without_values_has_no_colour_key(tmp_path, figures, labels):
  path = plots.scatter2d({"real data": _points(), "generator": 2 * _points()}, labels, tmp_path / "s.png")
  fig, = figures
  assert path.stat().st_size > 0
  assert len(fig.axes) == 2  # the two panels, no colour-bar axes
  assert all(ax.get_legend() is None for ax in fig.axes)
  assert [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes] == [("x1", "x2")] * 2
  colours = np.concatenate([ax.collections[0].get_facecolors()[:, :3] for ax in fig.axes])
  assert len(np.unique(colours, axis=0)) == 1


def test_scatter_classes_get_a_titled_legend(tmp_path, figures):
  labels = np.arange(200) % 10
  plots.scatter2d({"autoencoder": _points(), "PCA": _points()}, labels, tmp_path / "s.png",
                  xlabel=["code 1", "PC 1"], ylabel=["code 2", "PC 2"], label_name="digit")
  fig, = figures
  assert len(fig.axes) == 2
  legend = fig.axes[-1].get_legend()
  assert legend.get_title().get_text() == "digit"
  assert [t.get_text() for t in legend.get_texts()] == [str(k) for k in range(10)]
  assert [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes] == [("code 1", "code 2"), ("PC 1", "PC 2")]


def test_scatter_continuous_values_get_a_labelled_colour_bar(tmp_path, figures):
  pts = _points()
  plots.scatter2d({"points": pts}, pts[:, 0], tmp_path / "s.png", label_name="first coordinate")
  fig, = figures
  assert len(fig.axes) == 2  # the panel and its colour bar
  assert fig.axes[1].get_ylabel() == "first coordinate"


def test_lines_and_image_grid_label_their_axes(tmp_path, figures):
  plots.lines({"a": ([1, 2, 3], [3, 2, 1])}, tmp_path / "l.png", xlabel="training step", ylabel="loss")
  plots.image_grid([np.zeros((5, 8, 8, 1))], tmp_path / "g.png", xlabel="interpolation step", ylabel="model")
  line, grid = figures
  assert (line.axes[0].get_xlabel(), line.axes[0].get_ylabel()) == ("training step", "loss")
  assert (grid.get_supxlabel(), grid.get_supylabel()) == ("interpolation step", "model")
