"""q7: What is a GAN? Can you name a few tasks where GANs can shine?

A DCGAN learns to sample images (measured by Frechet distance and classifier score in the space of a
pretrained CNN, against the floor fd(train, test)); a class-conditional GAN trained on the few
labelled images adds generated examples to a few-label classifier's training set; the unconditional
generator inpaints a hidden centre square by latent search, and its discriminator is tried as an
out-of-distribution scorer; a semi-supervised GAN's discriminator classifies with few labels. Every
reported number and figure uses the moving average of the networks' weights (the raw ones once, beside).
"""

import time

import jax
import numpy as np

from aejax import config as C
from aejax import data, plots, recipes
from aejax.evaluation import classifier, fd, image_metrics, inpainting, mean_std, modes
from aejax.models import gan
from aejax.models.classifier import CNN
from aejax.train import default_average_decay as average_decay

NAME = "q7_gan_tasks"
QUESTION = "What is a GAN? Can you name a few tasks where GANs can shine?"

OTHER = {"mnist": "fashion_mnist", "fashion_mnist": "mnist"}  # q7 uses the 28x28 grey data sets
TB_SAMPLES = 16  # generated images drawn in TensorBoard at each log point
CONFIDENCE = 0.9  # a sample is read confidently at max softmax >= this, as aejax.evaluation.modes counts

SCHEMA = C.schema(
    dataset=C.choice("mnist", OTHER), other_dataset=C.flag(True),  # also train a DCGAN on the other set
    seeds=C.integer(3, min=1), latent=C.integer(64, min=1),
    # DCGAN (unconditional), one per data set
    # d_batch_norm: batch norm in D (Radford et al.'s); without it D's FD fell from 56.6 to 35.9 at equal steps
    # (benchmarks/RESULTS.md, gan_recipes)
    gan=dict(base=C.integer(32, min=1), steps=C.integer(4500, min=1), batch=C.batch(128),
             lr=C.real(1e-3, above=0), beta1=C.real(0.5, min=0, below=1), d_batch_norm=C.flag(False)),
    classifier=dict(steps=C.integer(classifier.DEFAULT_STEPS, min=1)), eval=dict(samples=C.integer(10000, min=1)),
    # augmentation in the few-label setting
    aug=dict(labels=C.integers((100, 1000), min=10), gan=dict(base=C.integer(16, min=1), steps=C.integer(600, min=1)),
             generated=C.integer(5000, min=1), steps=C.integer(200, min=1), batch=C.batch(64),
             lr=C.real(1e-3, above=0), test_images=C.integer(10000, min=1)),
    # inpainting by latent search, a centre square hidden
    inpaint=dict(images=C.integer(200, min=1), steps=C.integer(150, min=1), lr=C.real(0.05, above=0),
                 hole=C.integer(14, min=1, max=27)),
    # semi-supervised GAN (Salimans et al. 2016): the discriminator is a classifier; ssl.labels labels,
    # every training image unlabeled; Adam lr 3e-3, beta1 0.5, batches of 100 labelled + 100 unlabeled
    ssl=dict(labels=C.integer(100, min=10), seeds=C.integer(2, min=1), steps=C.integer(15000, min=1),
             batch=C.batch(100), lr=C.real(3e-3, above=0), latent=C.integer(100, min=1),
             d_hidden=C.integers((1000, 500, 250, 250, 250), min=1), g_hidden=C.integers((500, 500), min=1)),
)
PROFILES = {
    "smoke": {"seeds": 1, "other_dataset": False, "gan.base": 8, "gan.steps": 20, "classifier.steps": 20,
              "eval.samples": 300, "aug.gan.base": 8, "aug.gan.steps": 10, "aug.generated": 200, "aug.steps": 10,
              "aug.test_images": 500, "inpaint.images": 20, "inpaint.steps": 5, "ssl.steps": 20,
              "ssl.d_hidden": (64, 32), "ssl.g_hidden": (32,)},
    # ssl: 100 epochs of the 60k unlabeled images, as the reproduction
    "paper": {"gan.base": 64, "gan.steps": 20000, "aug.gan.base": 64, "aug.gan.steps": 5000, "aug.generated": 20000,
              "aug.steps": 2000, "inpaint.images": 1000, "inpaint.steps": 1000, "ssl.seeds": 3, "ssl.steps": 60000},
}


