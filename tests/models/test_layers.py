"""aejax.models.layers' Conv / ConvTranspose are Flax's nn.Conv / nn.ConvTranspose: the same params,
and the same outputs and gradients up to float32 rounding."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aejax.models import gan, layers

KEY = jax.random.PRNGKey(0)
RNG = np.random.default_rng(0)
EPS32 = float(np.finfo(np.float32).eps)
# Each output or gradient entry is a sum of n products. Summed in float32 in any order (blocked,
# with FMA or not), its rounding error stays below lambda * sqrt(n) * u * (sum of the terms'
# magnitudes), u = eps / 2, except with a probability that falls as exp(-lambda^2 / 2) (Higham and
# Mary, "A new approach to probabilistic rounding error analysis", SISC 2019). Two implementations
# then differ by at most LAMBDA * sqrt(n) * eps * sum |terms|.
LAMBDA = 4

DCGAN_DOWN = [(28, 1, 8), (28, 3, 16), (14, 8, 16), (14, 9, 32)]  # (size, in, out); 9: 8 + minibatch-std
DCGAN_UP = [(7, 16, 8), (7, 64, 32), (14, 8, 1), (14, 16, 3)]
DCGAN = dict(kernel_size=(4, 4), strides=(2, 2), padding="SAME")
SEED_DOWN = dict(kernel_size=(3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
SEED_UP = dict(kernel_size=(3, 3), strides=(2, 2), padding=((1, 2), (1, 2)))
OTHER = [dict(kernel_size=(3, 3), strides=2, padding="VALID"), dict(kernel_size=(5, 3), strides=(3, 1), padding="SAME"),
         dict(kernel_size=(3, 2), strides=(1, 2), padding=((2, 0), (1, 3))), dict(kernel_size=(4, 4), strides=2, padding=1)]


# Compiled without XLA's backend optimisations, which take seconds for the random initialisers.
_init = jax.jit(lambda module, x: module.init(KEY, x), static_argnums=0,
                compiler_options={"xla_backend_optimization_level": 0})


@jax.jit(static_argnums=(0, 4))
def _apply_and_grads(module, params, x, g, in_scan=False):
  """(output, (d params, d x)) of <module.apply(params, x), g>; in_scan: inside a lax.scan body, as
  `fit`'s fused steps run it (XLA lays out a loop body's convolutions differently)."""
  def run(_):
    y, vjp = jax.vjp(module.apply, params, x)
    return y, vjp(g)
  if in_scan:
    return jax.tree.map(lambda a: a[0], jax.lax.scan(lambda c, i: (c, run(i)), 0, None, length=1)[1])
  return run(None)


def assert_same_function(fast, ref, x, in_scan=False):
  """The same param shapes as `ref`; output and gradients (params, input) equal to float32 rounding:
  within LAMBDA * sqrt(n) * eps * sum |terms| of each entry, where n and the sum of |terms| come from
  applying the same linear maps to ones and to |inputs|."""
  shapes = jax.eval_shape(ref.init, KEY, x)
  assert jax.eval_shape(fast.init, KEY, x) == shapes
  params = jax.tree.map(lambda p: RNG.standard_normal(p.shape, np.float32) / 4, shapes)
  g = RNG.standard_normal(jax.eval_shape(ref.apply, params, x).shape, np.float32)
  got = _apply_and_grads(fast, params, x, g, in_scan)
  want = _apply_and_grads(ref, params, x, g)
  magnitude = _apply_and_grads(ref, jax.tree.map(jnp.abs, params), np.abs(x), np.abs(g))
  ones = lambda t: jax.tree.map(np.ones_like, t)
  terms = _apply_and_grads(ref, ones(params), ones(x), ones(g))
  for a, b, m, n in zip(*map(jax.tree.leaves, (got, want, magnitude, terms))):
    assert a.shape == b.shape
    err = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    bound = LAMBDA * np.sqrt(np.asarray(n, np.float64)) * EPS32 * np.asarray(m, np.float64)
    assert (err <= bound).all(), f"max |error| / bound = {np.max(err / (bound + 1e-30)):.3g}"


def _x(size, channels, batch=3):
  return RNG.standard_normal((batch, size, size + 1 if size < 10 else size, channels), np.float32)


@pytest.mark.parametrize("size,cin,cout", DCGAN_DOWN)
def test_conv_dcgan_shapes(size, cin, cout):
  assert_same_function(layers.Conv(cout, **DCGAN), nn.Conv(cout, **DCGAN), _x(size, cin))


@pytest.mark.parametrize("size,cin,cout", DCGAN_UP)
def test_conv_transpose_dcgan_shapes(size, cin, cout):
  assert_same_function(layers.ConvTranspose(cout, **DCGAN), nn.ConvTranspose(cout, **DCGAN), _x(size, cin))


@pytest.mark.parametrize("size,cin,cout", [(28, 1, 16), (14, 16, 32)])
def test_conv_seed_shapes(size, cin, cout):
  assert_same_function(layers.Conv(cout, **SEED_DOWN), nn.Conv(cout, **SEED_DOWN), _x(size, cin))


@pytest.mark.parametrize("size,cin,cout", [(7, 32, 16), (14, 16, 1)])
def test_conv_transpose_seed_shapes(size, cin, cout):
  assert_same_function(layers.ConvTranspose(cout, **SEED_UP), nn.ConvTranspose(cout, **SEED_UP), _x(size, cin))


@pytest.mark.parametrize("kw", OTHER)
@pytest.mark.parametrize("size", [7, 8])
def test_other_strides_and_paddings(kw, size):
  assert_same_function(layers.Conv(4, **kw), nn.Conv(4, **kw), _x(size, 3, batch=2))
  assert_same_function(layers.ConvTranspose(4, **kw), nn.ConvTranspose(4, **kw), _x(size, 3, batch=2))


def test_inside_scan():
  assert_same_function(layers.Conv(16, **DCGAN), nn.Conv(16, **DCGAN), _x(14, 8), in_scan=True)
  assert_same_function(layers.ConvTranspose(8, **DCGAN), nn.ConvTranspose(8, **DCGAN), _x(7, 16), in_scan=True)


def test_same_initial_params():
  x = _x(7, 2)
  jax.tree.map(np.testing.assert_array_equal, _init(layers.Conv(3, **DCGAN), x), _init(nn.Conv(3, **DCGAN), x))
  jax.tree.map(np.testing.assert_array_equal, _init(layers.ConvTranspose(3, **DCGAN), x),
               _init(nn.ConvTranspose(3, **DCGAN), x))


def test_dcgan_params_unchanged():
  # checkpoints of the DCGAN with Flax's convolutions load in the one with aejax's, and back
  z, x = jnp.zeros((2, 8)), jnp.zeros((2, 28, 28, 1))
  g, d = gan.DCGANGenerator(base=4), gan.DCGANDiscriminator(base=4)
  jax.tree.map(np.testing.assert_array_equal, _init(g, z), _init(g.clone(conv_transpose=nn.ConvTranspose), z))
  jax.tree.map(np.testing.assert_array_equal, _init(d, x), _init(d.clone(conv=nn.Conv), x))
  assert isinstance(g.conv_transpose(1, (4, 4)), layers.ConvTranspose) and isinstance(d.conv(1, (4, 4)), layers.Conv)


def test_kernel_size_must_be_2d():
  with pytest.raises(ValueError, match="kernel_size"):
    jax.eval_shape(layers.Conv(4, 3).init, KEY, jnp.zeros((1, 8, 8, 1)))


@pytest.mark.parametrize("module,size,cin", [(layers.Conv(8, **DCGAN), 14, 3), (layers.ConvTranspose(8, **DCGAN), 7, 16)])
def test_flax_form_where_nothing_was_measured(monkeypatch, module, size, cin):
  # a backend with no measurement (a GPU, say) traces to plain convolutions that autodiff
  # differentiates, as Flax's own layers; the CPU's trace holds the custom backward pass. (The choice is
  # made when tracing: batch 5, a shape no other test traces, so no cached trace of the CPU form is reused.)
  x = _x(size, cin, batch=5)
  params = _init(module, x)
  grad_jaxpr = lambda: str(jax.make_jaxpr(jax.grad(lambda p: module.apply(p, x).sum()))(params))
  assert "custom_vjp" in grad_jaxpr()
  monkeypatch.setattr(layers, "CUSTOM_BACKWARD", {})
  assert not layers.custom_backward() and "custom_vjp" not in grad_jaxpr()
  ref = nn.Conv(8, **DCGAN) if isinstance(module, layers.Conv) else nn.ConvTranspose(8, **DCGAN)
  assert_same_function(module, ref, x)


def _known_spectrum(s=(3.0, 1.0, 0.5, 0.1), rows=6):
  """A [rows, len(s)] matrix with singular values s and its top singular vectors u, v."""
  u, _ = np.linalg.qr(RNG.standard_normal((rows, len(s))))
  v, _ = np.linalg.qr(RNG.standard_normal((len(s), len(s))))
  return (u * np.asarray(s)) @ v.T, u[:, 0], v[:, 0]


def test_spectral_normalised_closed_form():
  # 20 power iterations shrink v's error by (1/3)^40, far below float32's eps: sigma is the exact top
  # singular value to rounding, and the gradient is d(W / sigma) with d sigma = u^T dW v (v held constant)
  w, u, v = _known_spectrum()
  g = RNG.standard_normal(w.shape)
  got = layers.spectral_normalised(jnp.asarray(w, jnp.float32))
  np.testing.assert_allclose(np.linalg.svd(np.asarray(got, np.float64), compute_uv=False)[0], 1.0, rtol=1e-5)
  grad = jax.grad(lambda w: jnp.sum(layers.spectral_normalised(w) * g))(jnp.asarray(w, jnp.float32))
  want = g / 3.0 - np.sum(w * g) / 9.0 * np.outer(u, v)
  np.testing.assert_allclose(grad, want, atol=1e-5 * np.abs(g).max())


def test_spectral_norm_layers():
  # a conv kernel is normalised as its [kh * kw * in, out] matrix: one with singular values 3, 1, 0.5 becomes
  # kernel / 3 to float32 rounding (power iteration's error (1/3)^40 is far below it; sigma = ||W v|| sums 32
  # squares of 3-term sums, so within a few times sqrt(32) roundings of 6e-8); the layer convolves with exactly
  # that kernel. Off, the layers are Flax's: same params, and Dense's outputs within the rounding of its 5-term
  # sums in any order (5 * eps * sum |h| |kernel|)
  x = _x(7, 2)
  params = _init(layers.Conv(3, **DCGAN), x)
  kernel = jnp.asarray(_known_spectrum((3.0, 1.0, 0.5), rows=32)[0].reshape((4, 4, 2, 3)), jnp.float32)
  normalised = layers.spectral_normalised(kernel)
  np.testing.assert_allclose(normalised, kernel / 3.0, rtol=1e-5, atol=1e-5 * float(jnp.abs(kernel).max()))
  with_sn = layers.Conv(3, spectral_norm=True, **DCGAN).apply({"params": {**params["params"], "kernel": kernel}}, x)
  plain = layers.Conv(3, **DCGAN).apply({"params": {**params["params"], "kernel": normalised}}, x)
  np.testing.assert_array_equal(with_sn, plain)
  h = jnp.asarray(RNG.standard_normal((4, 5)), jnp.float32)
  dense = _init(nn.Dense(3), h)
  jax.tree.map(np.testing.assert_array_equal, _init(layers.Dense(3), h), dense)
  bound = 5 * np.finfo(np.float32).eps * (np.abs(h) @ np.abs(dense["params"]["kernel"])) + 1e-30
  np.testing.assert_array_less(np.abs(layers.Dense(3).apply(dense, h) - nn.Dense(3).apply(dense, h)), bound)
  d, xd = gan.DCGANDiscriminator(base=4), jnp.zeros((2, 28, 28, 1))
  assert jax.tree.map(jnp.shape, _init(d, xd)) == jax.tree.map(jnp.shape, _init(d.clone(spectral_norm=True), xd))
