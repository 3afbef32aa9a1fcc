"""Trials side by side: T seeds of one GAN configuration trained in one program (recipes.train_gan
with a sequence of seeds) match T separate runs, under jit, pmap and a mesh, and resume exactly; so
do an autoencoder's (recipes.train_autoencoder), vmapped and by lax.map.

Tolerance. Vectorising (jax.vmap) turns each trial's matmuls into one batched dot_general and its
reductions into reductions over a batched array, which XLA may block and order differently; the
terms are the same. A sum of n float32 terms taken in two orders differs by at most
2 * n * eps * sum|terms| (Higham, Accuracy and Stability of Numerical Algorithms, 4.2), n being
the most terms any sum of the step adds: the examples the losses average over (real and fake: 2B)
or a layer's fan-in. For a gradient entry well above its rounding, Adam passes that relative change
on to the update; over a few steps of a GAN that has not yet left its start (no chaotic
amplification) each step adds its own, so params agree to rtol = 2 * n * eps * steps, and to
atol = rtol * lr * steps where they are near zero (the updates, of size up to lr, carry the
relative error). An entry whose gradient cancels to within rounding gets an update of arbitrary
sign: it stays within 2 * lr * steps and is rare (tests/tolerance.py). The key, the step counter
and the batch indices are integers: equal to the bit.
"""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aejax import data, recipes, trainer
from aejax.models import gan
from tests.tolerance import EPS32, assert_trained_close

POINTS = data.mixture("ring", 512, seed=0)[0]
G = gan.MLPGenerator(hidden=(16,) * 2, batch_norm=True, init_std=0.02)  # q8's 2-D pair, narrower
D = gan.MLPDiscriminator(hidden=(16,) * 2, maxout=2, init_std=0.02)
BATCH, LR = 32, 1e-3
N = max(2 * BATCH, 16 * 2)  # real + fake examples; the widest fan-in (maxout: 16 -> 32 pieces)


def options(steps):
  # an explicit average decay: the default depends on `steps`, which the resume test changes
  return recipes.GANOptions(latent=2, steps=steps, batch_size=BATCH, lr=LR, image_output=False, average_decay=0.9)


def run(seed, steps, mode="jit", **kw):
  return recipes.train_gan(G, D, POINTS, options(steps), seed=seed, mode=mode, **kw)


def test_trial_indices_are_each_seeds_own():
  together = trainer.DeviceData({"x": POINTS}, BATCH, (3, 5), "jit")
  assert together.trials == 2 and trainer.DeviceData({"x": POINTS}, BATCH, 3, "jit").trials is None
  for step in (0, 17):  # two epochs
    idx = together.indices(step)
    assert idx.shape == (2, BATCH)
    for t, seed in enumerate((3, 5)):
      np.testing.assert_array_equal(idx[t], trainer.DeviceData({"x": POINTS}, BATCH, seed, "jit").indices(step))


def test_per_trial_makes_one_run_or_stacked_trials():
  make = lambda seed: {"w": jnp.full((2,), seed, jnp.float32)}
  np.testing.assert_array_equal(trainer.per_trial(make, 3)["w"], [3, 3])
  np.testing.assert_array_equal(trainer.per_trial(make, (3, 5))["w"], [[3, 3], [5, 5]])


def test_trials_equal_separate_runs():
  """Trial k of a vectorised run (4 steps per lax.scan dispatch) is train_gan(seed=k)."""
  steps, seeds = 8, (0, 1, 2)
  together, history = run(seeds, steps, log_every=4, steps_per_dispatch=4)
  assert together.step.shape == (3,) and [h["step"] for h in history] == [4, 8]
  json.dumps(history)  # plain numbers, as metrics.jsonl holds them
  assert all(math.isfinite(v) for h in history for v in h.values())
  rtol = 2 * N * EPS32 * steps
  for k in seeds:
    alone, h_alone = run(k, steps, log_every=4, steps_per_dispatch=4)
    mine = trainer.take_trial(together, k)
    np.testing.assert_array_equal(mine.rng, alone.rng)
    assert int(mine.step) == int(alone.step) == steps
    for tree in ("params", "average"):
      assert_trained_close(getattr(mine, tree), getattr(alone, tree), lr=LR, steps=steps, rtol=rtol,
                           atol=rtol * LR * steps)
    for got, want in zip(trainer.trial_history(history, k), h_alone):
      assert set(got) == set(want)
      for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert got[key] == pytest.approx(want[key], rel=rtol), key
  for key in ("d_loss", "g_loss"):  # the usual keys hold the mean over the trials
    assert history[-1][key] == pytest.approx(np.mean([history[-1][f"{key}/trial{k}"] for k in seeds]), rel=1e-6)


