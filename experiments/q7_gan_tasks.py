"""q7: What is a GAN? Can you name a few tasks where GANs can shine?

A DCGAN learns to sample images (measured by Frechet distance and classifier score in the space of a
pretrained CNN, against the floor fd(train, test)); a class-conditional GAN trained on the few
labelled images adds generated examples to a few-label classifier's training set; the unconditional
generator inpaints a hidden centre square by latent search, and its discriminator is tried as an
out-of-distribution scorer.
"""

import json

import jax
import numpy as np

from aejax import data, plots, recipes, report
from aejax.config import ConfigError
from aejax.evaluation import classifier, fd, image_metrics, inpainting, mean_std
from aejax.models import gan
from aejax.models.classifier import CNN

NAME = "q7_gan_tasks"
QUESTION = "What is a GAN? Can you name a few tasks where GANs can shine?"

OTHER = {"mnist": "fashion_mnist", "fashion_mnist": "mnist"}

# Published reference: Kingma et al. 2014, Table 1, test error (%) of a CNN on labelled examples only.
CNN_ANCHOR = {100: 22.98, 1000: 6.45}
CNN_ANCHOR_SOURCE = "Kingma et al. 2014, Table 1"
# What the DCGAN on the main data set should reach in the space of aejax's classifier.
TARGETS = {"classifier_score_min": 9.0, "fd_max": 10.0}
# From this AUROC on, the discriminator counts as an out-of-distribution scorer here.
OOD_AUROC_MIN = 0.9
TB_SAMPLES = 16  # generated images drawn in TensorBoard at each log point
# Semi-supervised classification with the discriminator, MNIST with 100 labels: published test error (%).
SSL_ANCHORS = {"salimans_pct": 0.93, "salimans_source": "Salimans et al. 2016, Table 1 (feature matching)",
               "reproduction_pct": 1.5, "reproduction_source": "ImprovedGAN-pytorch, 100 epochs"}
SSL_AIM_PCT = 2.0  # what the default profile aims at


@jax.jit
def _argmax(logits):
  return logits.argmax(-1)


def _ssl_predict(d, params, images, batch: int = 1000):
  """Class predictions of the semi-supervised discriminator (no noise), in fixed-size chunks."""
  x = images.astype(np.float32) / 255.0
  return np.concatenate([np.asarray(_argmax(d.apply(params, x[i:i + batch])[0])) for i in range(0, len(x), batch)])


def config(profile: str) -> dict:
  cfg = {
      "dataset": "mnist", "other_dataset": True,  # also train a DCGAN on the other 28x28 set
      "seeds": 3,
      # DCGAN (unconditional), one per data set
      "latent": 64, "gan_base": 32, "gan_steps": 3000, "gan_batch": 128, "gan_lr": 1e-3, "gan_beta1": 0.5,
      "classifier_steps": classifier.DEFAULT_STEPS, "eval_samples": 10000,
      # augmentation in the few-label setting
      "aug_labels": (100, 1000), "aug_gan_base": 16, "aug_gan_steps": 600, "aug_generated": 5000,
      "aug_steps": 200, "aug_batch": 64, "aug_lr": 1e-3, "aug_test_images": 10000,
      # inpainting by latent search, a centre square hidden
      "inpaint_images": 200, "inpaint_steps": 150, "inpaint_lr": 0.05, "inpaint_hole": 14,
      # semi-supervised GAN (Salimans et al. 2016): the discriminator is a classifier; 100 labels,
      # every training image unlabeled; Adam lr 3e-3, beta1 0.5, batches of 100 labelled + 100 unlabeled
      "ssl_labels": 100, "ssl_seeds": 1, "ssl_steps": 5000, "ssl_batch": 100, "ssl_lr": 3e-3, "ssl_latent": 100,
      "ssl_d_hidden": (1000, 500, 250, 250, 250), "ssl_g_hidden": (500, 500),
  }
  if profile == "smoke":
    cfg.update(seeds=1, other_dataset=False, gan_base=8, gan_steps=20, classifier_steps=20, eval_samples=300,
               aug_gan_base=8, aug_gan_steps=10, aug_generated=200, aug_steps=10, aug_test_images=500, inpaint_images=20,
               inpaint_steps=5, ssl_steps=20, ssl_d_hidden=(64, 32), ssl_g_hidden=(32,))
  elif profile == "paper":
    cfg.update(gan_base=64, gan_steps=20000, eval_samples=10000, aug_gan_base=64, aug_gan_steps=5000,
               aug_generated=20000, aug_steps=2000, inpaint_images=1000, inpaint_steps=1000,
               ssl_seeds=3, ssl_steps=60000)  # 100 epochs of the 60k unlabeled images, as the reproduction
  return cfg


