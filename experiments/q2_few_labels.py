"""q2: Plenty of unlabeled images, a few labels: how do autoencoders help?

We train an autoencoder (denoising, on every training image, labels unused) once per seed and
reuse its encoder for every labelled subset N in {100, 600, 1000, 3000} (balanced over classes,
drawn by seed; the rest of the training set is the unlabeled set). Four classifiers share one
architecture (the autoencoder's encoder plus a linear head): `scratch` trains it from a random
init on the N labels only; `frozen_probe` keeps the pretrained encoder fixed and trains the head;
`finetune` starts from the pretrained encoder and trains everything; `finetune_consistency`
continues the fine-tuned network on labels plus the unlabeled set, each confident prediction on a
clean unlabeled image becoming the target for the same image shifted and corrupted (FixMatch-style
pseudo-label consistency). Every run has a fixed number of steps: with a few labels there is no
validation set worth the name to early-stop on. Test error on the full test set, mean ± std over seeds.
The published table compared with (Kingma et al. 2014, MNIST) is in answers/q2_few_labels.toml.
"""

import sys

import numpy as np

from aejax import config as C
from aejax import data, experiment, plots, recipes
from aejax.evaluation import image_metrics
from aejax.evaluation.probes import classifier_accuracy
from aejax.models.autoencoder import Autoencoder, ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder
from aejax.models.classifier import EncoderClassifier, with_encoder
from aejax.recipes import train_autoencoder, train_classifier
from aejax.trainer import take_trial

NAME = "q2_few_labels"
QUESTION = ("Suppose you want to train a classifier, and you have plenty of unlabeled training data but only a "
            "few thousand labeled instances. How can autoencoders help? How would you proceed?")

ARMS = ("scratch", "frozen_probe", "finetune", "finetune_consistency")
PLOTTED = ("NN", "CAE", "M1+TSVM", "M1+M2")  # the published rows drawn in the figure (all seven crowd it)

SCHEMA = C.schema(
    dataset=C.choice("mnist", data.KNOWN), seeds=C.integer(3, min=1),
    labels=C.integers((100, 600, 1000, 3000), min=10),  # labelled examples N, balanced over the classes
    train_subset=C.integer(0, min=0), test_subset=C.integer(0, min=0),  # 0: the whole split
    encoder=dict(kind=C.choice("mlp", ("mlp", "conv")), latent=C.integer(64, min=1),
                 hidden=C.integers((512, 256), min=1), conv_features=C.integers((32, 64), min=1)),
    batch_size=C.batch(128), lr=C.real(1e-3, above=0),
    pretrain=dict(steps=C.integer(3000, min=1), loss=C.choice("bce", ("mse", "bce")),
                  noise=C.real(0.0, min=0), dropout=C.real(0.3, min=0, below=1)),
    clf=dict(steps=C.integer(400, min=1), probe_lr=C.real(3e-3, above=0), finetune_from_probe=C.flag(True)),
    consistency=dict(steps=C.integer(1000, min=1), unlabeled_weight=C.real(1.0, min=0),
                     threshold=C.real(0.95, above=0), max_shift=C.integer(2, min=0),
                     strong=dict(noise=C.real(0.3, min=0), dropout=C.real(0.2, min=0, below=1))),
)
PROFILES = {
    "smoke": {"seeds": 1, "labels": (100, 600), "pretrain.steps": 30, "clf.steps": 30, "consistency.steps": 20,
              "train_subset": 2000, "test_subset": 500},
    "paper": {"seeds": 5, "encoder.kind": "conv", "pretrain.steps": 30000, "clf.steps": 2000,
              "consistency.steps": 30000},
}


def check(cfg) -> None:
  # neither bound can be declared on the field: a multiple of the classes, and an inclusive upper bound
  if any(n % 10 for n in cfg.labels):
    raise C.ConfigError(f"config key 'labels' must be multiples of the 10 classes, got {cfg.labels!r}")
  if cfg.consistency.threshold > 1:
    raise C.ConfigError(f"config key 'consistency.threshold' must lie in (0, 1], got {cfg.consistency.threshold!r}")


def head_only(path):
  """The frozen-probe rule for aejax.train.freeze: only the classifier head trains."""
  return "head" in path


def models(enc, image_shape):
  """(autoencoder, classifier) sharing one encoder architecture (`enc`: the config's encoder group)."""
  if enc.kind == "conv":
    encoder = lambda: ConvEncoder(enc.latent, tuple(enc.conv_features))
    decoder = ConvDecoder(tuple(image_shape), tuple(reversed(enc.conv_features)), latent_input=True)
  else:
    encoder = lambda: MLPEncoder(enc.latent, tuple(enc.hidden))
    decoder = MLPDecoder(tuple(image_shape), tuple(reversed(enc.hidden)))
  return Autoencoder(encoder(), decoder), EncoderClassifier(encoder())


def kingma(published: dict, dataset: str) -> dict:
  """Kingma et al.'s table (answers/q2_few_labels.toml) when it is of `dataset`, else {}."""
  table = published.get("kingma_2014", {})
  return table if dataset == table.get("dataset") else {}