def test_trials_by_lax_map_equal_vectorised():
  """The trials one after another inside the program (lax.map) train as the vectorised ones."""
  steps = 4
  mapped, h_mapped = run((0, 1), steps, log_every=2, steps_per_dispatch=2, vectorise_trials=False)
  vectorised, h_vectorised = run((0, 1), steps, log_every=2, steps_per_dispatch=2)
  np.testing.assert_array_equal(mapped.rng, vectorised.rng)
  rtol = 2 * N * EPS32 * steps
  assert_trained_close(mapped.params, vectorised.params, lr=LR, steps=steps, rtol=rtol, atol=rtol * LR * steps)
  assert h_mapped[-1]["g_loss/trial1"] == pytest.approx(h_vectorised[-1]["g_loss/trial1"], rel=rtol)


def gradients(state, net):
  """The gradient of `net`'s first Adam step, from the first moment: mu = (1 - beta1) * g (exact)."""
  return jax.tree.map(lambda m: np.float64(m) / (1 - 0.5), getattr(state, net).opt_state.inner_state[0].mu)


@pytest.mark.parametrize("mode", ["pmap", "mesh"])
def test_one_step_across_devices_equals_jit(mode):
  """One vectorised step with each trial's batch split over 4 devices equals it on one device,
  lr-free as tests/test_gan_parallel.py checks one step: the step's losses and each trial's
  gradients, leaf by leaf, within 2 * n * eps * S (S: the leaf's largest entry; for D's output
  bias, whose gradient d_real + d_fake - 1 cancels by construction, the 2 means it adds). G's
  gradient is taken against the updated D, whose entries agree but where D's gradient is itself
  rounding, entries of too little weight to move G's gradient beyond that bound."""
  seeds = (0, 1)
  want, h_want = run(seeds, 1, "jit", log_every=1)
  got, h_got = run(seeds, 1, mode, log_every=1)
  bound = 2 * N * EPS32
  for key in ("d_loss", "g_loss"):
    for k in seeds:
      w = h_want[0][f"{key}/trial{k}"]
      assert abs(h_got[0][f"{key}/trial{k}"] - w) <= bound * abs(w), (key, k)
  np.testing.assert_array_equal(got.rng, want.rng)
  over, output_bias = [], "['params']['Dense_2']['bias']"
  assert output_bias in {jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(want.d.params)}
  for net in ("d", "g"):
    pairs = zip(jax.tree_util.tree_leaves_with_path(gradients(want, net)), jax.tree.leaves(gradients(got, net)))
    for (path, w), g in pairs:
      per_trial = tuple(range(1, w.ndim))
      scale = 2.0 if (net, jax.tree_util.keystr(path)) == ("d", output_bias) else np.abs(w).max(per_trial)
      if np.any(np.abs(g - w).max(per_trial) > bound * scale):
        over.append(f"{net}{jax.tree_util.keystr(path)}")
  assert not over, f"{mode}: gradients differ from jit's beyond 2n eps S: {over}"
  for a, b in zip(jax.tree.leaves(got.params), jax.tree.leaves(want.params)):  # one Adam step moves at most ~lr
    assert np.abs(np.float64(a) - np.float64(b)).max() <= 2 * LR


def g_norms(state):
  """An eval with one value per trial: each trial's generator weight norm."""
  return {"g_norm": jax.vmap(lambda p: sum(jnp.sum(x ** 2) for x in jax.tree.leaves(p)))(state.g.params),
          "trials": 2}