def check(cfg: dict) -> None:
  if cfg["dataset"] not in OTHER:
    raise ConfigError(f"q7 uses 28x28 grey data sets: dataset must be one of {', '.join(OTHER)}")
  if not 0 <= cfg["gan_beta1"] < 1:
    raise ConfigError(f"gan_beta1 must be in [0, 1), got {cfg['gan_beta1']}")
  if any(n % 10 for n in cfg["aug_labels"]):
    raise ConfigError(f"aug_labels must be multiples of the 10 classes, got {cfg['aug_labels']}")
  if not 0 < cfg["inpaint_hole"] < 28:
    raise ConfigError(f"inpaint_hole must be in 1..27, got {cfg['inpaint_hole']}")


def to_uint8(x):
  return np.clip(np.round(np.asarray(x) * 255), 0, 255).astype(np.uint8)


def dcgan(cfg, name, seed=0):
  """Train the DCGAN on `name` and measure it against the floor fd(train, test)."""
  ds, clf = data.load(name), classifier.pretrained(name, steps=cfg["classifier_steps"])
  g, d = gan.DCGANGenerator(base=cfg["gan_base"]), gan.DCGANDiscriminator(base=cfg["gan_base"])

  def eval_fn(state):  # TensorBoard only: the same latents at every log point
    return {"images": gan.generate(g.apply, state.g.params, TB_SAMPLES, cfg["latent"], seed=seed + 2)}

  state, history = recipes.train_gan(g, d, ds.train_images, latent=cfg["latent"], steps=cfg["gan_steps"],
                                     batch_size=cfg["gan_batch"], lr=cfg["gan_lr"], beta1=cfg["gan_beta1"],
                                     decay_steps=cfg["gan_steps"], alpha=0.0, seed=seed, desc=f"dcgan {name}", log_every=max(1, cfg["gan_steps"] // 10),
                                     eval_fn=eval_fn)
  n = cfg["eval_samples"]
  samples = gan.generate(g.apply, state.g.params, n, cfg["latent"], seed=seed + 1)
  train_ref = ds.train_images[np.random.default_rng(seed).choice(len(ds.train_images), n, replace=False)]
  test_feats, train_feats = clf.features(ds.test_images[:n]), clf.features(train_ref)
  metrics = {
      "fd": fd.frechet_distance(clf.features(samples), test_feats),
      "classifier_score": fd.classifier_score(clf.logits(samples)),
      "fd_floor": fd.frechet_distance(train_feats, test_feats),
      "classifier_score_test": fd.classifier_score(clf.logits(ds.test_images[:n])),
      "classifier_test_acc": clf.test_acc,
      "d_loss_final": history[-1]["d_loss"], "g_loss_final": history[-1]["g_loss"],
  }
  return metrics, {"g": g, "d": d, "state": state, "samples": samples, "ds": ds, "clf": clf}


def augmentation(cfg, ds, clf, n_labels, seed):
  """Test error of the CNN trained on n_labels examples, without and with cGAN samples."""
  idx = data.subset_balanced(ds.train_labels, n_labels, seed)
  x, y = ds.train_images[idx], ds.train_labels[idx]

  test_x, test_y = ds.test_images[:cfg["aug_test_images"]], ds.test_labels[:cfg["aug_test_images"]]
  model = CNN(num_classes=ds.num_classes)
  init = recipes.init(model, seed, np.zeros((1, *x.shape[1:]), np.float32))

  def test_error(images, labels):
    params, _ = recipes.train_classifier(model.apply, init, images, labels, steps=cfg["aug_steps"],
                                         batch_size=cfg["aug_batch"], lr=cfg["aug_lr"], seed=seed,
                                         desc=f"few-label CNN {n_labels}", log_every=cfg["aug_steps"])
    clf_ = classifier.Classifier(model, params, 0.0, ds.name)
    return 1.0 - classifier.accuracy(clf_, test_x, test_y)

  g = gan.DCGANGenerator(base=cfg["aug_gan_base"], num_classes=ds.num_classes)
  d = gan.DCGANDiscriminator(base=cfg["aug_gan_base"], num_classes=ds.num_classes)
  state, _ = recipes.train_gan(g, d, x, labels=y, latent=cfg["latent"], steps=cfg["aug_gan_steps"],
                               batch_size=min(cfg["gan_batch"], n_labels), lr=cfg["gan_lr"],
                               beta1=cfg["gan_beta1"], seed=seed, desc=f"cGAN {n_labels} labels",
                               log_every=cfg["aug_gan_steps"])
  gen_y = (np.arange(cfg["aug_generated"]) % ds.num_classes).astype(np.int32)
  gen_x = to_uint8(gan.generate(g.apply, state.g.params, len(gen_y), cfg["latent"], seed=seed + 7, labels=gen_y))
  tile = np.arange(len(gen_y)) % n_labels  # half real (repeated), half generated
  row = {"without": test_error(x, y),
         "with_gan": test_error(np.concatenate([x[tile], gen_x]), np.concatenate([y[tile], gen_y])),
         # does the pretrained classifier agree with the label the cGAN was asked for?
         "cgan_label_acc": float(np.mean(clf.predict(gen_x) == gen_y))}
  return row, gen_x[:10 * ds.num_classes]


def inpaint(cfg, parts):
  """Hide the centre square of test images; fill it by latent search in the DCGAN, or by the mean image."""
  ds, clf, g = parts["ds"], parts["clf"], parts["g"]
  x = ds.test_images[:cfg["inpaint_images"]].astype(np.float32) / 255.0
  y = ds.test_labels[:cfg["inpaint_images"]]
  mask = inpainting.center_mask(x.shape[1:], cfg["inpaint_hole"])
  filled, curve = inpainting.inpaint(g.apply, parts["state"].g.params, x, mask, latent=cfg["latent"],
                                     steps=cfg["inpaint_steps"], lr=cfg["inpaint_lr"])
  mean_fill = mask * x + (1 - mask) * (ds.train_images.mean(0) / 255.0)
  acc = lambda imgs: float(np.mean(clf.predict(imgs) == y))
  metrics = {"hole_psnr_gan": float(inpainting.hole_psnr(x, filled, mask).mean()),
             "hole_psnr_mean_fill": float(inpainting.hole_psnr(x, mean_fill, mask).mean()),
             "acc_gan": acc(filled), "acc_mean_fill": acc(mean_fill), "acc_hole_zero": acc(mask * x),
             "acc_original": acc(x), "visible_mse_start": float(curve[0]), "visible_mse_end": float(curve[-1])}
  return metrics, [x[:10], mask * x[:10], filled[:10], mean_fill[:10]]


def semi_supervised(cfg, ds, seed):
  """Test error (%) of the semi-supervised GAN's discriminator with ssl_labels labels."""
  idx = data.subset_balanced(ds.train_labels, cfg["ssl_labels"], seed)
  g = gan.MLPGenerator(out_dim=int(np.prod(ds.train_images.shape[1:])), hidden=cfg["ssl_g_hidden"], batch_norm=True)
  d = gan.SemiSupervisedDiscriminator(hidden=cfg["ssl_d_hidden"], num_classes=ds.num_classes)
  shape = ds.train_images.shape[1:]

  def eval_fn(state):  # TensorBoard only
    x = gan.generate(g.apply, state.g.params, TB_SAMPLES, cfg["ssl_latent"], seed=seed + 3)
    return {"images": x.reshape((-1, *shape))}

  state, history = recipes.train_semi_supervised_gan(
      g, d, ds.train_images[idx], ds.train_labels[idx], ds.train_images, latent=cfg["ssl_latent"],
      steps=cfg["ssl_steps"], batch_size=cfg["ssl_batch"], lr=cfg["ssl_lr"], seed=seed, decay_steps=cfg["ssl_steps"],
      alpha=0.0, desc=f"semi-supervised GAN {cfg['ssl_labels']} labels s{seed}",
      log_every=max(1, cfg["ssl_steps"] // 5), eval_fn=eval_fn)
  pred = _ssl_predict(d, state.d.params, ds.test_images)
  samples = gan.generate(g.apply, state.g.params, 10, cfg["ssl_latent"], seed=seed + 4).reshape((-1, *shape))
  return {"test_error_pct": float(100 * np.mean(pred != ds.test_labels)),
          "train_acc_final": history[-1]["train_acc"]}, samples


def q2_best(out, n_labels: int):
  """q2's best arm and its test error (%) at n_labels, read from q2's metrics.json beside this experiment's
  output (None when q2 has not run there)."""
  path = out.parent / "q2_few_labels" / "metrics.json"
  if not path.exists():
    return None
  m = json.loads(path.read_text())
  n = str(n_labels)
  if n not in m.get("best_arm", {}):
    return None
  arm = m["best_arm"][n]
  return {"arm": arm, "test_error_pct": m["test_error"][n][arm], "profile": m["_meta"]["profile"]}


def run(cfg: dict, out) -> dict:
  names = [cfg["dataset"]] + ([OTHER[cfg["dataset"]]] if cfg["other_dataset"] else [])
  results, parts, grid, titles = {}, {}, [], []
  for name in names:
    results[name], parts[name] = dcgan(cfg, name)
    samples = parts[name]["samples"]
    grid += [samples[i * 10:(i + 1) * 10] for i in range(3)] + [parts[name]["ds"].test_images[:10]]
    titles += [f"{name}: DCGAN samples"] * 3 + [f"{name}: real test images"]
  plots.image_grid(grid, out / "samples.png", row_titles=titles, title="DCGAN samples and real images")

  main = parts[cfg["dataset"]]
  anomaly = {}
  if cfg["other_dataset"]:  # D(x) as a normality score: own test set (normal) vs the other set
    other = parts[names[1]]["ds"].test_images[:cfg["eval_samples"]]
    own = main["ds"].test_images[:cfg["eval_samples"]]
    d_apply = lambda x: np.asarray(main["d"].apply(main["state"].d.params, x.astype(np.float32) / 255.0))
    scores = np.concatenate([d_apply(own), d_apply(other)])
    anomaly = {"d_auroc": image_metrics.auroc(-scores, np.r_[np.zeros(len(own)), np.ones(len(other))])}

  aug, aug_rows = {}, []
  for n_labels in cfg["aug_labels"]:
    rows = []
    for seed in range(cfg["seeds"]):
      row, gen = augmentation(cfg, main["ds"], main["clf"], n_labels, seed)
      rows.append(row)
    aug[str(n_labels)] = mean_std(rows)
    aug_rows += [gen[c::main["ds"].num_classes][:10] for c in range(min(3, main["ds"].num_classes))]
  plots.image_grid(aug_rows, out / "cgan_samples.png",
                   row_titles=[f"cGAN, {n} labels, class {c}" for n in cfg["aug_labels"] for c in range(3)],
                   title="class-conditional GAN samples used for augmentation (seed of the last run)")

  inp, inp_rows = inpaint(cfg, main)
  plots.image_grid(inp_rows, out / "inpainting.png",
                   row_titles=["original", "centre hidden", "DCGAN latent search", "mean-image fill"],
                   title=f"inpainting a {cfg['inpaint_hole']}x{cfg['inpaint_hole']} centre square")

  ssl_rows = []
  for seed in range(cfg["ssl_seeds"]):
    row, _ = semi_supervised(cfg, main["ds"], seed)
    ssl_rows.append(row)
  ssl = {**mean_std(ssl_rows), "per_seed": ssl_rows, "q2_best": q2_best(out, cfg["ssl_labels"])}

  mnist = cfg["dataset"] == "mnist"  # the published few-label CNN numbers are MNIST numbers
  return {"dcgan": results, "augmentation": {"test_error": aug}, "inpainting": inp, "anomaly": anomaly,
          "semi_supervised": ssl, "ssl_anchors": SSL_ANCHORS if mnist and cfg["ssl_labels"] == 100 else None,
          "ssl_aim_pct": SSL_AIM_PCT,
          "findings": {**findings(cfg, results, aug, inp, anomaly), **ssl_findings(ssl)},
          "targets": TARGETS,
          "anchors": {"source": CNN_ANCHOR_SOURCE,
                      "cnn_labels_only_test_error_pct": {str(n): v for n, v in CNN_ANCHOR.items()}} if mnist else {},
          "data": data.describe(cfg["dataset"]),
          "other_data": data.describe(OTHER[cfg["dataset"]]) if cfg["other_dataset"] else None,
          "protocol": {"num_classes": main["ds"].num_classes, "ood_auroc_min": OOD_AUROC_MIN, "chance_auroc": 0.5,
                       "gan_source": "Goodfellow et al. 2014", "tb_samples": TB_SAMPLES}}


def ssl_findings(ssl) -> dict:
  """The semi-supervised GAN against q2's best arm (when q2 ran beside it) and the aim."""
  q2 = ssl["q2_best"]
  return {"ssl_beats_q2": None if q2 is None else ssl["test_error_pct"] < q2["test_error_pct"],
          "ssl_minus_q2_points": None if q2 is None else ssl["test_error_pct"] - q2["test_error_pct"],
          "ssl_aim_met": ssl["test_error_pct"] <= SSL_AIM_PCT}


def findings(cfg, dcgan_results, aug, inp, anomaly) -> dict:
  """What the answer states, computed from the measurements: each target met or missed and by how
  much, and whether each task worked in this run."""
  main = dcgan_results[cfg["dataset"]]
  helps = {n: r["with_gan"] < r["without"] for n, r in aug.items()}
  return {
      "fd_over_floor": main["fd"] / max(main["fd_floor"], 1e-12),
      "classifier_score_met": main["classifier_score"] >= TARGETS["classifier_score_min"],
      "classifier_score_short_by": TARGETS["classifier_score_min"] - main["classifier_score"],
      "fd_met": main["fd"] <= TARGETS["fd_max"],
      "fd_over_target_by": main["fd"] - TARGETS["fd_max"],
      # augmentation: generated samples lower the few-label test error (per N, and at every N)
      "augmentation_helps": helps, "augmentation_works": all(helps.values()),
      "augmentation_works_somewhere": any(helps.values()),
      "augmentation_change": {n: r["with_gan"] - r["without"] for n, r in aug.items()},
      # inpainting: the GAN's completions are recognised more often than the mean fill and the black hole
      "inpainting_works": inp["acc_gan"] > max(inp["acc_mean_fill"], inp["acc_hole_zero"]),
      "inpainting_psnr_above_mean_fill": inp["hole_psnr_gan"] > inp["hole_psnr_mean_fill"],
      # the discriminator as out-of-distribution scorer (None: not measured, no second data set)
      "ood_works": anomaly["d_auroc"] >= OOD_AUROC_MIN if anomaly else None,
  }


def answer(metrics: dict) -> str:
  cfg = metrics["_meta"]["config"]
  f, t, d, proto = metrics["findings"], metrics["targets"], metrics["data"], metrics["protocol"]
  ds = d["name"]
  main, te, inp = metrics["dcgan"][ds], metrics["augmentation"]["test_error"], metrics["inpainting"]
  cnn_anchor = metrics["anchors"].get("cnn_labels_only_test_error_pct", {})
  pct = lambda x, digits=1: f"{100 * x:.{digits}f}%"

  dc_table = report.table(
      ["data set", "fd (DCGAN samples vs test)", "fd floor (train vs test)", "classifier score (samples)",
       "classifier score (test set)", "CNN test acc %"],
      [[name, r["fd"], r["fd_floor"], r["classifier_score"], r["classifier_score_test"],
        f"{100 * r['classifier_test_acc']:.2f}"] for name, r in metrics["dcgan"].items()])
  aug_table = report.table(
      ["labels", "test error % without", "test error % with cGAN samples", "cGAN label agreement %"]
      + ([f"published CNN, labels only ({metrics['anchors']['source']})"] if cnn_anchor else []),
      [[n, report.pm(r, "without", 100, 4), report.pm(r, "with_gan", 100, 4), report.pm(r, "cgan_label_acc", 100, 4)]
       + ([cnn_anchor.get(n)] if cnn_anchor else []) for n, r in te.items()])
  inp_table = report.table(
      ["fill", "PSNR of the hidden square (dB)", "CNN accuracy on the completed image %"],
      [["DCGAN latent search", inp["hole_psnr_gan"], f"{100 * inp['acc_gan']:.1f}"],
       ["mean training image", inp["hole_psnr_mean_fill"], f"{100 * inp['acc_mean_fill']:.1f}"],
       ["zeros (hole left black)", None, f"{100 * inp['acc_hole_zero']:.1f}"],
       ["original (nothing hidden)", None, f"{100 * inp['acc_original']:.1f}"]])

  cs_target = (f"classifier score ≥ {t['classifier_score_min']}: "
               + ("met" if f["classifier_score_met"] else f"**missed** by {f['classifier_score_short_by']:.2f}"))
  fd_target = (f"fd ≤ {t['fd_max']:g}: "
               + ("met" if f["fd_met"] else f"**missed**, {f['fd_over_target_by']:.3g} above it"))
  sampling = "met both targets" if f["classifier_score_met"] and f["fd_met"] else "missed its targets"

  # "N=100: 29.00% → 28.20%, -0.80 points" for each N in `ns`
  shifts = lambda ns: "; ".join(f"N={n}: {pct(te[n]['without'], 2)} → {pct(te[n]['with_gan'], 2)}, "
                                f"{100 * f['augmentation_change'][n]:+.2f} points" for n in ns)
  good = [n for n in te if f["augmentation_helps"][n]]
  bad = [n for n in te if not f["augmentation_helps"][n]]
  if f["augmentation_works"]:
    aug_verdict = f"Generated samples lower the test error at every N here ({shifts(good)})."
    aug_short = "worked"
  elif f["augmentation_works_somewhere"]:
    aug_verdict = (f"Generated samples lower the test error at some N only ({shifts(good)}); "
                   f"**at N={', '.join(bad)} augmentation failed here** ({shifts(bad)}).")
    aug_short = f"worked at N={', '.join(good)} only"
  else:
    aug_verdict = f"**Augmentation failed here**: the generated samples do not lower the test error at any N ({shifts(bad)})."
    aug_short = "failed"

  if f["inpainting_works"]:
    inp_verdict = (f"The CNN recognises {pct(inp['acc_gan'])} of the GAN-completed images, more than with the mean-image fill "
                   f"({pct(inp['acc_mean_fill'])}) or the hole left black ({pct(inp['acc_hole_zero'])}; untouched "
                   f"{pct(inp['acc_original'])}); the hole's PSNR is {inp['hole_psnr_gan']:.2f} dB, "
                   f"{'above' if f['inpainting_psnr_above_mean_fill'] else 'below'} the mean fill's "
                   f"{inp['hole_psnr_mean_fill']:.2f} dB. The fill is an image from the generator's range "
                   "that agrees with the visible pixels, not necessarily the hidden truth; PSNR rewards the blurry average, "
                   "recognisability a sharp, plausible answer.")
  else:
    inp_verdict = (f"**Inpainting failed here**: the CNN recognises {pct(inp['acc_gan'])} of the GAN-completed images, "
                   f"against {pct(inp['acc_mean_fill'])} with the mean-image fill and {pct(inp['acc_hole_zero'])} with the "
                   f"hole left black (untouched {pct(inp['acc_original'])}); the hole's PSNR is {inp['hole_psnr_gan']:.2f} dB "
                   f"against {inp['hole_psnr_mean_fill']:.2f} dB for the mean fill. A GAN fill is an image from the "
                   "generator's range that agrees with the visible pixels; it can only be as plausible as the generator's "
                   f"samples (here fd {main['fd']:.3g}, {f['fd_over_floor']:.1f}x the floor).")
  inp_short = "worked" if f["inpainting_works"] else "failed"

  ssl, anchors = metrics["semi_supervised"], metrics["ssl_anchors"]
  ssl_err = report.pm(ssl, "test_error_pct", digits=3)
  q2 = ssl["q2_best"]
  if q2 is None:
    ssl_vs_q2 = "q2 did not run in this output directory, so there is no autoencoder arm to compare with"
  else:
    ssl_vs_q2 = (f"{'below' if f['ssl_beats_q2'] else '**not below**'} q2's best autoencoder arm at the same N "
                 f"({q2['arm']}, {q2['test_error_pct']:.2f}% in its `{q2['profile']}` run; "
                 f"{f['ssl_minus_q2_points']:+.2f} points)")
  ssl_aim = (f"the aim of {metrics['ssl_aim_pct']:g}% is " + ("met" if f["ssl_aim_met"] else "**not met**"))
  ssl_anchor = ("" if anchors is None else
                f" Published: {anchors['salimans_pct']}% ({anchors['salimans_source']}); "
                f"{anchors['reproduction_pct']}% ({anchors['reproduction_source']}).")
  ssl_short = f"semi-supervised classification with the discriminator reaches {ssl_err}% test error with {cfg['ssl_labels']} labels"
  ssl_section = f"""**4. Semi-supervised classification with the discriminator** (Salimans et al. 2016). The discriminator is a
{proto['num_classes']}-class classifier (an MLP {'-'.join(str(h) for h in cfg['ssl_d_hidden'])}, Gaussian noise on its
input and hidden layers); its "real" probability is Z/(Z+1) with Z the sum of its exponentiated logits. It learns from
{cfg['ssl_labels']} labelled images (classes balanced) by cross-entropy and from every training image, unlabeled,
by telling them from the generator's samples; the generator (an MLP {'-'.join(str(h) for h in cfg['ssl_g_hidden'])}
with batch norm) matches the mean of the discriminator's last hidden features on real data (feature matching).
{cfg['ssl_steps']} steps of {cfg['ssl_batch']} labelled + {cfg['ssl_batch']} unlabeled images, Adam lr {cfg['ssl_lr']}
(cosine decay), beta1 0.5; {cfg['ssl_seeds']} seed(s). Test error on all {ds} test images: **{ssl_err}%**, {ssl_vs_q2};
{ssl_aim}.{ssl_anchor} Here the GAN is not used for its samples at all: the generator's job is to keep
showing the discriminator plausible non-{d['item']}s near the data, which shapes its decision boundaries with the
unlabeled images.
"""

  if f["ood_works"] is None:
    ood = ("\nThe discriminator as an out-of-distribution scorer needs a DCGAN on a second data set "
           "(`other_dataset`), which this profile does not train: not measured in this run.\n")
    ood_short = "was not measured"
  else:
    auroc, other = metrics["anomaly"]["d_auroc"], metrics["other_data"]["name"]
    setting = (f"The same DCGAN's discriminator, used as a normality score (its logit; {ds} test images normal, "
               f"{other} test images ({metrics['other_data']['what']}) anomalous)")
    if f["ood_works"]:
      ood = (f"\n{setting}, separates the two with AUROC {pct(auroc)} ({pct(proto['chance_auroc'], 0)} is chance; from "
             f"{pct(proto['ood_auroc_min'], 0)} it counts as working here). That holds for this pair of data sets: a "
             "discriminator is trained to tell real images from *this generator's* fakes, not from everything else, so "
             "nothing guarantees that an unseen kind of image scores low.\n")
      ood_short = f"worked (AUROC {pct(auroc)})"
    else:
      ood = (f"\n**As an out-of-distribution scorer the discriminator failed here.** {setting}, separates the two with "
             f"AUROC {pct(auroc)} only ({pct(proto['chance_auroc'], 0)} is chance; {pct(proto['ood_auroc_min'], 0)} would "
             "count as working). A discriminator is trained to tell real images from *this generator's* fakes, not from "
             "everything else, so nothing forces it to score unseen kinds of images low.\n")
      ood_short = f"failed (AUROC {pct(auroc)})"

  return f"""
**Short answer.** A GAN trains a generator to turn noise into samples that a discriminator, trained against it,
cannot tell from real data; GANs shine where sharp samples matter: image synthesis, inpainting and
super-resolution, data augmentation. Here the DCGAN on {ds} reaches classifier score
{main['classifier_score']:.2f} ({cs_target}) and fd {main['fd']:.3g} ({fd_target}; floor {main['fd_floor']:.3g});
{ssl_short}; of the other tasks, augmentation with few labels {aug_short}, inpainting {inp_short}, and the
discriminator as an out-of-distribution scorer {ood_short}.

**What a GAN is.** A generator G maps noise z ~ N(0, I) to images; a discriminator D is trained to tell
real images from G's, and G is trained to make D call its images real (here the non-saturating loss
-log D(G(z)), {proto['gan_source']}). At the equilibrium of this two-player game G's distribution equals
the data's. Unlike an autoencoder or a VAE, G is never asked to reproduce a given image, so its samples are
not blurred by a pixel-wise loss, and there is no likelihood to evaluate: sample quality has to be measured
from outside. Here a small CNN trained by aejax on each data set is the yardstick: `fd` is the Frechet
distance between Gaussians fitted to its penultimate features (the FID recipe with this CNN instead of
Inception, so its values are on this CNN's scale, not Inception's), `classifier_score` is exp E KL(p(y|x) ‖ p(y))
from its softmax (the Inception Score analogue, between 1 and {proto['num_classes']}). The floor is fd(train, test):
two real samples of the same size ({cfg['eval_samples']} images).

**1. Sampling images.** DCGAN (base width {cfg['gan_base']}, latent {cfg['latent']}), {cfg['gan_steps']} steps of
batch {cfg['gan_batch']}, Adam lr {cfg['gan_lr']} (cosine-decayed to 0), beta1 {cfg['gan_beta1']}, on {ds} ({d['what']});
{cfg['eval_samples']} samples against the test set.

{dc_table}

![samples](samples.png)

On {ds} the samples reach fd {main['fd']:.3g} against a floor of {main['fd_floor']:.3g}
({f['fd_over_floor']:.1f}x the floor) and a classifier score of {main['classifier_score']:.2f}
(real test images: {main['classifier_score_test']:.2f}). Targets for this DCGAN: {cs_target}; {fd_target}.

**2. Data augmentation with few labels.** A class-conditional DCGAN (base {cfg['aug_gan_base']},
{cfg['aug_gan_steps']} steps) is trained on the N labelled images only; {cfg['aug_generated']} generated images
(classes balanced) are mixed 1:1 with the repeated real ones; the same CNN is trained {cfg['aug_steps']} steps on
either set and tested on {cfg['aug_test_images']} test images. Mean ± std over {cfg['seeds']} seed(s) (each seed draws its own
balanced labelled subset). "cGAN label agreement" is how often the pretrained classifier assigns a generated image
the class it was generated for.

{aug_table}

![cGAN samples](cgan_samples.png)

{aug_verdict}
A GAN fitted to N images can only recombine what those N images contain; where its samples are class-consistent
(the agreement column) they act as a learned, smooth data augmentation, where they are not they add label noise.

**3. Inpainting.** The {cfg['inpaint_hole']}x{cfg['inpaint_hole']} centre of {cfg['inpaint_images']} {ds} test images is
hidden; the latent z of the DCGAN is searched ({cfg['inpaint_steps']} Adam steps, lr {cfg['inpaint_lr']}) to match the
visible pixels (their squared error per image fell from {inp['visible_mse_start']:.3g} to {inp['visible_mse_end']:.3g}),
and G(z) fills the hole.

{inp_table}

![inpainting](inpainting.png)

{inp_verdict}
{ood}
{ssl_section}
**Where GANs shine**, then: sampling sharp images (1), filling in or upsampling images with plausible detail
(3; also super-resolution, image-to-image translation), and supplying extra training data when the generator
is good enough for its samples to carry their labels (2), and learning from unlabeled data through the
discriminator (4). In this run sampling {sampling}, augmentation {aug_short}, inpainting {inp_short}, and
{ssl_short}. Where they do not shine: likelihoods and encoders (a plain GAN has neither).
q8 shows why they are hard to train.
"""
