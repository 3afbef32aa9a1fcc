"""One GAN step gives the same losses and gradients under jit, pmap (4 CPU devices) and a 4-device
mesh, for every GAN architecture of q7 and q8 at tiny widths.

Whole GAN runs can be compared across modes only in distribution (tests/experiments/
test_parallel_modes.py): the modes take float32 sums in different orders, and where a gradient is
as small as its rounding (q8's 2-D generator: down to about 1e-7), Adam still turns it into a step of
+-lr, so a rounding difference can flip that step's sign and the game goes elsewhere. The equality
the modes promise is checked here instead, one step at a time: the trainer's own GAN step
(train.make_gan_step, batch-norm statistics over all devices as recipes._global_statistics sets
them under pmap) with an optimiser that records the gradients instead of applying them.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from aejax import data, losses, parallel, recipes, train
from aejax.models import gan
from tests.tolerance import EPS32

# Tolerance. Every gradient entry and every batch statistic of the step (batch-norm means and
# variances, the minibatch std) is a sum of at most n terms: the examples the losses average over
# (real and fake; labelled, unlabeled and fake for the semi-supervised GAN) times the positions a
# weight is applied at, or a layer's fan-in. jit, pmap (per-device partial sums, then pmean) and
# the mesh (XLA's partitioned reduction) take these sums in different orders. A sum of n terms
# taken in any order is within (n - 1) * eps * sum|terms| of the exact one (Higham, Accuracy and
# Stability of Numerical Algorithms, 4.2), so two orders differ by at most 2 * n * eps * sum|terms|.
# The statistics' rounding enters the gradients with factors of order one, which the slack of
# this worst case (n, where rounding typically gives sqrt(n)) covers. For a leaf whose terms do not
# cancel, sum|terms| is its largest entry; so per leaf: max |g_mode - g_jit| <= 2 * n * eps * S,
# S = max |g_jit|, and likewise for the losses (means of non-negative terms), S = |loss|.
# Two kinds of leaves cancel by construction:
# - the discriminator's output bias: its gradient sums, for each mean the D loss takes, that mean's
#   derivatives in D's outputs (BCE's sigmoid(l) - y, softmax CE's p - y: at most 1 in size, over
#   the mean's count), e.g. d_real + d_fake - 1, which is about 0 whenever D scores real and fake
#   alike; sum|terms| <= the number of means (2; 3 for the semi-supervised GAN), which is its S;
# - a bias right before a batch norm, which subtracts it again: its exact gradient is 0 in every
#   mode, whatever the batch statistics, and what is computed is rounding; it is not compared.
# A broken mode (statistics per device, gradients not averaged, the same noise on every device)
# moves gradients by percents, far beyond 2 * n * eps.

MODES = ("pmap", "mesh")


def _zeros(tree):
  return jax.tree.map(jnp.zeros_like, tree)


# Keeps the gradient as its state and leaves the params as they are: the GAN step then returns both
# gradients, G's taken against the same D in every mode.
RECORD = optax.GradientTransformation(_zeros, lambda grads, state, params=None: (_zeros(grads), grads))


@dataclasses.dataclass(frozen=True)
class Case:
  """A generator/discriminator pair as an experiment trains it, and one global batch for it."""
  g: object
  d: object
  batch: dict = dataclasses.field(hash=False, compare=False)
  latent: int = 8
  pack: int = 1
  unroll: int = 0
  image_output: bool = True
  semi: bool = False  # losses.gan_semi_supervised (q7); else losses.gan_nonsaturating

  @property
  def conditional(self):
    return "label" in self.batch and not self.semi

  @property
  def means(self):
    """How many per-example means D's loss adds (real, fake; semi-supervised: also labelled)."""
    return 3 if self.semi else 2

  def sums(self, params):
    """n: the most terms any sum of the step adds (see the tolerance above)."""
    x = self.batch["image"]
    convolutional = isinstance(self.g, gan.DCGANGenerator)  # the MLPs flatten: their sums over pixels are fan-ins
    positions = int(np.prod(x.shape[1:-1])) if convolutional else 1
    fan_in = max(int(np.prod(k.shape[:-1])) for k in jax.tree.leaves(params) if k.ndim > 1)
    return max(self.means * len(x) * positions, fan_in)

  def output_bias(self):
    """Path of D's output bias in its params."""
    last = "Dense_0" if isinstance(self.d, gan.DCGANDiscriminator) else f"Dense_{len(self.d.hidden)}"
    return ("params", last, "bias")

  def before_batch_norm(self):
    """{"g"/"d": paths of biases that feed a batch norm directly}: their exact gradient is 0."""
    paths = {"g": set(), "d": set()}
    if isinstance(self.g, gan.DCGANGenerator) and self.g.batch_norm:
      paths["g"].add(("params", "ConvTranspose_0", "bias"))  # its Dense_0's bias varies per position: kept
    if isinstance(self.d, gan.DCGANDiscriminator) and self.d.batch_norm:
      paths["d"].add(("params", "Conv_1", "bias"))
    return paths


