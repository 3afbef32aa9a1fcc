"""The README's own-code snippet runs as written and trains."""

import pathlib
import re


def test_readme_snippet_runs(capsys):
  text = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
  snippet = re.search(r"## In your own code\n\n```python\n(.*?)```", text, re.S).group(1)
  exec(compile(snippet, "README.md", "exec"), {})
  step, loss = capsys.readouterr().out.split()
  assert int(step) == 20
  assert 0 < float(loss) < 0.2
