"""aejax command line: list, run experiments (qN or all), fetch data, build the report."""

import argparse
import signal
import sys
import traceback

from aejax import config as config_lib
from aejax import experiment
from experiments import EXPERIMENTS, load


def settings() -> str:
  """Every experiment's --set keys (dotted names) with their defaults, for --help."""
  lines = ["settings (--set KEY=VALUE; the default profile's values shown):",
           f"  every experiment: {experiment.COMMON.help()}"]
  for name in EXPERIMENTS:
    lines.append(f"  {name.split('_')[0]}: {load(name).SCHEMA.help()}")
  return "\n".join(lines)


def main(argv=None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  helping = any(a in ("-h", "--help") for a in argv)
  p = argparse.ArgumentParser(prog="run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog=settings() if helping else None)
  p.add_argument("command", help="list | q1..q8 | all | data | report")
  p.add_argument("args", nargs="*", help="for data: fetch NAME")
  p.add_argument("--profile", default="default", help="smoke | default | paper")
  p.add_argument("--out", default="out", help="output directory (default: out)")
  p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                 help="override a setting by its dotted name, e.g. mix.steps=100 (repeatable; listed below)")
  p.add_argument("--overwrite", action="store_true", help="replace existing results")
  p.add_argument("--resume", action="store_true",
                 help="skip experiments already complete in --out and continue interrupted ones from their checkpoints")
  p.add_argument("--data-dir", default=None, help="where IDX files / prepared data sets live")
  a = p.parse_args(argv)

  if a.data_dir:
    import os
    os.environ["AEJAX_DATA_DIR"] = a.data_dir

  if a.command == "list":
    for name in EXPERIMENTS:
      print(f"{name.split('_')[0]:<4} {name:<22} {load(name).QUESTION}")
    return 0
  if a.command == "data":
    if len(a.args) != 2 or a.args[0] != "fetch":
      p.error("usage: run.py data fetch NAME")
    from aejax import data
    try:
      ds = data.fetch(a.args[1], a.data_dir)
    except (ValueError, data.DataNotFoundError) as e:
      print(f"error: {e}", file=sys.stderr)
      return 2
    print(f"{ds.name}: {len(ds.train_images)} train, {len(ds.test_images)} test, from {ds.source}")
    return 0
  if a.command == "report":  # re-render every answer from its metrics.json, then the report: no JAX work
    import pathlib
    from aejax import report
    for name in EXPERIMENTS:
      path = pathlib.Path(a.out) / name
      if (path / "metrics.json").exists() and not (path / "FAILED.txt").exists():
        experiment.render(load(name), path)
    print(report.write(a.out, EXPERIMENTS))
    return 0
  if a.overwrite and a.resume:
    print("error: --overwrite and --resume contradict each other; pass one", file=sys.stderr)
    return 2

  from aejax import parallel
  parallel.maybe_initialize_distributed()  # before anything reads the devices; compiles nothing
  parallel.enable_compilation_cache()
  import jax
  primary = jax.process_index() == 0
  keys = EXPERIMENTS if a.command == "all" else [a.command]
  try:  # every config is checked before anything runs
    if a.command == "all":
      shared = sorted({s.split("=", 1)[0].strip() for s in a.sets} - set(experiment.COMMON.fields))
      if shared:
        raise config_lib.ConfigError(f"with 'all', --set takes only the keys every experiment has "
                                     f"({', '.join(experiment.COMMON.fields)}); run qN alone to set {', '.join(shared)}")
    plans = [(m, experiment.prepare(m, a.profile, a.sets)) for m in map(load, keys)]
    dirs = [experiment.out_dir_for(m, a.out, a.overwrite, a.resume, cfg) for m, cfg in plans]
  except (config_lib.ConfigError, experiment.ResultsExistError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  parallel.barrier("aejax: outputs checked")  # every process has checked before any writes
  if primary:
    for path, complete in dirs:
      if not complete:
        experiment.prepare_out_dir(path, a.overwrite)
  parallel.barrier("aejax: outputs ready")
  # SIGTERM (preemption) between training runs exits 143 at once: finished runs are checkpointed.
  # Inside a run, aejax.trainer.fit saves a checkpoint first, then exits 143.
  signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
  failed = []
  for (module, cfg), (path, complete) in zip(plans, dirs):
    if complete:
      print(f"== {module.NAME}: complete in {path}, skipped (--resume)", flush=True)
      continue
    print(f"== {module.NAME} ({a.profile}) -> {path}", flush=True)
    if primary:
      (path / "FAILED.txt").unlink(missing_ok=True)
    try:
      metrics = experiment.execute(module, cfg, path, a.profile)
      print(f"   done in {metrics['_meta']['wall_s']} s ({metrics['_meta']['parallel']}, "
            f"{metrics['_meta']['device_count']} device(s), {metrics['_meta']['process_count']} process(es))", flush=True)
    except Exception as e:  # one failure must not hide the others' results
      failed.append(module.NAME)
      if primary:
        (path / "FAILED.txt").write_text(traceback.format_exc())
      print(f"   FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
  if a.command == "all" and primary:
    from aejax import report
    print(report.write(a.out, EXPERIMENTS))
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