def _cases():
  rng = np.random.default_rng(0)
  points = data.mixture("ring", 64, seed=0)[0]
  images = lambda n, c: rng.integers(0, 256, (n, 28, 28, c)).astype(np.uint8)
  labels = lambda n: rng.integers(0, 10, n).astype(np.int32)
  # q8's 2-D mixtures: PacGAN's generator (batch norm, N(0, 0.02) weights) and maxout discriminator
  mix_g = gan.MLPGenerator(hidden=(16,) * 4, batch_norm=True, init_std=0.02)
  mix_d = gan.MLPDiscriminator(hidden=(16,) * 3, maxout=5, init_std=0.02)
  mix = dict(batch={"image": points}, latent=2, image_output=False)
  dcgan = lambda channels=1, **kw: (gan.DCGANGenerator(channels=channels, base=4, **kw),
                                    gan.DCGANDiscriminator(base=4, **kw))
  stacked = images(32, 3)  # Stacked MNIST: three digits as channels
  return {
      "q8_mixture_gan": Case(mix_g, mix_d, **mix),
      "q8_mixture_pacgan2": Case(mix_g, mix_d, **mix, pack=2),
      "q8_mixture_unrolled": Case(mix_g, mix_d, **mix, unroll=5),  # the paper profile's third method
      "q7_dcgan": Case(*dcgan(), batch={"image": images(16, 1)}),  # also q8's lr x beta1 sweep
      "q7_conditional_dcgan": Case(*dcgan(num_classes=10), batch={"image": images(16, 1), "label": labels(16)}),
      "q8_stacked_dcgan": Case(*dcgan(3), batch={"image": stacked}),
      "q8_stacked_pacdcgan2": Case(*dcgan(3), batch={"image": stacked}, pack=2),
      "q8_stacked_minibatch_std": Case(gan.DCGANGenerator(channels=3, base=4),
                                       gan.DCGANDiscriminator(base=4, batch_std=True), batch={"image": stacked}),
      "q7_semi_supervised": Case(gan.MLPGenerator(out_dim=784, hidden=(16,), batch_norm=True),
                                 gan.SemiSupervisedDiscriminator(hidden=(16, 8), num_classes=10), semi=True,
                                 batch={"image": images(16, 1), "label": labels(16), "unlabeled": images(16, 1)}),
  }


CASES = _cases()


def gan_losses(case, mode):
  """(d_loss_fn, g_loss_fn) as the recipes build them for `mode`."""
  g, d = recipes._global_statistics(case.g, mode), recipes._global_statistics(case.d, mode)
  axis = parallel.axis_name(mode)
  if case.semi:
    return losses.gan_semi_supervised(g.apply, d.apply, case.latent, axis_name=axis)
  return losses.gan_nonsaturating(g.apply, d.apply, case.latent, conditional=case.conditional, pack=case.pack,
                                  image_output=case.image_output, unroll=case.unroll, axis_name=axis)


