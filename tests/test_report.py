"""The report gathers answers in order, inlines figures, and never hides a missing or failed experiment."""

import json

import numpy as np

from aejax import plots, report
from experiments import EXPERIMENTS


def test_report_from_partial_run(tmp_path):
  q1 = tmp_path / "q1_uses"
  q1.mkdir()
  plots.image_grid([[np.zeros((28, 28, 1), np.uint8)]], q1 / "fig.png")
  report.write_answer(q1, "What are autoencoders for?",
                      "Measured:\n\n" + report.table(["a", "b"], [[1, 0.5]]) + "\n\n![a figure](fig.png)\n\n- one\n- two")
  (q1 / "metrics.json").write_text(json.dumps({"x": 1, "_meta": {"profile": "smoke", "config": {"seeds": 1},
                                                                 "device": "cpu", "wall_s": 3.5}}))
  q2 = tmp_path / "q2_few_labels"
  q2.mkdir()
  (q2 / "FAILED.txt").write_text("Traceback...\nRuntimeError: out of memory\n")
  msg = report.write(tmp_path, EXPERIMENTS)
  text = (tmp_path / "REPORT.md").read_text()
  assert "7 missing/failed" in msg
  assert text.index("What are autoencoders for?") < text.index("## q2_few_labels")
  assert "**FAILED**: RuntimeError: out of memory" in text
  assert text.count("**MISSING**") == 6
  assert "![a figure](q1_uses/fig.png)" in text and "profile `smoke`" in text
  page = (tmp_path / "report.html").read_text()
  assert "data:image/png;base64," in page and "<table>" in page and "<li>one</li>" in page
