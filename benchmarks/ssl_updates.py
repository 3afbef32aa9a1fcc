"""q7's semi-supervised GAN with another number of updates, outside the suite: q7's own `semi_supervised`
under the default profile with ssl.steps=STEPS (the cosine decay spread over them), one seed; prints the
averaged and raw discriminators' test errors and the seconds as one JSON line.

  python benchmarks/ssl_updates.py STEPS [SEED]
"""

import json
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from aejax import data  # noqa: E402
from experiments import load  # noqa: E402


def main():
  if len(sys.argv) not in (2, 3):
    raise SystemExit(__doc__)
  steps, seed = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else 0
  q7 = load("q7_gan_tasks")
  cfg = q7.SCHEMA.build(q7.PROFILES.get("default", {}), [f"ssl.steps={steps}"])
  t0 = time.perf_counter()
  row = q7.semi_supervised(cfg, data.load("mnist"), seed)
  print(json.dumps({"steps": steps, "seed": seed, **row, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)


if __name__ == "__main__":
  main()