@pytest.mark.parametrize("mode,fuse", [("mesh", None), ("jit", 4)])
def test_resume_equals_uninterrupted(tmp_path, mode, fuse):
  """Interrupted after a checkpoint at step 4, then resumed to 10: the uninterrupted run's state and
  history, to the bit (the same executables on exact float32 copies)."""
  seeds, kw = (0, 1), dict(log_every=2, steps_per_dispatch=fuse, eval_fn=g_norms)
  with trainer.session(mode, root=tmp_path / "straight", checkpoint_every=2):
    straight, h_straight = run(seeds, 10, mode, name="trials", **kw)
  with trainer.session(mode, root=tmp_path / "resumed", checkpoint_every=2):
    run(seeds, 4, mode, name="trials", **kw)
  with trainer.session(mode, root=tmp_path / "resumed", checkpoint_every=2):
    resumed, h_resumed = run(seeds, 10, mode, name="trials", **kw)
  assert resumed.step.tolist() == [10, 10]
  for a, b in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed)):
    np.testing.assert_array_equal(a, b)
  strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]
  assert strip(h_resumed) == strip(h_straight)
  assert {"g_norm/trial0", "g_norm/trial1", "trials"} <= set(h_straight[-1])
  lines = (tmp_path / "resumed" / "runs" / "trials" / "metrics.jsonl").read_text().splitlines()
  assert [json.loads(l)["step"] for l in lines] == [2, 4, 6, 8, 10]


# Autoencoder trials (recipes.train_autoencoder with a sequence of seeds): the same comparison on q1-q4's
# kind of model, narrower. n: the widest sum of the step, a batch of 32 examples' 784 pixels.
AE_N = 784


def ae_images():
  rng = np.random.default_rng(0)
  return rng.integers(0, 256, (256, 28, 28, 1), dtype=np.uint8)


@pytest.mark.parametrize("model,vectorise", [
    ("mlp", True),  # q1, q2, q3 and q4's MLP autoencoders, vmapped
    ("conv", False),  # q1's conv autoencoder, trials one after another in the program (lax.map)
])
def test_autoencoder_trials_equal_separate_runs(model, vectorise):
  """Trial k of train_autoencoder(seed=(0, 1)) is train_autoencoder(seed=k): its own init, noise
  (noise_std draws a key per step) and data order."""
  from aejax.models.autoencoder import conv_autoencoder, mlp_autoencoder
  net = mlp_autoencoder(4, hidden=(16,)) if model == "mlp" else conv_autoencoder(4, features=(4, 8))
  steps, kw = 6, dict(batch_size=32, lr=LR, noise_std=0.3, log_every=3, mode="jit")
  together, history = recipes.train_autoencoder(net, ae_images(), steps=steps, seed=(0, 1),
                                                vectorise_trials=vectorise, **kw)
  assert together.step.tolist() == [steps, steps] and [h["step"] for h in history] == [3, 6]
  rtol = 2 * AE_N * EPS32 * steps
  for k in (0, 1):
    alone, h_alone = recipes.train_autoencoder(net, ae_images(), steps=steps, seed=k, **kw)
    mine = trainer.take_trial(together, k)
    np.testing.assert_array_equal(mine.rng, alone.rng)
    assert_trained_close(mine.params, alone.params, lr=LR, steps=steps, rtol=rtol, atol=rtol * LR * steps)
    assert trainer.trial_history(history, k)[-1]["loss"] == pytest.approx(h_alone[-1]["loss"], rel=rtol)


def test_train_trials_need_stacked_params():
  from aejax.models.autoencoder import mlp_autoencoder
  net = mlp_autoencoder(4, hidden=(16,))
  params = recipes.init(net, 0, jnp.zeros((1, 28, 28, 1)))
  with pytest.raises(ValueError, match="^train: 2 seeds need params stacked on a leading axis of 2"):
    recipes.train(params, lambda *a, **k: None, {"image": ae_images()}, steps=1, batch_size=32, lr=LR, seed=(0, 1))
