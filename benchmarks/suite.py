"""Wall time and XLA compilations of each experiment of a `run.py all` output directory.

Reads OUT/*/metrics.json `_meta` (wall_s, compiles, step_compiles, compile_s; written by run.py);
experiments without one are listed as missing. The target is for `--profile default` on the 2-core
CPU. With --before DIR (an earlier run of the same profile), prints each experiment's wall-time ratio.

  python benchmarks/suite.py OUT [--before DIR] [--target-min 60] [--json FILE]
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
  ap.add_argument("--before", default=None, help="an earlier output directory to compare wall times with")
  args = ap.parse_args(argv)
  out = pathlib.Path(args.out)
  before = {p.parent.name: json.loads(p.read_text()).get("_meta", {})
            for p in pathlib.Path(args.before).glob("*/metrics.json")} if args.before else {}
  rows, found = [], set()
  for path in sorted(out.glob("*/metrics.json")):
    meta = json.loads(path.read_text()).get("_meta", {})
    name = path.parent.name
    found.add(name.split("_")[0])
    rows.append({"experiment": name, "profile": meta.get("profile"), "wall_s": meta.get("wall_s"),
                 "compiles": meta.get("compiles"), "step_compiles": meta.get("step_compiles"),
                 "compile_s": meta.get("compile_s"), "device": meta.get("device"),
                 "before_wall_s": before.get(name, {}).get("wall_s"),
                 "before_compiles": before.get(name, {}).get("compiles")})
  missing = [q for q in EXPERIMENTS if q not in found]
  total = sum(r["wall_s"] or 0.0 for r in rows)
  summary = {"benchmark": "suite", "out": str(out), "rows": rows, "missing": missing,
             "total_wall_s": total, "total_min": total / 60, "target_min": args.target_min,
             "within_target": total / 60 <= args.target_min and not missing}
  width = max([len(r["experiment"]) for r in rows] + [10])
  fmt = lambda v, spec: format(v, spec) if v is not None else "-".rjust(int(spec.split(".")[0].rstrip("df")))
  print(f"{'experiment':{width}s}  {'profile':8s}  {'wall_s':>8s}  {'min':>6s}  {'compiles':>8s}  {'steps':>5s}  "
        f"{'compile_s':>9s}" + (f"  {'before_s':>8s}  {'after/before':>12s}  {'compiles_before':>15s}" if before else ""))
  for r in rows:
    w, b = r["wall_s"], r["before_wall_s"]
    line = (f"{r['experiment']:{width}s}  {str(r['profile']):8s}  {fmt(w, '8.1f')}  {(w or 0) / 60:6.1f}  "
            f"{fmt(r['compiles'], '8d')}  {fmt(r['step_compiles'], '5d')}  {fmt(r['compile_s'], '9.1f')}")
    if before:
      line += f"  {fmt(b, '8.1f')}  {fmt(w / b if w and b else None, '12.2f')}  {fmt(r['before_compiles'], '15d')}"
    print(line)
  for q in missing:
    print(f"{q:{width}s}  {'MISSING':8s}")
  print(f"{'total':{width}s}  {'':8s}  {total:8.1f}  {total / 60:6.1f}   target <= {args.target_min:g} min: "
        f"{'met' if summary['within_target'] else 'NOT met'}")
  if before:
    total_before = sum(r["before_wall_s"] or 0.0 for r in rows)
    summary["total_before_s"] = total_before
    print(f"{'total before':{width}s}  {'':8s}  {total_before:8.1f}  {total_before / 60:6.1f}   after/before: "
          f"{total / total_before:.2f}" if total_before else "")
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(summary, indent=1))
  return summary


if __name__ == "__main__":
  main()
