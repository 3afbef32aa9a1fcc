"""The minibatch-std discriminator option: a collapsed batch looks different from a varied one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aejax.models import gan


def test_minibatch_std_feature_is_zero_for_identical_samples():
  same = gan.minibatch_std(jnp.ones((4, 3)))
  assert same.shape == (4, 4) and np.allclose(same[:, -1], 1e-4, atol=1e-4)
  varied = gan.minibatch_std(jnp.arange(8.0).reshape(4, 2))
  assert np.allclose(varied[:, -1], np.std(np.arange(0, 8, 2.0)))


@pytest.mark.parametrize("d, x", [(gan.MLPDiscriminator(batch_std=True), jnp.ones((5, 2))),
                                  (gan.DCGANDiscriminator(base=8, batch_std=True), jnp.ones((5, 28, 28, 3)))])
def test_batch_std_discriminators_judge_the_batch_not_only_each_sample(d, x):
  params = d.init(jax.random.PRNGKey(0), x)
  varied = x + jax.random.normal(jax.random.PRNGKey(1), x.shape)
  first = jnp.concatenate([varied[:1], x[1:]])  # the same first sample in a collapsed batch
  assert d.apply(params, varied).shape == (5,)
  assert not np.allclose(d.apply(params, varied)[0], d.apply(params, first)[0])
