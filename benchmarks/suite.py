"""Wall time of each experiment of a `run.py all` output directory vs the 60-minute target.

Reads OUT/*/metrics.json `_meta.wall_s` (written by run.py); experiments without one are listed
as missing. The target is for `--profile default` on the 2-core CPU.

  python benchmarks/suite.py OUT [--target-min 60] [--json FILE]
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
EXPERIMENTS = sorted(p.stem.split("_")[0] for p in
                     (pathlib.Path(__file__).resolve().parent.parent / "experiments").glob("q[0-9]*_*.py"))


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("out", help="the directory run.py wrote (one sub-directory per experiment)")
  ap.add_argument("--target-min", type=float, default=60.0)
  ap.add_argument("--json", default=None, help="also write the summary here")
  args = ap.parse_args(argv)
  out = pathlib.Path(args.out)
  rows, found = [], set()
  for path in sorted(out.glob("*/metrics.json")):
    meta = json.loads(path.read_text()).get("_meta", {})
    name = path.parent.name
    found.add(name.split("_")[0])
    rows.append({"experiment": name, "profile": meta.get("profile"), "wall_s": meta.get("wall_s"),
                 "device": meta.get("device")})
  missing = [q for q in EXPERIMENTS if q not in found]
  total = sum(r["wall_s"] or 0.0 for r in rows)
  summary = {"benchmark": "suite", "out": str(out), "rows": rows, "missing": missing,
             "total_wall_s": total, "total_min": total / 60, "target_min": args.target_min,
             "within_target": total / 60 <= args.target_min and not missing}
  width = max([len(r["experiment"]) for r in rows] + [10])
  print(f"{'experiment':{width}s}  {'profile':8s}  {'wall_s':>8s}  {'min':>6s}")
  for r in rows:
    w = r["wall_s"]
    print(f"{r['experiment']:{width}s}  {str(r['profile']):8s}  "
          f"{w if w is not None else float('nan'):8.1f}  {(w or 0) / 60:6.1f}")
  for q in missing:
    print(f"{q:{width}s}  {'MISSING':8s}")
  print(f"{'total':{width}s}  {'':8s}  {total:8.1f}  {total / 60:6.1f}   target <= {args.target_min:g} min: "
        f"{'met' if summary['within_target'] else 'NOT met'}")
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(summary, indent=1))
  return summary


if __name__ == "__main__":
  main()
