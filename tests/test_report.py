"""The report gathers answers in order, inlines figures, never hides a missing or failed experiment,
and reads in a browser: every figure decodes, every table shows whole, the page is not blank.

The browser checks run headless Chromium (Debian package `chromium`, installed by .ci/run); without
it they are skipped, except under CI (CI set), where they fail. With AEJAX_REPORT_SCREENSHOT=FILE,
the check of the committed results also keeps a full-page screenshot of that report in FILE.
"""

import base64
import html.parser
import json
import os
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from aejax import plots, report
from experiments import EXPERIMENTS

RESULTS = pathlib.Path(__file__).parents[1] / "results"
WIDTH = 1280


def _partial_run(out: pathlib.Path) -> pathlib.Path:
  """q1 and q2 answered (tables, matplotlib figures, a list, code), q3 failed, the rest not run."""
  q1, q2, q3 = (out / name for name in EXPERIMENTS[:3])
  for d in (q1, q2, q3):
    d.mkdir(parents=True)
  plots.image_grid([np.linspace(0, 1, 5 * 28 * 28).reshape(5, 28, 28, 1)], q1 / "fig.png", title="five images")
  report.write_answer(q1, "What are autoencoders for?",
                      "Measured:\n\n" + report.table(["a", "b"], [[1, 0.5], [2, None]])
                      + "\n\n![a figure](fig.png)\n\n- one\n- two with `a*b*c`\n\n"
                      + "```python\n# not a heading\nx = 1\n```\n")
  steps = np.arange(1, 6)
  plots.lines({"train": (steps, 1 / steps), "test": (steps, 1.2 / steps)}, q2 / "curve.png",
              xlabel="training step", ylabel="loss")
  pts = np.random.default_rng(0).normal(size=(300, 2))
  plots.scatter2d({"codes": pts}, np.arange(300) % 3, q2 / "codes.png", label_name="class")
  report.write_answer(q2, "How do few labels help?",
                      report.table(["labels", "error %", "published"], [[100, 23.65, "25.8 (Kingma et al. 2014)"]])
                      + "\n\n![learning curves](curve.png) ![codes](codes.png)\n\n**Answer.** *Pretrain*, then fine-tune.")
  for d in (q1, q2):
    (d / "metrics.json").write_text(json.dumps(
        {"x": 1, "_meta": {"profile": "smoke", "config": {"seeds": 1, "dataset": "mnist"}, "device": "cpu",
                           "backend": "cpu", "device_count": 1, "wall_s": 3.5, "date": "2026-01-01"}}))
  (q3 / "FAILED.txt").write_text("Traceback...\nRuntimeError: out of memory\n")
  return out


class _Page(html.parser.HTMLParser):
  """The tags of a page: img src, ids, in-page links, tables."""

  def __init__(self, text):
    super().__init__()
    self.images, self.ids, self.links, self.tables = [], set(), [], 0
    self.feed(text)

  def handle_starttag(self, tag, attrs):
    attrs = dict(attrs)
    if tag == "img":
      self.images.append(attrs["src"])
    if "id" in attrs:
      self.ids.add(attrs["id"])
    if tag == "a" and attrs.get("href", "").startswith("#"):
      self.links.append(attrs["href"][1:])
    self.tables += tag == "table"


def test_report_from_partial_run(tmp_path):
  msg = report.write(_partial_run(tmp_path), EXPERIMENTS)
  text = (tmp_path / "REPORT.md").read_text()
  assert "6 missing/failed" in msg
  assert text.index("What are autoencoders for?") < text.index("How do few labels help?") < text.index("## q3_evaluation")
  assert "**FAILED**: RuntimeError: out of memory" in text
  assert text.count("**MISSING**") == 5
  assert "![a figure](q1_uses/fig.png)" in text and "profile `smoke`" in text

  page_text = (tmp_path / "report.html").read_text()
  page = _Page(page_text)
  # every figure is in the page itself, byte for byte
  figures = [tmp_path / "q1_uses/fig.png", tmp_path / "q2_few_labels/curve.png", tmp_path / "q2_few_labels/codes.png"]
  assert page.images == ["data:image/png;base64," + base64.b64encode(f.read_bytes()).decode() for f in figures]
  assert page.tables == 3  # the runs, q1's, q2's
  # contents: one link per experiment, each to its section
  assert page.links == list(EXPERIMENTS) and set(EXPERIMENTS) <= page.ids
  assert "<li>one</li>" in page_text and "<code>a*b*c</code>" in page_text
  assert "<strong>Answer.</strong> <em>Pretrain</em>" in page_text
  assert "# not a heading" in page_text and "not a heading</h1>" not in page_text
  assert "<td>–</td>" in page_text


