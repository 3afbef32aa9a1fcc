"""answer.md pieces (tables) and the report that gathers every experiment's answer.

`write(out)` builds OUT/REPORT.md and a self-contained OUT/report.html (a table of contents, figures
inlined as data: URIs) from OUT/qN_*/answer.md and metrics.json; a missing or failed experiment is
shown as such.
"""

import base64
import html
import json
import mimetypes
import pathlib
import re
import urllib.parse

from markdown_it import MarkdownIt


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
  significant digits (the std to 2); just the mean when there is no std or one seed (no spread)."""
  mean = scale * stats[key]
  std = stats.get(key + "_std")
  if std is None or stats.get("_n") == 1:
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


def render_template(path: pathlib.Path, **context) -> str:
  """Fill the Jinja2 template at `path` (an answer) from `context`. Its helpers: num, pm, table,
  anchor (above) and fmt (Python's format); a name the context lacks is an error, never blank."""
  import jinja2
  env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(pathlib.Path(path).parent)),
                           undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                           keep_trailing_newline=True, autoescape=False)
  env.globals.update(num=num, pm=pm, table=table, anchor=anchor, fmt=format)
  return env.get_template(pathlib.Path(path).name).render(**context)


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


TITLE = "aejax: eight questions on autoencoders and GANs, answered by measurement"


def write(out, names) -> str:
  """Gather OUT/<name>/answer.md, for each experiment name in order, into OUT/REPORT.md and
  OUT/report.html; returns a one-line summary."""
  out = pathlib.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  rows, sections = [], []  # sections: (name, title, markdown)
  for name in names:
    status, meta, detail = _status(out / name)
    cfg = meta.get("config", {})
    rows.append([name.split("_")[0], name, status, meta.get("profile"), cfg.get("seeds"),
                 meta.get("device"), meta.get("wall_s"), meta.get("date")])
    if status != "ok":
      sections.append((name, f"{name}: {status}", f"## {name}\n\n**{status}**: {detail}\n"))
      continue
    body = (out / name / "answer.md").read_text()
    body = re.sub(r"!\[([^\]]*)\]\((?!https?:|/)([^)]+)\)", rf"![\1]({name}/\2)", body)
    heading = re.search(r"^## (.+)$", body, re.M)
    stamp = (f"*Run: profile `{meta.get('profile')}`, seeds {cfg.get('seeds', '–')}, dataset "
             f"`{cfg.get('dataset', '–')}`, {meta.get('device')} ({meta.get('backend')}, "
             f"{meta.get('device_count')} device(s)), {meta.get('wall_s')} s, {meta.get('date')}.*")
    sections.append((name, heading.group(1) if heading else name, body.strip() + "\n\n" + stamp + "\n"))
  total = sum(r[6] or 0 for r in rows)
  bad = [r[1] for r in rows if r[2] != "ok"]
  intro = (f"# {TITLE}\n\n"
           f"Every number below was computed by the runs in this table (`python run.py qN` or "
           f"`python run.py all`, with the profile shown); published anchors are labelled as such.\n")
  summary = (table(["", "experiment", "status", "profile", "seeds", "device", "wall s", "date"], rows)
             + f"\n\nTotal experiment wall time: {total:.0f} s."
             + (f" **Not answered in this run: {', '.join(bad)}.**" if bad else "") + "\n")
  (out / "REPORT.md").write_text(intro + "\n" + summary + "\n" + "\n".join(md for _, _, md in sections))
  (out / "report.html").write_text(_page(intro, summary, sections, out))
  return f"report written to {out / 'REPORT.md'} and {out / 'report.html'}" + (f" ({len(bad)} missing/failed)" if bad else "")


def _inline_image(self, tokens, idx, options, env):
  """Render an image with its file (relative to env["base"]) inlined as a data: URI, so the page
  stands alone; a missing file is said in the text."""
  token = tokens[idx]
  src = urllib.parse.unquote(token.attrGet("src") or "")
  if re.match(r"[a-z]+:", src):  # already a URL (http:, data:)
    return self.image(tokens, idx, options, env)
  path = env["base"] / src
  if not path.is_file():
    return f'<em class="missing">[missing figure {html.escape(src)}]</em>'
  mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
  token.attrSet("src", f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}")
  return self.image(tokens, idx, options, env)


def _text(self, tokens, idx, options, env):
  """Plain text, escaped; "mean ± std" may wrap after the ± (never before it), and names such as
  finetune_consistency after an underscore, so that wide tables still fit a window."""
  text = html.escape(tokens[idx].content).replace(" ± ", "\u00a0± ")
  return re.sub(r"(?<=\w_)(?=\w)", "<wbr>", text)


def _markdown() -> MarkdownIt:
  """CommonMark with tables; images inlined; each table in a box that may grow wider than the
  text column (see STYLE)."""
  md = MarkdownIt("commonmark").enable("table")
  md.add_render_rule("image", _inline_image)
  md.add_render_rule("text", _text)
  md.add_render_rule("table_open", lambda self, tokens, idx, options, env:
                     '<div class="table"><div>' + self.renderToken(tokens, idx, options, env))
  md.add_render_rule("table_close", lambda self, tokens, idx, options, env:
                     self.renderToken(tokens, idx, options, env) + "</div></div>")
  return md


STYLE = """
body{--text:58rem;font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  color:#1f2328;background:#fff;max-width:var(--text);margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1{font-size:1.75rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.35rem;line-height:1.3;margin:3rem 0 1rem;padding-top:1.25rem;border-top:2px solid #d0d7de}
h3{font-size:1.1rem;margin:2rem 0 .75rem}
section{scroll-margin-top:1rem}
/* a table starts at the text column's left edge; one wider than the column grows to both sides
   (up to the window, then it scrolls) */
.table{display:grid;grid-template-columns:1fr auto 1fr;margin:1.25rem calc(50% - 50vw + 1rem)}
.table>div{grid-column:2;min-width:min(var(--text),calc(100vw - 2.5rem));max-width:80rem;overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid #b9c0c8;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f4}
tbody tr:nth-child(even){background:#f8f9fa}
img{display:block;max-width:100%;height:auto;margin:1rem auto}
code{font:.88em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f0f2f4;padding:.1em .3em;border-radius:3px}
pre{background:#f6f8fa;padding:.8rem 1rem;overflow-x:auto;border-radius:4px;line-height:1.4}
pre code{background:none;padding:0}
nav{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.75rem 1.25rem;margin:1.5rem 0}
nav ol{margin:.25rem 0;padding-left:1.5rem}
nav li{margin:.2rem 0}
a{color:#0b5cad}
.missing{color:#b42318}
"""


def _page(intro: str, summary: str, sections: list, base: pathlib.Path) -> str:
  """The report as one HTML page: title and intro, contents, the runs table, then one <section>
  per experiment (id = its name, the target of the contents' links)."""
  md, env = _markdown(), {"base": base}
  toc = "".join(f'<li><a href="#{name}">{md.renderInline(title, env)}</a></li>' for name, title, _ in sections)
  body = "\n".join(f'<section id="{name}">\n{md.render(text, env)}</section>' for name, _, text in sections)
  return (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
          f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
          f"<title>{html.escape(TITLE)}</title><style>{STYLE}</style></head><body>\n"
          f"{md.render(intro, env)}<nav><b>Questions</b><ol>{toc}</ol></nav>\n"
          f"{md.render(summary, env)}{body}\n</body></html>\n")
