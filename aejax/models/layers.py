"""Flax's 2-D Conv and ConvTranspose with the same parameters and function, and a backward pass that
XLA runs fast on a CPU.

Left to autodiff, two gradients are slow on XLA:CPU: the kernel gradient of lax.conv_transpose (a
convolution of the stride-dilated input: 20-40x the forward pass for the DCGAN's 4x4 stride-2
layers), and, inside a lax.scan body (`fit` with steps_per_dispatch > 1), the kernel gradient of
any convolution, which XLA leaves in a layout its fast convolution does not take (40x slower).
Here every convolution of the forward and backward passes is written in the NHWC / HWIO layout:
a transposed convolution is the adjoint of a strided one, so each layer's input gradient is the
other kind of convolution, and both kernel gradients are one strided-kernel convolution
(`_kernel_grad`). Measured in benchmarks/gan_step.py and benchmarks/seed_step.py.

That form is for the backends where it was measured faster (`CUSTOM_BACKWARD`, read when a model is
traced). Elsewhere the layers compute as Flax's own (lax.conv_general_dilated / lax.conv_transpose,
differentiated by autodiff), since nothing says the custom form helps there.
"""

import functools
from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

DIMS = ("NHWC", "HWIO", "NHWC")
Padding = str | Sequence[tuple[int, int]]
# backend -> whether the custom backward pass runs there: measured faster on XLA:CPU (benchmarks/gan_step.py,
# benchmarks/seed_step.py); not measured on GPU or TPU, which therefore run Flax's form
CUSTOM_BACKWARD = {"cpu": True}


def custom_backward(backend: str | None = None) -> bool:
  """Whether the layers use the custom backward pass on `backend` (default: JAX's default backend)."""
  return CUSTOM_BACKWARD.get(backend or jax.default_backend(), False)


def _flip(kernel):
  """[kh, kw, I, O] -> [kh, kw, O, I], spatially flipped: the kernel of the adjoint convolution."""
  return jnp.flip(kernel, (0, 1)).swapaxes(2, 3)