def check(cfg) -> None:
  for key, ns in (("aug.labels", cfg.aug.labels), ("ssl.labels", (cfg.ssl.labels,))):
    if any(n % 10 for n in ns):  # balanced labelled subsets: as many images of each of the 10 classes
      raise ValueError(f"{key} must be multiples of the 10 classes, got {', '.join(map(str, ns))}; "
                       f"e.g. --set {key}={','.join(str(n // 10 * 10 or 10) for n in ns)}")


to_uint8 = lambda x: np.clip(np.round(np.asarray(x) * 255), 0, 255).astype(np.uint8)
confident_pct = lambda clf, x: float(100 * np.mean(modes.channel_probs(clf.logits, x).max(-1) >= CONFIDENCE))
_argmax = jax.jit(lambda logits: logits.argmax(-1))


def _ssl_predict(d, params, images, batch: int = 1000):
  """Class predictions of the semi-supervised discriminator (no noise), in fixed-size chunks."""
  x = images.astype(np.float32) / 255.0
  return np.concatenate([np.asarray(_argmax(d.apply(params, x[i:i + batch])[0])) for i in range(0, len(x), batch)])


def dcgan(cfg, name, seed=0):
  """Train the DCGAN on `name` and measure it against the floor fd(train, test)."""
  ds, clf = data.load(name), classifier.pretrained(name, steps=cfg.classifier.steps)
  g, d = gan.DCGANGenerator(base=cfg.gan.base), gan.DCGANDiscriminator(base=cfg.gan.base, batch_norm=cfg.gan.d_batch_norm)
  # TensorBoard only: the same latents at every log point
  eval_fn = lambda state: {"images": gan.generate(g.apply, state.average["g"], TB_SAMPLES, cfg.latent, seed=seed + 2)}
  opts = recipes.GANOptions(latent=cfg.latent, steps=cfg.gan.steps, batch_size=cfg.gan.batch, lr=cfg.gan.lr, alpha=0.0,
                            beta1=cfg.gan.beta1, decay_steps=cfg.gan.steps)
  state, history = recipes.train_gan(g, d, ds.train_images, opts, seed=seed, name=f"dcgan-{name}",
                                     log_every=max(1, cfg.gan.steps // 10), eval_fn=eval_fn)
  n, test = cfg.eval.samples, ds.test_images[:cfg.eval.samples]
  train_ref = ds.train_images[np.random.default_rng(seed).choice(len(ds.train_images), n, replace=False)]
  test_feats, train_feats = clf.features(test), clf.features(train_ref)

  def measure(params):  # the same latents for the averaged and the raw weights
    x = gan.generate(g.apply, params, n, cfg.latent, seed=seed + 1)
    return x, {"fd": fd.frechet_distance(clf.features(x), test_feats), "classifier_score": fd.classifier_score(clf.logits(x))}

  samples, metrics = measure(state.average["g"])
  metrics.update(fd_floor=fd.frechet_distance(train_feats, test_feats), classifier_test_acc=clf.test_acc,
                 classifier_score_test=fd.classifier_score(clf.logits(test)), raw_weights=measure(state.g.params)[1],
                 confident_pct=confident_pct(clf, samples), confident_pct_test=confident_pct(clf, test),
                 d_loss_final=history[-1]["d_loss"], g_loss_final=history[-1]["g_loss"])
  return metrics, {"g": g, "d": d, "state": state, "samples": samples, "ds": ds, "clf": clf}


def augmentation(cfg, ds, clf, n_labels, seed):
  """Test error of the CNN trained on n_labels examples, without and with cGAN samples."""
  idx, a = data.subset_balanced(ds.train_labels, n_labels, seed), cfg.aug
  x, y = ds.train_images[idx], ds.train_labels[idx]
  test_x, test_y = ds.test_images[:a.test_images], ds.test_labels[:a.test_images]
  model = CNN(num_classes=ds.num_classes)
  init = recipes.init(model, seed, np.zeros((1, *x.shape[1:]), np.float32))

  def test_error(images, labels, name):
    state, _ = recipes.train_classifier(model.apply, init, images, labels, steps=a.steps, batch_size=a.batch,
                                        lr=a.lr, seed=seed, name=name, log_every=a.steps)
    return 1.0 - classifier.accuracy(classifier.Classifier(model, state.params, 0.0, ds.name), test_x, test_y)

  g = gan.DCGANGenerator(base=a.gan.base, num_classes=ds.num_classes)
  d = gan.DCGANDiscriminator(base=a.gan.base, num_classes=ds.num_classes)
  opts = recipes.GANOptions(latent=cfg.latent, steps=a.gan.steps, batch_size=min(cfg.gan.batch, n_labels),
                            lr=cfg.gan.lr, beta1=cfg.gan.beta1)
  state, _ = recipes.train_gan(g, d, x, opts, labels=y, seed=seed, name=f"cgan-{n_labels}-s{seed}",
                               log_every=a.gan.steps)
  gen_y = (np.arange(a.generated) % ds.num_classes).astype(np.int32)
  gen_x = to_uint8(gan.generate(g.apply, state.average["g"], len(gen_y), cfg.latent, seed=seed + 7, labels=gen_y))
  tile = np.arange(len(gen_y)) % n_labels  # half real (repeated), half generated
  row = {"without": test_error(x, y, f"cnn-{n_labels}-s{seed}"),
         "with_gan": test_error(np.concatenate([x[tile], gen_x]), np.concatenate([y[tile], gen_y]),
                                f"cnn-{n_labels}-cgan-s{seed}"),
         # does the pretrained classifier agree with the label the cGAN was asked for?
         "cgan_label_acc": float(np.mean(clf.predict(gen_x) == gen_y))}
  return row, gen_x[:10 * ds.num_classes]


def inpaint(cfg, parts):
  """Hide the centre square of test images; fill it by latent search in the DCGAN, or by the mean image."""
  ds, clf, g, p = parts["ds"], parts["clf"], parts["g"], cfg.inpaint
  x, y = ds.test_images[:p.images].astype(np.float32) / 255.0, ds.test_labels[:p.images]
  mask = inpainting.center_mask(x.shape[1:], p.hole)
  filled, curve = inpainting.inpaint(g.apply, parts["state"].average["g"], x, mask, latent=cfg.latent,
                                     steps=p.steps, lr=p.lr)
  mean_fill = mask * x + (1 - mask) * (ds.train_images.mean(0) / 255.0)
  acc = lambda imgs: float(np.mean(clf.predict(imgs) == y))
  metrics = {"hole_psnr_gan": float(inpainting.hole_psnr(x, filled, mask).mean()),
             "hole_psnr_mean_fill": float(inpainting.hole_psnr(x, mean_fill, mask).mean()),
             "acc_gan": acc(filled), "acc_mean_fill": acc(mean_fill), "acc_hole_zero": acc(mask * x),
             "acc_original": acc(x), "visible_mse_start": float(curve[0]), "visible_mse_end": float(curve[-1])}
  return metrics, [x[:10], mask * x[:10], filled[:10], mean_fill[:10]]


def semi_supervised(cfg, ds, seed):
  """Test error (%) of the semi-supervised GAN's averaged discriminator with ssl.labels labels (and the raw one's)."""
  s, shape, idx = cfg.ssl, ds.train_images.shape[1:], data.subset_balanced(ds.train_labels, cfg.ssl.labels, seed)
  g = gan.MLPGenerator(out_dim=int(np.prod(shape)), hidden=s.g_hidden, batch_norm=True)
  d = gan.SemiSupervisedDiscriminator(hidden=s.d_hidden, num_classes=ds.num_classes)

  def eval_fn(state):  # TensorBoard only
    return {"images": gan.generate(g.apply, state.average["g"], TB_SAMPLES, s.latent, seed=seed + 3).reshape((-1, *shape))}

  state, history = recipes.train_semi_supervised_gan(
      g, d, ds.train_images[idx], ds.train_labels[idx], ds.train_images, latent=s.latent, steps=s.steps,
      batch_size=s.batch, lr=s.lr, seed=seed, decay_steps=s.steps, alpha=0.0, name=f"ssl-gan-{s.labels}-s{seed}",
      log_every=max(1, s.steps // 5), eval_fn=eval_fn)
  error = lambda params: float(100 * np.mean(_ssl_predict(d, params, ds.test_images) != ds.test_labels))
  return {"test_error_pct": error(state.average["d"]), "test_error_pct_raw": error(state.d.params),
          "train_acc_final": history[-1]["train_acc"]}


def run(cfg, out) -> dict:
  names = [cfg.dataset] + ([OTHER[cfg.dataset]] if cfg.other_dataset else [])
  results, parts, grid, titles = {}, {}, [], []
  timing, t0 = {}, time.perf_counter()
  for name in names:
    results[name], parts[name] = dcgan(cfg, name)
    grid += [parts[name]["samples"][i * 10:(i + 1) * 10] for i in range(3)] + [parts[name]["ds"].test_images[:10]]
    titles += [f"{name}: DCGAN samples"] * 3 + [f"{name}: real test images"]
  plots.image_grid(grid, out / "samples.png", row_titles=titles, title="DCGAN samples and real images")
  timing["dcgan"], t0 = round(time.perf_counter() - t0, 1), time.perf_counter()

  main, anomaly = parts[cfg.dataset], {}
  if cfg.other_dataset:  # the averaged D(x) as a normality score: own test set (normal) vs the other set
    own, other = (parts[name]["ds"].test_images[:cfg.eval.samples] for name in names)
    d_apply = lambda x: np.asarray(main["d"].apply(main["state"].average["d"], x.astype(np.float32) / 255.0))
    scores = np.concatenate([d_apply(own), d_apply(other)])
    anomaly = {"d_auroc": image_metrics.auroc(-scores, np.r_[np.zeros(len(own)), np.ones(len(other))])}

  aug, aug_rows = {}, []
  for n_labels in cfg.aug.labels:
    rows = [augmentation(cfg, main["ds"], main["clf"], n_labels, seed) for seed in range(cfg.seeds)]
    aug[str(n_labels)], gen = mean_std([row for row, _ in rows]), rows[-1][1]
    aug_rows += [gen[c::main["ds"].num_classes][:10] for c in range(min(3, main["ds"].num_classes))]
  plots.image_grid(aug_rows, out / "cgan_samples.png",
                   row_titles=[f"cGAN, {n} labels, class {c}" for n in cfg.aug.labels for c in range(3)],
                   title="class-conditional GAN samples used for augmentation (seed of the last run)")
  timing["augmentation"], t0 = round(time.perf_counter() - t0, 1), time.perf_counter()

  inp, inp_rows = inpaint(cfg, main)
  plots.image_grid(inp_rows, out / "inpainting.png",
                   row_titles=["original", "centre hidden", "DCGAN latent search", "mean-image fill"],
                   title=f"inpainting a {cfg.inpaint.hole}x{cfg.inpaint.hole} centre square")
  timing["inpainting"], t0 = round(time.perf_counter() - t0, 1), time.perf_counter()

  ssl_rows = [semi_supervised(cfg, main["ds"], seed) for seed in range(cfg.ssl.seeds)]
  timing["semi_supervised"] = round(time.perf_counter() - t0, 1)
  return {"dcgan": results, "augmentation": {"test_error": aug}, "inpainting": inp, "anomaly": anomaly,
          "semi_supervised": {**mean_std(ssl_rows), "per_seed": ssl_rows}, "data": data.describe(cfg.dataset), "timing_s": timing,
          "other_data": data.describe(OTHER[cfg.dataset]) if cfg.other_dataset else None,
          "protocol": {"num_classes": main["ds"].num_classes, "tb_samples": TB_SAMPLES, "confidence": CONFIDENCE,
                       "average_decay": {"gan": average_decay(cfg.gan.steps), "aug_gan": average_decay(cfg.aug.gan.steps),
                                         "ssl": average_decay(cfg.ssl.steps)}}}  # the recipes' default decays


def q2_best(m: dict, results) -> dict:
  """q2's best arm at ssl.labels labels, from q2's metrics.json beside this one: {"missing": why} when
  q2 did not run there, ran on another data set, or has no run at that N."""
  q2, n = results.get("q2_few_labels"), str(m["_meta"]["config"]["ssl"]["labels"])
  other = q2 and q2.get("data", {}).get("name")
  if q2 is None or other != m["data"]["name"] or n not in q2["test_error"]:
    return {"missing": "no_run" if q2 is None else "other_data" if other != m["data"]["name"] else "no_n", "dataset": other}
  errors, ours = q2["test_error"][n], m["semi_supervised"]["test_error_pct"]
  arm = min(errors, key=errors.get)  # as q2 picks its best arm: the lowest test error, first on ties
  return {"arm": arm, "test_error_pct": errors[arm], "profile": q2["_meta"]["profile"],
          "beats": ours < errors[arm], "minus_points": ours - errors[arm]}


def findings(m: dict, published: dict, results) -> dict:
  """What the answer states, from the measurements: each target met or missed and by how much (None where
  it was set for another data set), whether each task worked in this run, the SSL GAN against q2's best arm."""
  cfg, ds = m["_meta"]["config"], m["data"]["name"]
  main, aug, inp, t = m["dcgan"][ds], m["augmentation"]["test_error"], m["inpainting"], published["targets"]
  ssl, ssl_pub, targets = m["semi_supervised"], published["ssl"], ds == t["dataset"]
  helps = {n: r["with_gan"] < r["without"] for n, r in aug.items()}
  share, share_min = main.get("confident_pct"), published["sampling"]["confident_share_min"]
  return {
      "averaged": "raw_weights" in main,  # False: a run from before weight averaging (no raw numbers, no shares)
      # the samples are not the data set's items when the classifier reads too few of them confidently
      "not_items": share is not None and share < share_min * main["confident_pct_test"],
      "fd_over_floor": main["fd"] / max(main["fd_floor"], 1e-12), "targets_apply": targets,
      "classifier_score_met": main["classifier_score"] >= t["classifier_score_min"] if targets else None,
      "classifier_score_short_by": t["classifier_score_min"] - main["classifier_score"],
      "fd_met": main["fd"] <= t["fd_max"] if targets else None,
      "fd_over_target_by": main["fd"] - t["fd_max"],
      # augmentation: generated samples lower the few-label test error (per N, and at every N)
      "augmentation_helps": helps, "augmentation_works": all(helps.values()),
      "augmentation_works_somewhere": any(helps.values()),
      "augmentation_change": {n: r["with_gan"] - r["without"] for n, r in aug.items()},
      "augmentation_good": [n for n in aug if helps[n]], "augmentation_bad": [n for n in aug if not helps[n]],
      "cnn_anchor_applies": ds == published["cnn_labels_only"]["dataset"],
      # inpainting: the GAN's completions are recognised more often than the mean fill and the black hole
      "inpainting_works": inp["acc_gan"] > max(inp["acc_mean_fill"], inp["acc_hole_zero"]),
      "inpainting_psnr_above_mean_fill": inp["hole_psnr_gan"] > inp["hole_psnr_mean_fill"],
      # the discriminator as out-of-distribution scorer (None: not measured, no second data set)
      "ood_works": m["anomaly"]["d_auroc"] >= published["ood"]["auroc_min"] if m["anomaly"] else None,
      # the published semi-supervised numbers and the aim are for MNIST with 100 labels
      "ssl_pub_applies": ds == ssl_pub["dataset"] and cfg["ssl"]["labels"] == ssl_pub["labels"],
      "ssl_aim_met": ssl["test_error_pct"] <= ssl_pub["aim_pct"], "q2": q2_best(m, results),
  }