@functools.lru_cache(maxsize=None)
def start(name):
  """The state recipes.train_gan (or train_semi_supervised_gan) starts from, with RECORD as both
  optimisers."""
  case = CASES[name]
  k_g, k_d = jax.random.split(jax.random.PRNGKey(0))
  y0 = jnp.zeros((1,), jnp.int32) if case.conditional else None
  g_params = recipes.init(case.g, k_g, jnp.zeros((1, case.latent)), y0)
  x = case.batch["image"]
  x0 = jnp.zeros((1, *x.shape[1:-1], x.shape[-1] * case.pack), jnp.float32)  # a packed D sees pack samples
  d_params = recipes.init(case.d, k_d, x0, y0) if case.conditional else recipes.init(case.d, k_d, x0)
  state = train.create_gan_state(g_params, d_params, RECORD, RECORD, seed=0)
  if case.semi:
    hparams = {"unlabeled_weight": jnp.float32(1.0)}
    state = state.replace(g=state.g.replace(hparams=hparams), d=state.d.replace(hparams=hparams))
  return jax.device_get(state)


@functools.lru_cache(maxsize=None)
def one_step(name, mode):
  """{"d_loss", "g_loss", "d": dD_loss/dD, "g": dG_loss/dG} of one step in `mode`, as numpy."""
  case = CASES[name]
  step = train.make_gan_step(*gan_losses(case, mode), axis_name=parallel.axis_name(mode))
  state, metrics = parallel.compile_step(step, mode, donate=False)(parallel.put_state(start(name), mode),
                                                                   parallel.put_batch(case.batch, mode))
  state, metrics = jax.device_get(parallel.get_state((state, metrics), mode))
  return {"d_loss": metrics["d_loss"], "g_loss": metrics["g_loss"], "d": state.d.opt_state, "g": state.g.opt_state}


def rounding(name, mode):
  """{(network, path): (max |g_mode - g_jit|, S)} over the compared leaves (see the tolerance above)."""
  case, want, got = CASES[name], one_step(name, "jit"), one_step(name, mode)
  skip, out = case.before_batch_norm(), {}
  assert case.output_bias() in {tuple(k.key for k in p) for p, _ in jax.tree_util.tree_leaves_with_path(want["d"])}
  for net in ("d", "g"):
    w = {tuple(k.key for k in p): np.float64(v) for p, v in jax.tree_util.tree_leaves_with_path(want[net])}
    g = {tuple(k.key for k in p): np.float64(v) for p, v in jax.tree_util.tree_leaves_with_path(got[net])}
    assert set(g) == set(w) and skip[net] <= set(w), (net, sorted(w))  # the named paths exist
    for path in sorted(set(w) - skip[net]):
      scale = case.means if (net, path) == ("d", case.output_bias()) else np.abs(w[path]).max()
      out[net, path] = (float(np.abs(g[path] - w[path]).max()), float(scale))
  return out


def test_four_devices():
  assert jax.device_count() == 4


# Two losses are not yet the same function of the global batch under pmap: what they reduce over
# the batch inside the loss is taken over each device's slice (mesh and jit see the whole batch).


# Under pmap the two losses whose terms mix examples across the batch (the Unrolled GAN's inner steps, feature
# matching's means) take the batch axis, as the recipes pass it: without it each device follows its own slice.
@pytest.mark.parametrize("name,mode", [(n, m) for n in CASES for m in MODES])
def test_one_step_equals_single_device(name, mode):
  want, got = one_step(name, "jit"), one_step(name, mode)
  n = CASES[name].sums(start(name).params)
  bound = 2 * n * EPS32
  for key in ("d_loss", "g_loss"):
    assert abs(float(got[key]) - float(want[key])) <= bound * abs(float(want[key])), (key, got[key], want[key])
  over = {f"{net}/{'/'.join(path[1:])}": f"{diff / (EPS32 * scale):.3g} eps * S"
          for (net, path), (diff, scale) in rounding(name, mode).items() if diff > bound * scale}
  assert not over, f"{mode}: gradients differ from jit's beyond 2n = {2 * n} eps * S: {over}"
