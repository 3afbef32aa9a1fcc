"""answer.md pieces (tables) and the report that gathers every experiment's answer.

`write(out)` builds OUT/REPORT.md and a self-contained OUT/report.html (figures inlined) from
OUT/qN_*/answer.md and metrics.json; a missing or failed experiment is shown as such.
"""

import base64
import html
import json
import pathlib
import re


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


def pm(stats: dict, key: str, scale: float = 1.0, digits: int = 3) -> str:
  """"mean ± std" of `key` in a mean_std dict ({key, key + "_std"}), times `scale`, to `digits`
  significant digits (the std to 2); just the mean when there is no std (one seed)."""
  mean = scale * stats[key]
  std = stats.get(key + "_std")
  if std is None:
    return num(mean, digits)
  return f"{num(mean, digits)} ± {scale * std:.2g}"


def num(x, digits: int = 3) -> str:
  """A number for prose: integers as they are, floats to `digits` significant digits, None as n/a."""
  if x is None:
    return "n/a"
  if isinstance(x, (bool,)) or (isinstance(x, int)):
    return str(x)
  return f"{x:.{digits}g}"


def anchor(value, source: str) -> str:
  """A published number labelled with its source, e.g. "86.76 (Burda et al. 2016, Table 1)"."""
  return f"{value} ({source})"


def write_answer(out: pathlib.Path, question: str, body: str) -> pathlib.Path:
  """Write out/answer.md: the question as a heading, then the measured body."""
  path = pathlib.Path(out) / "answer.md"
  path.write_text(f"## {question}\n\n{body.strip()}\n")
  return path


def _status(path: pathlib.Path) -> tuple[str, dict, str]:
  """(status, _meta, detail) of one experiment's output directory."""
  failed, metrics = path / "FAILED.txt", path / "metrics.json"
  if failed.exists():
    lines = failed.read_text().strip().splitlines()
    return "FAILED", {}, lines[-1] if lines else "failed"
  if not metrics.exists() or not (path / "answer.md").exists():
    return "MISSING", {}, "not run (no metrics.json / answer.md)"
  return "ok", json.loads(metrics.read_text()).get("_meta", {}), ""


def write(out, names) -> str:
  """Gather OUT/<name>/answer.md, for each experiment name in order, into OUT/REPORT.md and
  OUT/report.html; returns a one-line summary."""
  out = pathlib.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  rows, sections = [], []
  for name in names:
    status, meta, detail = _status(out / name)
    cfg = meta.get("config", {})
    rows.append([name.split("_")[0], name, status, meta.get("profile"), cfg.get("seeds"),
                 meta.get("device"), meta.get("wall_s"), meta.get("date")])
    if status != "ok":
      sections.append(f"## {name}\n\n**{status}**: {detail}\n")
      continue
    body = (out / name / "answer.md").read_text()
    body = re.sub(r"!\[([^\]]*)\]\((?!https?:|/)([^)]+)\)", rf"![\1]({name}/\2)", body)
    stamp = (f"*Run: profile `{meta.get('profile')}`, seeds {cfg.get('seeds', '–')}, dataset "
             f"`{cfg.get('dataset', '–')}`, {meta.get('device')} ({meta.get('backend')}, "
             f"{meta.get('device_count')} device(s)), {meta.get('wall_s')} s, {meta.get('date')}.*")
    sections.append(body.strip() + "\n\n" + stamp + "\n")
  total = sum(r[6] or 0 for r in rows)
  summary = table(["", "experiment", "status", "profile", "seeds", "device", "wall s", "date"], rows)
  bad = [r[1] for r in rows if r[2] != "ok"]
  head = (f"# aejax: eight questions on autoencoders and GANs, answered by measurement\n\n"
          f"Every number below was computed by the runs in this table (`python run.py qN` or "
          f"`python run.py all`, with the profile shown); published anchors are labelled as such.\n\n{summary}\n\n"
          f"Total experiment wall time: {total:.0f} s."
          + (f" **Not answered in this run: {', '.join(bad)}.**" if bad else "") + "\n")
  text = head + "\n" + "\n".join(sections)
  (out / "REPORT.md").write_text(text)
  (out / "report.html").write_text(to_html(text, out))
  return f"report written to {out / 'REPORT.md'} and {out / 'report.html'}" + (f" ({len(bad)} missing/failed)" if bad else "")


def _inline(text: str, base: pathlib.Path) -> str:
  def image(m):
    path = base / m.group(2)
    if not path.exists():
      return f"<em>[missing figure {html.escape(m.group(2))}]</em>"
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(m.group(1))}" src="data:image/png;base64,{data}">'
  parts = re.split(r"(`[^`]*`|!\[[^\]]*\]\([^)]+\))", text)
  out = []
  for part in parts:
    if part.startswith("`") and part.endswith("`") and len(part) > 1:
      out.append(f"<code>{html.escape(part[1:-1])}</code>")
    elif part.startswith("!["):
      out.append(re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", image, part))
    else:
      p = html.escape(part)
      p = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", p)
      p = re.sub(r"(?<![\w*])\*(?!\s)(.+?)\*(?!\w)", r"<i>\1</i>", p)
      out.append(p)
  return "".join(out)


def to_html(markdown: str, base: pathlib.Path) -> str:
  """The small markdown subset answer.md files use (headings, tables, lists, code, images) as HTML."""
  lines, body, i = markdown.splitlines(), [], 0
  while i < len(lines):
    line = lines[i]
    if line.startswith("```"):
      j = i + 1
      while j < len(lines) and not lines[j].startswith("```"):
        j += 1
      body.append("<pre><code>" + html.escape("\n".join(lines[i + 1:j])) + "</code></pre>")
      i = j + 1
      continue
    if m := re.match(r"(#{1,6}) (.*)", line):
      n = len(m.group(1))
      body.append(f"<h{n}>{_inline(m.group(2), base)}</h{n}>")
    elif line.startswith("|"):
      rows = []
      while i < len(lines) and lines[i].startswith("|"):
        if not re.match(r"\|(\s*:?-+:?\s*\|)+\s*$", lines[i]):
          rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
        i += 1
      cells = lambda r, t: "".join(f"<{t}>{_inline(c, base)}</{t}>" for c in r)
      body.append("<table><tr>" + cells(rows[0], "th") + "</tr>"
                  + "".join("<tr>" + cells(r, "td") + "</tr>" for r in rows[1:]) + "</table>")
      continue
    elif re.match(r"\s*([-*]|\d+\.) ", line):
      tag = "ol" if re.match(r"\s*\d+\.", line) else "ul"
      items = []
      while i < len(lines) and lines[i].strip():
        if re.match(r"\s*([-*]|\d+\.) ", lines[i]):
          items.append(re.sub(r"\s*([-*]|\d+\.) ", "", lines[i], count=1))
        else:
          items[-1] += " " + lines[i].strip()
        i += 1
      body.append(f"<{tag}>" + "".join(f"<li>{_inline(t, base)}</li>" for t in items) + f"</{tag}>")
      continue
    elif line.strip():
      para = []
      while i < len(lines) and lines[i].strip() and not re.match(r"(#|\||```|\s*([-*]|\d+\.) )", lines[i]):
        para.append(lines[i])
        i += 1
      body.append(f"<p>{_inline(' '.join(para), base)}</p>")
      continue
    i += 1
  style = ("body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em;line-height:1.4}"
           "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.2em .5em}"
           "img{max-width:100%}code{background:#f3f3f3}")
  return (f"<!doctype html><html><head><meta charset='utf-8'><title>aejax report</title>"
          f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
