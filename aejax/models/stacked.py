"""Stacked MLP autoencoder with tied or untied weights, and greedy layer-wise assembly."""

from typing import Callable, Sequence

import flax.linen as nn

ACTIVATIONS: dict[str, Callable] = {"selu": nn.selu, "relu": nn.relu}


class TiedDense(nn.Module):
  """Decoder layer tied to an encoder Dense: y = x @ kernel.T + its own bias.

  The kernel is passed in (it belongs to the encoder), so only the bias is a parameter here.
  """
  features: int

  @nn.compact
  def __call__(self, x, kernel):
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    return x @ kernel.T + bias


class StackedAutoencoder(nn.Module):
  """784-300-150-300-784 by default; `tied=True` reuses each encoder kernel, transposed, in the decoder.

  Input [B, ...] is flattened; returns (logits shaped like the input, codes [B, sizes[-1]]).
  Parameters: enc_i (kernel, bias) and dec_i (bias, plus kernel when untied); dec_i mirrors enc_i.
  """
  sizes: Sequence[int] = (300, 150)
  tied: bool = True
  activation: str = "selu"

  @nn.compact
  def __call__(self, x):
    act = ACTIVATIONS[self.activation]
    h = x.reshape((x.shape[0], -1))
    dims = [h.shape[-1], *self.sizes[:-1]]
    encoders = [nn.Dense(s, name=f"enc_{i}") for i, s in enumerate(self.sizes)]
    for enc in encoders:
      h = act(enc(h))
    z = h
    for i in reversed(range(len(self.sizes))):
      if self.tied:
        h = TiedDense(dims[i], name=f"dec_{i}")(h, encoders[i].variables["params"]["kernel"])
      else:
        h = nn.Dense(dims[i], name=f"dec_{i}")(h)
      if i > 0:
        h = act(h)
    return h.reshape(x.shape), z

  def encode(self, x):
    return self(x)[1]


def stack_params(layer_params: Sequence[dict]) -> dict:
  """Greedy layer-wise pretraining: join one-layer autoencoders' params into one stack's params.

  layer_params[i] are the params of StackedAutoencoder(sizes=(sizes[i],)) trained on the codes
  of layers < i; the result fits StackedAutoencoder(sizes=sizes) with the same `tied`.
  """
  stacked = {}
  for i, p in enumerate(layer_params):
    p = p["params"] if "params" in p else p
    stacked[f"enc_{i}"] = p["enc_0"]
    stacked[f"dec_{i}"] = p["dec_0"]
  return {"params": stacked}
