"""answer.md pieces (tables) and the REPORT.md that gathers every experiment's answer."""

import pathlib


def table(headers: list[str], rows: list[list]) -> str:
  """A markdown table; floats are printed with 4 significant digits, None as an en dash."""
  def cell(v):
    if v is None:
      return "–"
    if isinstance(v, float):
      return f"{v:.4g}"
    return str(v)
  lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
  lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
  return "\n".join(lines)


def write_answer(out: pathlib.Path, question: str, body: str) -> pathlib.Path:
  """Write out/answer.md: the question as a heading, then the measured body."""
  path = pathlib.Path(out) / "answer.md"
  path.write_text(f"## {question}\n\n{body.strip()}\n")
  return path


def write(out) -> str:
  """Gather OUT/*/answer.md into OUT/REPORT.md (the full report is issue #6)."""
  from experiments import EXPERIMENTS
  out = pathlib.Path(out)
  parts = ["# aejax report\n"]
  for name in EXPERIMENTS:
    answer = out / name / "answer.md"
    if answer.exists():
      parts.append(answer.read_text())
    else:
      failed = out / name / "FAILED.txt"
      why = failed.read_text().strip().splitlines()[-1] if failed.exists() else "not run"
      parts.append(f"## {name}\n\n**Missing**: {why}\n")
  path = out / "REPORT.md"
  path.write_text("\n".join(parts))
  return f"report written to {path}"