def run(cfg, out) -> dict:
  import jax.numpy as jnp
  ds = data.load(cfg.dataset, download=True).head(cfg.train_subset, cfg.test_subset)
  train_x, train_y, test_x, test_y = ds.train_images, ds.train_labels, ds.test_images, ds.test_labels
  ae, clf = models(cfg.encoder, train_x.shape[1:])
  steps = cfg.clf.steps
  fit = dict(batch_size=cfg.batch_size, lr=cfg.lr, steps=steps, log_every=steps)
  c = cfg.consistency
  consistency = dict(unlabeled_weight=c.unlabeled_weight, threshold=c.threshold, max_shift=c.max_shift,
                     noise_std=c.strong.noise, dropout=c.strong.dropout)

  errors = {n: {arm: [] for arm in ARMS} for n in cfg.labels}
  pretrain_mse, confident = [], {n: [] for n in cfg.labels}
  # the expensive part, once per seed: the autoencoder sees every training image, no label; the seeds are
  # trials of one program (vmapped; a conv encoder's one after another in it: benchmarks/RESULTS.md, trials)
  p, seeds = cfg.pretrain, tuple(range(cfg.seeds))
  ae_trials = train_autoencoder(ae, train_x, steps=p.steps, batch_size=cfg.batch_size, lr=cfg.lr, seed=seeds,
                                kind=p.loss, noise_std=p.noise, dropout=p.dropout, name="pretrain", log_every=p.steps,
                                vectorise_trials=cfg.encoder.kind == "mlp")[0].params
  for seed in seeds:
    ae_params = take_trial(ae_trials, seed)
    pretrain_mse.append(float(image_metrics.reconstruction_mse(ae.apply, ae_params, test_x).mean()))
    random_init = recipes.init(clf, seed, jnp.zeros((1, *train_x.shape[1:]), jnp.float32))
    pretrained = with_encoder(random_init, ae_params)
    for n in cfg.labels:
      labelled = data.subset_balanced(train_y, n, seed, ds.num_classes)
      x, y = train_x[labelled], train_y[labelled]
      unlabeled = np.delete(train_x, labelled, axis=0)

      def train(arm, start, **kw):  # one classifier run on these N labels, named by its arm, N and seed
        return train_classifier(clf.apply, start, x, y, seed=seed, name=f"{arm}-n{n}-s{seed}", **{**fit, **kw})

      params = {"scratch": train("scratch", random_init)[0].params}
      params["frozen_probe"] = train("probe", pretrained, trainable=head_only, lr=cfg.clf.probe_lr)[0].params
      # fine-tuning starts from the probe's head (linear probe, then fine-tune): a random head's first
      # gradients would otherwise reshape the pretrained features to fit it
      start = params["frozen_probe"] if cfg.clf.finetune_from_probe else pretrained
      params["finetune"] = train("finetune", start)[0].params
      state, history = train("consistency", params["finetune"], unlabeled=unlabeled, consistency=consistency,
                             steps=c.steps, log_every=c.steps)
      params["finetune_consistency"] = state.params
      confident[n].append(history[-1]["confident_fraction"])
      for arm in ARMS:
        errors[n][arm].append(100.0 * (1.0 - classifier_accuracy(clf.apply, params[arm], test_x, test_y)))

  labels = [str(n) for n in cfg.labels]
  test_error = {str(n): {arm: float(np.mean(v)) for arm, v in errors[n].items()} for n in cfg.labels}
  test_error_std = {str(n): {arm: float(np.std(v)) for arm, v in errors[n].items()} for n in cfg.labels}
  best_arm = {n: min(ARMS, key=lambda a: test_error[n][a]) for n in labels}
  # points of test error below scratch (positive: the arm does better than scratch)
  gain = {n: {arm: test_error[n]["scratch"] - test_error[n][arm] for arm in ARMS[1:]} for n in labels}
  # the best arm's distance to M1+M2, where Kingma et al.'s table is of this data set (None: no figure)
  anchors = kingma(experiment.published(sys.modules[__name__]), cfg.dataset)
  m1m2 = anchors["test_error"]["M1+M2"] if anchors else {}
  distance = {n: test_error[n][best_arm[n]] - m1m2[n] if n in m1m2 else None for n in labels}
  gaps = [d for d in distance.values() if d is not None]

  plots.lines({arm: (list(cfg.labels), [test_error[n][arm] for n in labels]) for arm in ARMS},
              out / "test_error.png", xlabel="labelled examples N (log scale)", ylabel="test error (%)",
              logx=True, logy=True, errors={arm: [test_error_std[n][arm] for n in labels] for arm in ARMS},
              markers={f"{name} ({anchors['cite']}, published)": ([int(n) for n in labels if n in row],
                                                                 [row[n] for n in labels if n in row])
                       for name, row in anchors.get("test_error", {}).items() if name in PLOTTED},
              title=f"{cfg.dataset}: test error vs number of labels ({cfg.seeds} seed(s))")
  return {"data": {**data.describe(cfg.dataset), "train_images": len(train_x), "test_images": len(test_x)},
          "pixel_dim": int(np.prod(train_x.shape[1:])),
          "test_error": test_error, "test_error_std": test_error_std, "best_arm": best_arm,
          "gain_over_scratch": gain,
          "finetune_beats_scratch": {n: test_error[n]["finetune"] < test_error[n]["scratch"] for n in labels},
          "finetune_gain_larger_with_fewest_labels": gain[labels[0]]["finetune"] > gain[labels[-1]]["finetune"],
          "frozen_probe_worse_than_scratch": [n for n in labels if gain[n]["frozen_probe"] < 0],
          "best_minus_m1m2_points": distance, "best_minus_m1m2_range": [min(gaps), max(gaps)] if gaps else None,
          "pretrain_recon_mse_test": float(np.mean(pretrain_mse)),
          "confident_fraction": {str(n): float(np.mean(v)) for n, v in confident.items()},
          "per_seed": {str(n): errors[n] for n in cfg.labels}}


def findings(metrics: dict, published: dict, results) -> dict:
  """Whether Kingma et al.'s table is of this run's data set, and the N at which finetune misses scratch."""
  return {"anchors": bool(kingma(published, metrics["_meta"]["config"]["dataset"])),
          "finetune_missed": [n for n in metrics["test_error"] if not metrics["finetune_beats_scratch"][n]]}