def _transpose_padding(k: int, s: int, padding: str):
  """The padding lax.conv_transpose gives the stride-dilated input for "SAME" / "VALID" (as in jax.lax)."""
  if padding == "SAME":
    total = k + s - 2
    lo = k - 1 if s > k - 1 else -(-total // 2)
  elif padding == "VALID":
    total, lo = k + s - 2 + max(k - s, 0), k - 1
  else:
    raise ValueError(f"padding must be 'SAME', 'VALID' or (lo, hi) pairs, got {padding!r}")
  return lo, total - lo


def _kernel_grad(x, g, kernel_size, strides, pads):
  """d<conv(x, k, strides, pads), g>/dk [kh, kw, C, O]: the sum over the batch of x's windows times g.

  Written as the convolution of x [C, H, W, B] with g [Ho, Wo, B, O] dilated by the stride, which
  is in the layout XLA's fast CPU convolution takes. Left to autodiff, XLA rewrites it to that
  layout in a plain jit, but not inside a lax.scan body.
  """
  out = lax.conv_general_dilated(x.transpose(3, 1, 2, 0), g.transpose(1, 2, 0, 3), (1, 1), pads,
                                 rhs_dilation=strides, dimension_numbers=DIMS)
  return out[:, :kernel_size[0], :kernel_size[1]].transpose(1, 2, 0, 3)


def _adjoint_pads(n_in, n_out, kernel_size, strides, pads, dilated: bool):
  """Padding of the convolution that is the adjoint of `conv` (dilated=False) or `conv_transpose`.

  `conv` pads x by lo, so x[i] meets output o through tap t = i + lo - s o; its adjoint correlates
  the dilated output with the flipped kernel, padded by k - 1 - lo below, and likewise the other
  way. The high side brings the result back to the input's length n_in.
  """
  out = []
  for n, m, k, s, (lo, _) in zip(n_in, n_out, kernel_size, strides, pads):
    hi = (n - 1) * s + 1 - m + lo if dilated else n - 1 - (m - 1) * s + lo
    out.append((k - 1 - lo, hi))
  return tuple(out)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv(x, kernel, strides, pads):
  """The strided correlation of x [B, H, W, C] with kernel [kh, kw, C, O], x padded by `pads`
  ((lo, hi) per spatial axis): lax.conv_general_dilated, with the backward pass below."""
  return lax.conv_general_dilated(x, kernel, strides, pads, dimension_numbers=DIMS)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv_transpose(x, kernel, strides, pads):
  """The correlation of the stride-dilated x, padded by `pads`, with the kernel [kh, kw, I, O]:
  lax.conv_transpose(x, kernel, strides, pads), with the backward pass below."""
  return lax.conv_general_dilated(x, kernel, (1, 1), pads, lhs_dilation=strides, dimension_numbers=DIMS)


def _conv_bwd(strides, pads, res, g):
  x, kernel = res
  adjoint = _adjoint_pads(x.shape[1:3], g.shape[1:3], kernel.shape[:2], strides, pads, dilated=False)
  return conv_transpose(g, _flip(kernel), strides, adjoint), _kernel_grad(x, g, kernel.shape[:2], strides, pads)


def _conv_transpose_bwd(strides, pads, res, g):
  x, kernel = res
  adjoint = _adjoint_pads(x.shape[1:3], g.shape[1:3], kernel.shape[:2], strides, pads, dilated=True)
  return conv(g, _flip(kernel), strides, adjoint), _flip(_kernel_grad(g, x, kernel.shape[:2], strides, adjoint))


conv.defvjp(lambda x, kernel, strides, pads: (conv(x, kernel, strides, pads), (x, kernel)), _conv_bwd)
conv_transpose.defvjp(lambda x, kernel, strides, pads: (conv_transpose(x, kernel, strides, pads), (x, kernel)),
                      _conv_transpose_bwd)


def spectral_normalised(kernel, iters: int = 20):
  """kernel / sigma, sigma its largest singular value as a [fan_in, features] matrix (Miyato et al. 2018).

  Stateless: sigma = ||W v||, v from `iters` power iterations on W^T W started at a fixed vector and held
  constant in the gradient, as Miyato et al.'s u and v are (they keep u between steps and iterate once; here
  nothing is kept, so a module's params stay its only variables). Each iteration multiplies the error in v
  by (sigma_2 / sigma_1)^2.
  """
  w = kernel.reshape((-1, kernel.shape[-1]))
  gram = jax.lax.stop_gradient(w.T @ w)
  v = jnp.ones((w.shape[1],), w.dtype) / jnp.sqrt(w.shape[1])
  v = jax.lax.fori_loop(0, iters, lambda _, v: (lambda u: u / jnp.linalg.norm(u))(gram @ v), v)
  return kernel / jnp.linalg.norm(w @ jax.lax.stop_gradient(v))


def _strides(strides) -> tuple[int, int]:
  return (1, 1) if strides is None else (strides, strides) if isinstance(strides, int) else tuple(strides)


def _explicit(padding):
  """Flax's int / (lo, hi) / per-dimension padding as ((lo, hi), (lo, hi)); strings pass through."""
  if isinstance(padding, str):
    return padding
  if isinstance(padding, int):
    return ((padding, padding),) * 2
  return tuple((p, p) if isinstance(p, int) else tuple(p) for p in padding)


class _Conv2D(nn.Module):
  """The fields, parameters and initialisers of Flax's 2-D Conv / ConvTranspose (NHWC, HWIO kernel)."""
  features: int
  kernel_size: Sequence[int]
  strides: int | Sequence[int] | None = None
  padding: Padding | int = "SAME"
  use_bias: bool = True
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros_init()
  spectral_norm: bool = False  # the kernel divided by its largest singular value (spectral_normalised)

  @nn.compact
  def __call__(self, x):
    if isinstance(self.kernel_size, int) or len(self.kernel_size) != 2:  # an int is a 1-D kernel in Flax
      raise ValueError(f"{type(self).__name__} is 2-D: kernel_size must be (kh, kw), got {self.kernel_size!r}")
    kernel = self.param("kernel", self.kernel_init, (*self.kernel_size, x.shape[-1], self.features))
    kernel = spectral_normalised(kernel) if self.spectral_norm else kernel
    y = self._convolve(x, kernel, _strides(self.strides), _explicit(self.padding))
    if self.use_bias:
      y = y + self.param("bias", self.bias_init, (self.features,))
    return y


class Conv(_Conv2D):
  """nn.Conv (2-D) with the same parameters and function and a backward pass in XLA's fast layouts
  (see `conv`); either module's params load in the other."""

  def _convolve(self, x, kernel, strides, padding):
    if isinstance(padding, str):
      padding = tuple(lax.padtype_to_pads(x.shape[1:3], kernel.shape[:2], strides, padding))
    return (conv if custom_backward() else conv.fun)(x, kernel, strides, padding)


class ConvTranspose(_Conv2D):
  """nn.ConvTranspose (2-D, kernel not transposed) with the same parameters and function and a fast
  backward pass (see `conv_transpose`); either module's params load in the other."""

  def _convolve(self, x, kernel, strides, padding):
    if isinstance(padding, str):
      padding = tuple(_transpose_padding(k, s, padding) for k, s in zip(kernel.shape[:2], strides))
    return (conv_transpose if custom_backward() else conv_transpose.fun)(x, kernel, strides, padding)


class Dense(nn.Module):
  """nn.Dense's parameters and function, with `spectral_norm` as the convolutions' (either module's params
  load in the other)."""
  features: int
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", nn.linear.default_kernel_init, (x.shape[-1], self.features))
    kernel = spectral_normalised(kernel) if self.spectral_norm else kernel
    return x @ kernel + self.param("bias", nn.initializers.zeros_init(), (self.features,))