def test_missing_figure_is_said(tmp_path):
  q1 = tmp_path / EXPERIMENTS[0]
  q1.mkdir()
  report.write_answer(q1, "Q?", "![gone](gone.png)")
  (q1 / "metrics.json").write_text(json.dumps({"_meta": {}}))
  report.write(tmp_path, EXPERIMENTS[:1])
  page = (tmp_path / "report.html").read_text()
  assert "[missing figure q1_uses/gone.png]" in page and "<img" not in page


# ---------------------------------------------------------------- in a browser

CHECK = """<script>
addEventListener('load', () => {
  const images = [...document.images].map(i => i.complete && i.naturalWidth > 0);
  const tables = [...document.querySelectorAll('table')].map(t => {
    const box = t.parentElement;
    return {shown: t.offsetHeight > 0 && t.rows.length > 1 && t.rows[1].cells.length > 0,
            whole: box.scrollWidth <= box.clientWidth + 1};
  });
  const links = [...document.querySelectorAll('a[href^="#"]')]
    .map(a => document.getElementById(a.getAttribute('href').slice(1)) !== null);
  document.documentElement.dataset.check = JSON.stringify(
    {images, tables, links, height: document.documentElement.scrollHeight});
});
</script>"""


def _chromium() -> str:
  for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
    if path := shutil.which(name):
      return path
  if os.environ.get("CI"):
    pytest.fail("no chromium on this CI machine: .ci/run installs Debian's `chromium`")
  pytest.skip("no chromium binary (Debian: apt-get install chromium); the browser checks need it")


def _chromium_run(page: pathlib.Path, *args, height: int = 900) -> str:
  """Headless Chromium on a local page; its stdout."""
  cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={page.parent / '.chromium'}", f"--window-size={WIDTH},{height}", *args, page.as_uri()]
  done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
  assert done.returncode == 0, done.stderr[-2000:]
  return done.stdout


def browser_check(page: pathlib.Path) -> dict:
  """What a browser made of the page, after load: per image whether it decoded, per table whether
  it shows (height, rows) and shows whole (no horizontal scrolling at WIDTH), per in-page link
  whether its target exists, and the page height."""
  probe = page.with_name("check_" + page.name)
  probe.write_text(page.read_text().replace("</body>", CHECK + "</body>"))
  dom = _chromium_run(probe, "--dump-dom")
  found = re.search(r'data-check="([^"]*)"', dom)
  assert found, "the check script did not run: " + dom[:500]
  return json.loads(html.unescape(found.group(1)))


def screenshot(page: pathlib.Path, png: pathlib.Path, height: int) -> np.ndarray:
  """A screenshot WIDTH x height of the page, as an RGB array."""
  _chromium_run(page, f"--screenshot={png}", height=height)
  assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  return np.asarray(Image.open(png).convert("RGB"))


def _assert_reads(check: dict, n_images: int, n_tables: int):
  assert len(check["images"]) == n_images and all(check["images"]), check["images"]
  assert len(check["tables"]) == n_tables
  assert all(t["shown"] for t in check["tables"]), check["tables"]
  assert all(t["whole"] for t in check["tables"]), check["tables"]
  assert check["links"] and all(check["links"])


def test_report_reads_in_a_browser(tmp_path):
  _partial_run(tmp_path)
  report.write(tmp_path, EXPERIMENTS)
  page = tmp_path / "report.html"
  check = browser_check(page)
  _assert_reads(check, n_images=3, n_tables=3)
  pixels = screenshot(page, tmp_path / "report.png", height=min(check["height"], 8000))
  assert pixels.shape == (min(check["height"], 8000), WIDTH, 3)
  # not blank: many colours, and a good share of the pixels differ from the background
  background = np.median(pixels.reshape(-1, 3), axis=0)
  assert np.mean(np.abs(pixels - background).sum(-1) > 30) > 0.02
  assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100


def test_committed_report_reads_in_a_browser(tmp_path):
  """The committed results, gathered again as they stand: every figure they cite decodes, every
  table shows whole."""
  n_images = 0
  for answer in RESULTS.glob("q*/answer.md"):
    d = tmp_path / answer.parent.name
    d.mkdir()
    for f in [answer, answer.with_name("metrics.json"), *answer.parent.glob("*.png")]:
      shutil.copy(f, d)
    n_images += len(re.findall(r"!\[[^\]]*\]\(", answer.read_text()))
  if not n_images:
    pytest.skip("no committed results")
  report.write(tmp_path, EXPERIMENTS)
  page = tmp_path / "report.html"
  check = browser_check(page)
  n_tables = 1 + sum(len(re.findall(r"^\|---", a.read_text(), re.M)) for a in RESULTS.glob("q*/answer.md"))
  _assert_reads(check, n_images, n_tables)
  if keep := os.environ.get("AEJAX_REPORT_SCREENSHOT"):
    screenshot(page, pathlib.Path(keep).resolve(), height=check["height"])
