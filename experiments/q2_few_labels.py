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
"""

import numpy as np

from aejax import data, plots, recipes, report
from aejax.evaluation import image_metrics
from aejax.evaluation.probes import classifier_accuracy
from aejax.models.autoencoder import Autoencoder, ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder
from aejax.models.classifier import EncoderClassifier, with_encoder
from aejax.recipes import train_autoencoder, train_classifier

NAME = "q2_few_labels"
QUESTION = ("Suppose you want to train a classifier, and you have plenty of unlabeled training data but only a "
            "few thousand labeled instances. How can autoencoders help? How would you proceed?")

ARMS = ("scratch", "frozen_probe", "finetune", "finetune_consistency")

# Published numbers (not measured here): Kingma, Rezende, Mohamed, Welling, "Semi-supervised Learning
# with Deep Generative Models", NeurIPS 2014, Table 1 -- MNIST test error (%) by number of labels,
# labels balanced over classes, the rest of a 50k training set unlabeled. None: not reported.
KINGMA_2014 = {
    "NN": {100: 25.80, 600: 11.44, 1000: 10.7, 3000: 6.04},
    "CNN": {100: 22.98, 600: 7.68, 1000: 6.45, 3000: 3.35},
    "CAE": {100: 13.47, 600: 6.3, 1000: 4.77, 3000: 3.22},
    "MTC": {100: 12.03, 600: 5.13, 1000: 3.64, 3000: 2.57},
    "M1+TSVM": {100: 11.82, 600: 5.72, 1000: 4.24, 3000: 3.49},
    "M2": {100: 11.97, 600: 4.94, 1000: 3.60, 3000: 3.92},
    "M1+M2": {100: 3.33, 600: 2.59, 1000: 2.40, 3000: 2.18},
}
KINGMA_2014_SOURCE = "Kingma et al. 2014, Table 1"


def head_only(path):
  """The frozen-probe rule for aejax.train.freeze: only the classifier head trains."""
  return "head" in path


def config(profile: str) -> dict:
  cfg = {"dataset": "mnist", "seeds": 3, "labels": (100, 600, 1000, 3000), "encoder": "mlp", "latent": 64,
         "hidden": (512, 256), "conv_features": (32, 64), "pretrain_steps": 3000, "pretrain_loss": "bce",
         "pretrain_noise": 0.0, "pretrain_dropout": 0.3, "finetune_from_probe": True,
         "batch_size": 128, "lr": 1e-3, "probe_lr": 3e-3, "clf_steps": 400, "consistency_steps": 1000,
         "unlabeled_weight": 1.0, "threshold": 0.95, "max_shift": 2, "strong_noise": 0.3,
         "strong_dropout": 0.2, "train_subset": 0, "test_subset": 0}
  if profile == "smoke":
    cfg.update(seeds=1, labels=(100, 600), pretrain_steps=30, clf_steps=30, consistency_steps=20,
               train_subset=2000, test_subset=500)
  elif profile == "paper":
    cfg.update(seeds=5, encoder="conv", pretrain_steps=30000, clf_steps=2000, consistency_steps=30000)
  return cfg


def check(cfg: dict) -> None:
  from aejax.config import ConfigError
  if cfg["encoder"] not in ("mlp", "conv"):
    raise ConfigError(f"config key 'encoder' must be 'mlp' or 'conv', got {cfg['encoder']!r}")
  if any(n <= 0 or n % 10 for n in cfg["labels"]):
    raise ConfigError(f"config key 'labels' must be positive multiples of the 10 classes, got {cfg['labels']!r}")
  if cfg["pretrain_loss"] not in ("mse", "bce"):
    raise ConfigError(f"config key 'pretrain_loss' must be 'mse' or 'bce', got {cfg['pretrain_loss']!r}")
  if not 0 < cfg["threshold"] <= 1:
    raise ConfigError(f"config key 'threshold' must lie in (0, 1], got {cfg['threshold']!r}")


def models(cfg, image_shape):
  """(autoencoder, classifier) sharing one encoder architecture."""
  if cfg["encoder"] == "conv":
    encoder = lambda: ConvEncoder(cfg["latent"], tuple(cfg["conv_features"]))
    decoder = ConvDecoder(tuple(image_shape), tuple(reversed(cfg["conv_features"])), latent_input=True)
  else:
    encoder = lambda: MLPEncoder(cfg["latent"], tuple(cfg["hidden"]))
    decoder = MLPDecoder(tuple(image_shape), tuple(reversed(cfg["hidden"])))
  return Autoencoder(encoder(), decoder), EncoderClassifier(encoder())


def run(cfg: dict, out) -> dict:
  import jax
  import jax.numpy as jnp
  ds = data.load(cfg["dataset"], download=True).head(cfg["train_subset"], cfg["test_subset"])
  train_x, train_y, test_x, test_y = ds.train_images, ds.train_labels, ds.test_images, ds.test_labels
  ae, clf = models(cfg, train_x.shape[1:])
  fit = dict(batch_size=cfg["batch_size"], lr=cfg["lr"], steps=cfg["clf_steps"], log_every=cfg["clf_steps"])
  consistency = dict(unlabeled_weight=cfg["unlabeled_weight"], threshold=cfg["threshold"],
                     max_shift=cfg["max_shift"], noise_std=cfg["strong_noise"], dropout=cfg["strong_dropout"])

  errors = {n: {arm: [] for arm in ARMS} for n in cfg["labels"]}
  pretrain_mse, confident = [], {n: [] for n in cfg["labels"]}
  for seed in range(cfg["seeds"]):
    # the expensive part, once per seed: the autoencoder sees every training image, no label
    ae_params, _ = train_autoencoder(ae, train_x, steps=cfg["pretrain_steps"], batch_size=cfg["batch_size"],
                                     lr=cfg["lr"], seed=seed, kind=cfg["pretrain_loss"],
                                     noise_std=cfg["pretrain_noise"], dropout=cfg["pretrain_dropout"],
                                     desc=f"q2 pretrain s{seed}", log_every=cfg["pretrain_steps"])
    pretrain_mse.append(float(image_metrics.reconstruction_mse(ae.apply, ae_params, test_x).mean()))
    random_init = recipes.init(clf, seed, jnp.zeros((1, *train_x.shape[1:]), jnp.float32))
    pretrained = with_encoder(random_init, ae_params)
    for n in cfg["labels"]:
      labelled = data.subset_balanced(train_y, n, seed, ds.num_classes)
      x, y = train_x[labelled], train_y[labelled]
      unlabeled = np.delete(train_x, labelled, axis=0)
      params = {"scratch": train_classifier(clf.apply, random_init, x, y, seed=seed, desc=f"q2 scratch N={n}", **fit)[0]}
      params["frozen_probe"] = train_classifier(clf.apply, pretrained, x, y, seed=seed, trainable=head_only,
                                                desc=f"q2 probe N={n}", **{**fit, "lr": cfg["probe_lr"]})[0]
      # fine-tuning starts from the probe's head (linear probe, then fine-tune): a random head's first
      # gradients would otherwise reshape the pretrained features to fit it
      start = params["frozen_probe"] if cfg["finetune_from_probe"] else pretrained
      params["finetune"] = train_classifier(clf.apply, start, x, y, seed=seed, desc=f"q2 finetune N={n}", **fit)[0]
      params["finetune_consistency"], history = train_classifier(
          clf.apply, params["finetune"], x, y, seed=seed, unlabeled=unlabeled, consistency=consistency,
          desc=f"q2 consistency N={n}", **{**fit, "steps": cfg["consistency_steps"],
                                           "log_every": cfg["consistency_steps"]})
      confident[n].append(history[-1]["confident_fraction"])
      for arm in ARMS:
        errors[n][arm].append(100.0 * (1.0 - classifier_accuracy(clf.apply, params[arm], test_x, test_y)))

  labels = [str(n) for n in cfg["labels"]]
  test_error = {str(n): {arm: float(np.mean(v)) for arm, v in errors[n].items()} for n in cfg["labels"]}
  test_error_std = {str(n): {arm: float(np.std(v)) for arm, v in errors[n].items()} for n in cfg["labels"]}
  best_arm = {n: min(ARMS, key=lambda a: test_error[n][a]) for n in labels}
  # the published anchors are MNIST numbers (None: no anchors for this data set)
  anchors = ({"source": KINGMA_2014_SOURCE, "train_images": 50000,
              "test_error": {name: {str(n): v for n, v in row.items()} for name, row in KINGMA_2014.items()}}
             if cfg["dataset"] == "mnist" else None)
  m1m2 = anchors["test_error"]["M1+M2"] if anchors else {}
  distance = {n: test_error[n][best_arm[n]] - m1m2[n] if n in m1m2 else None for n in labels}
  gaps = [d for d in distance.values() if d is not None]
  # points of test error below scratch (positive: the arm does better than scratch)
  gain = {n: {arm: test_error[n]["scratch"] - test_error[n][arm] for arm in ARMS[1:]} for n in labels}

  plots.lines({arm: (list(cfg["labels"]), [test_error[n][arm] for n in labels]) for arm in ARMS},
              out / "test_error.png", xlabel="labelled examples N (log scale)", ylabel="test error (%)",
              logx=True, logy=True, errors={arm: [test_error_std[n][arm] for n in labels] for arm in ARMS},
              markers={f"{name} (Kingma et al. 2014, published)": ([int(n) for n in labels if n in row],
                                                                  [row[n] for n in labels if n in row])
                       for name, row in (anchors["test_error"] if anchors else {}).items()
                       if name in ("NN", "CAE", "M1+TSVM", "M1+M2")},
              title=f"{cfg['dataset']}: test error vs number of labels ({cfg['seeds']} seed(s))")
  return {"data": {**data.describe(cfg["dataset"]), "train_images": len(train_x), "test_images": len(test_x)},
          "pixel_dim": int(np.prod(train_x.shape[1:])),
          "test_error": test_error, "test_error_std": test_error_std, "best_arm": best_arm,
          "gain_over_scratch": gain,
          "finetune_beats_scratch": {n: test_error[n]["finetune"] < test_error[n]["scratch"] for n in labels},
          "finetune_gain_larger_with_fewest_labels": gain[labels[0]]["finetune"] > gain[labels[-1]]["finetune"],
          "frozen_probe_worse_than_scratch": [n for n in labels if gain[n]["frozen_probe"] < 0],
          "anchors": anchors, "best_minus_m1m2_points": distance,
          "best_minus_m1m2_range": [min(gaps), max(gaps)] if gaps else None,
          "pretrain_recon_mse_test": float(np.mean(pretrain_mse)),
          "confident_fraction": {str(n): float(np.mean(v)) for n, v in confident.items()},
          "per_seed": {str(n): errors[n] for n in cfg["labels"]}}


def answer(metrics: dict) -> str:
  """answer.md's body, from metrics.json alone."""
  m, cfg = metrics, metrics["_meta"]["config"]
  d, err, gain, anchors = m["data"], m["test_error"], m["gain_over_scratch"], m["anchors"]
  labels = list(err)
  small, large = labels[0], labels[-1]
  n_train = d["train_images"]
  published = anchors["test_error"] if anchors else {}
  table = report.table(
      ["labels N"] + [f"{arm} (measured)" for arm in ARMS] + [f"{a} (published)" for a in published],
      [[n] + [report.pm({a: err[n][a], a + "_std": m["test_error_std"][n][a]}, a, digits=4) for a in ARMS]
       + [row.get(n) for row in published.values()] for n in labels])

  def best_vs_m1m2(n):
    best = m["best_arm"][n]
    if m["best_minus_m1m2_points"][n] is None:
      return f"N={n}: {best} {err[n][best]:.2f}% (no published M1+M2 figure for this N and data set)"
    return (f"N={n}: {best} {err[n][best]:.2f}% vs M1+M2 {published['M1+M2'][n]}% "
            f"({m['best_minus_m1m2_points'][n]:+.2f} points)")

  missed = [n for n in labels if not m["finetune_beats_scratch"][n]]
  target = ("**met**: finetune has a lower mean test error than scratch at every N" if not missed else
            "**missed** at N = " + ", ".join(missed) + " (" + "; ".join(
                f"N={n}: finetune {err[n]['finetune']:.2f}% vs scratch {err[n]['scratch']:.2f}%" for n in missed) + ")")
  hidden = "-".join(map(str, cfg["hidden"]))
  arch = (f"conv encoder {tuple(cfg['conv_features'])} → {cfg['latent']}" if cfg["encoder"] == "conv"
          else f"MLP encoder {m['pixel_dim']}-{hidden}-{cfg['latent']}")
  published_note = (f"The published columns are {anchors['source']} (their protocol: {anchors['train_images']} training "
                    f"images, the rest unlabeled; ours: {n_train}); they are not measured here." if anchors else
                    f"The published anchors (Kingma et al. 2014) are MNIST numbers and are not shown for {d['name']}.")
  trend = ("the fewer the labels, the more the pretraining matters" if m["finetune_gain_larger_with_fewest_labels"]
           else "here the gain does not shrink as labels grow")
  probe_worse = m["frozen_probe_worse_than_scratch"]
  probe_verdict = (f"worse than scratch at N = {', '.join(probe_worse)}: the reconstruction code alone is not "
                   "linearly separable enough, fine-tuning is needed" if probe_worse
                   else "better than scratch at every N")
  gaps = m["best_minus_m1m2_range"]
  m1m2_verdict = (f"not compared: the published anchors are MNIST numbers and this run is {d['name']}" if not anchors
                  else "not compared (no published N here)" if gaps is None
                  else f"ahead of our best arm by {gaps[0]:.2f} to {gaps[1]:.2f} points" if gaps[0] > 0
                  else f"not ahead of our best arm at every N (best arm minus M1+M2: {gaps[0]:+.2f} to {gaps[1]:+.2f} points)")
  per_n = lambda fmt: ", ".join(f"N={n}: {fmt(n)}" for n in labels)
  four = lambda n: " / ".join(f"{err[n][a]:.2f}" for a in ARMS)
  start = ("the frozen probe (pretrained encoder + its trained head)" if cfg["finetune_from_probe"]
           else "the pretrained encoder and a random head")
  return f"""
**Short answer.** Pretrain an autoencoder on all {n_train} images without their labels, put a classifier head on its
encoder, fine-tune the whole network on the labelled few, and keep using the unlabeled images while fine-tuning
(pseudo-label consistency). On {d['what']} ({d['name']}) with N={small} labels, the test error here is
{err[small]['scratch']:.2f}% trained from scratch, {err[small]['finetune']:.2f}% fine-tuned from the pretrained
encoder, and {err[small]['finetune_consistency']:.2f}% when fine-tuning also uses the unlabeled images.

**Setup.** {d['name']} ({d['what']}), {n_train} training images (all used, unlabeled, to pretrain), {d['test_images']}
test images. Classifier for every arm: {arch} (linear code) + linear head. Pretraining: denoising autoencoder
(Gaussian noise σ={cfg['pretrain_noise']}, masking noise {cfg['pretrain_dropout']}, {cfg['pretrain_loss'].upper()} loss;
test reconstruction MSE {report.num(m['pretrain_recon_mse_test'])}),
{cfg['pretrain_steps']} Adam steps, batch {cfg['batch_size']}, lr {cfg['lr']}; trained once per seed and reused
for all N and arms. scratch / finetune: {cfg['clf_steps']} Adam steps (lr {cfg['lr']}, batch min({cfg['batch_size']}, N));
frozen_probe: the same steps on the head only (lr {cfg['probe_lr']}); finetune starts from {start};
finetune_consistency: the fine-tuned network,
then {cfg['consistency_steps']} steps of labelled cross-entropy plus pseudo-label consistency on the unlabeled rest
(threshold {cfg['threshold']}, weight {cfg['unlabeled_weight']}; strong view = shift ≤{cfg['max_shift']} px, noise
σ={cfg['strong_noise']}, masking {cfg['strong_dropout']}; labelled images shifted too). Fixed step counts, no early
stopping, no validation set. Labelled subsets balanced, drawn by seed. Test error (%), mean ± std over
{cfg['seeds']} seed(s). {published_note}

{table}

![test error vs N](test_error.png)

Fraction of unlabeled images confident enough to be used at the end of consistency training:
{per_n(lambda n: f"{m['confident_fraction'][n]:.2f}")}.

**Target (finetune beats scratch at every N)**: {target}.
Gains over scratch (points of test error, positive = lower error than scratch):
finetune {per_n(lambda n: f"{gain[n]['finetune']:+.2f}")};
frozen_probe {per_n(lambda n: f"{gain[n]['frozen_probe']:+.2f}")}.

**Distance of the best arm to M1+M2** (published): {'; '.join(best_vs_m1m2(n) for n in labels)}.

**How autoencoders help, from these numbers.** An autoencoder learns from the images alone, so all
{n_train} training images shape the encoder, not only the N labelled ones. With N={small} labels, training
the classifier from scratch gives {err[small]['scratch']:.2f}% error; a linear head on the frozen pretrained
encoder gives {err[small]['frozen_probe']:.2f}%, fine-tuning the pretrained encoder {err[small]['finetune']:.2f}%,
and continuing on the unlabeled images with pseudo-label consistency {err[small]['finetune_consistency']:.2f}%.
At N={large} the same four read {four(large)}%. Fine-tuning gains {gain[small]['finetune']:+.2f} points at N={small}
and {gain[large]['finetune']:+.2f} at N={large}; {trend}.

**How to proceed.** (1) Train an autoencoder on all images, labelled or not, with an objective it
cannot meet by copying (here a denoising one). (2) Put a classifier head on its encoder; a frozen probe
is the cheap check that the codes carry the classes (here it is {probe_verdict}).
(3) Fine-tune the whole network on the labelled set, with a fixed budget (few labels leave no honest
validation set). (4) Keep using the unlabeled data while fine-tuning: confident predictions on clean
images as targets for perturbed copies (this arm also sees shifted labelled images, which the
others do not; its gain is that of the unlabeled term and the augmentation together). Best arm per N:
{per_n(lambda n: m['best_arm'][n])}.
Kingma et al.'s M1+M2 (a VAE's latent feeding a label-conditional VAE) is {m1m2_verdict}.
"""
