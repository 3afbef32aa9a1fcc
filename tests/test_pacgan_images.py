"""PacGAN for images: packed samples go side by side along channels, so a conv discriminator works."""

import jax
import jax.numpy as jnp
import numpy as np

from aejax import losses, recipes
from aejax.models import gan


def test_images_are_packed_along_channels_in_order():
  real = jnp.arange(4, dtype=jnp.float32)[:, None, None, None] * jnp.ones((4, 5, 5, 3))
  calls = []
  d_loss, _ = losses.gan_nonsaturating(lambda p, z, labels=None: jnp.zeros((z.shape[0], 5, 5, 3)),
                                       lambda p, x: calls.append(x) or jnp.zeros(x.shape[0]), latent=1, pack=2)
  d_loss({}, {}, {"image": real}, jax.random.PRNGKey(0))
  packed = np.asarray(calls[0])
  assert packed.shape == (2, 5, 5, 6) and calls[1].shape == (2, 5, 5, 6)
  assert np.all(packed[0, ..., :3] == 0) and np.all(packed[0, ..., 3:] == 1)
  assert np.all(packed[1, ..., :3] == 2) and np.all(packed[1, ..., 3:] == 3)


def test_train_gan_with_packed_dcgan_discriminator():
  images = np.random.default_rng(0).integers(0, 255, (32, 28, 28, 3), dtype=np.uint8)
  g, d = gan.DCGANGenerator(channels=3, base=4), gan.DCGANDiscriminator(base=4)
  state, history = recipes.train_gan(g, d, images, recipes.GANOptions(latent=8, steps=2, batch_size=8, lr=1e-3, pack=2),
                                     seed=0, log_every=1, name="test")
  assert state.d.params["params"]["Conv_0"]["kernel"].shape[2] == 6
  assert np.isfinite(history[-1]["d_loss"])
