"""recipes.train_gan and models.gan.generate on tiny data: they run, learn, and respect labels."""

import numpy as np

from aejax import data, recipes
from aejax.models import gan


def test_mlp_gan_moves_towards_the_data():
  points, modes, _ = data.mixture("ring", 512, seed=0)
  g, d = gan.MLPGenerator(hidden=(32,)), gan.MLPDiscriminator(hidden=(32,))
  state, history = recipes.train_gan(g, d, points, recipes.GANOptions(latent=4, steps=80, batch_size=64, lr=5e-3,
                                                                           image_output=False), seed=0, log_every=40)
  assert [h["step"] for h in history] == [40, 80]
  assert all(np.isfinite(h["d_loss"]) and np.isfinite(h["g_loss"]) for h in history)
  before = gan.generate(g.apply, g.init(__import__("jax").random.PRNGKey(0), np.zeros((1, 4))), 500, 4,
                        seed=1, image_output=False)
  after = gan.generate(g.apply, state.g.params, 500, 4, seed=1, image_output=False)
  radius = lambda x: np.abs(np.linalg.norm(x, axis=1) - 2.0).mean()  # ring radius is 2
  assert after.shape == (500, 2) and radius(after) < radius(before)


def test_conditional_dcgan_step_and_generate():
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (64, 28, 28, 1)).astype(np.uint8)
  labels = rng.integers(0, 10, 64).astype(np.int32)
  g, d = gan.DCGANGenerator(base=8, num_classes=10), gan.DCGANDiscriminator(base=8, num_classes=10)
  state, history = recipes.train_gan(g, d, images, recipes.GANOptions(latent=8, steps=2, batch_size=32, lr=1e-3),
                                     labels=labels, seed=0)
  assert int(state.step) == 2 and np.isfinite(history[-1]["d_loss"])
  x = gan.generate(g.apply, state.g.params, 7, 8, seed=0, labels=np.arange(7), batch_size=4)
  assert x.shape == (7, 28, 28, 1) and x.min() >= 0 and x.max() <= 1
  # same z, different label -> different image: the label is used
  x2 = gan.generate(g.apply, state.g.params, 7, 8, seed=0, labels=(np.arange(7) + 1) % 10, batch_size=4)
  assert np.abs(x - x2).max() > 1e-4


def test_hinge_option_reaches_the_loss():
  # with lr 0 both runs score the same samples with the same D: the non-saturating G loss, mean softplus(-f),
  # exceeds the hinge's, mean -f, since softplus(x) > x everywhere; equal losses would mean the option was dropped
  points = data.mixture("ring", 256, seed=0)[0]
  g, d = gan.MLPGenerator(hidden=(16,)), gan.MLPDiscriminator(hidden=(16,))
  run = lambda hinge: recipes.train_gan(g, d, points, recipes.GANOptions(latent=4, steps=1, batch_size=64, lr=0.0,
                                                                         image_output=False, hinge=hinge),
                                        seed=0, log_every=1)[1][-1]
  plain, hinge = run(False), run(True)
  assert plain["g_loss"] > hinge["g_loss"] and plain["d_loss"] != hinge["d_loss"]
