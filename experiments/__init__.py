"""One module per question of the seed assignment, in order (see aejax.experiment for the contract).

The registry lives here, with the experiments: the library (aejax/) never imports them.
"""

import importlib

from aejax.config import ConfigError

EXPERIMENTS = [
    "q1_uses",
    "q2_few_labels",
    "q3_evaluation",
    "q4_completeness",
    "q5_tied_weights",
    "q6_vae",
    "q7_gan_tasks",
    "q8_gan_difficulties",
]


def load(key: str):
  """Experiment module by key: "q3" or its full name "q3_evaluation"."""
  matches = [name for name in EXPERIMENTS if name == key or name.split("_")[0] == key]
  if not matches:
    raise ConfigError(f"unknown experiment {key!r}; choose one of: " + ", ".join(n.split("_")[0] for n in EXPERIMENTS))
  return importlib.import_module(f"experiments.{matches[0]}")
