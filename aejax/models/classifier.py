"""Classifiers: a head on any encoder (linear probe, MLP head, fine-tuning), and a small CNN."""

from typing import Sequence

import flax.linen as nn
import jax


class EncoderClassifier(nn.Module):
  """logits = head(encoder(x)). `head_hidden=()` is a linear head.

  Frozen probes and full fine-tuning differ only in which params the optimiser updates
  (see aejax.train.freeze), not in the module.
  """
  encoder: nn.Module
  num_classes: int = 10
  head_hidden: Sequence[int] = ()

  @nn.compact
  def __call__(self, x):
    h = self.encoder(x)
    h = h.reshape((h.shape[0], -1))
    for width in self.head_hidden:
      h = nn.relu(nn.Dense(width)(h))
    return nn.Dense(self.num_classes, name="head")(h)


class CNN(nn.Module):
  """Small MNIST CNN; `features(x)` is the penultimate layer [B, 128] used for Frechet distance."""
  num_classes: int = 10

  def setup(self):
    self.conv1 = nn.Conv(32, (3, 3))
    self.conv2 = nn.Conv(64, (3, 3))
    self.fc = nn.Dense(128)
    self.out = nn.Dense(self.num_classes)

  def features(self, x):
    h = nn.relu(self.conv1(x))
    h = nn.max_pool(h, (2, 2), (2, 2))
    h = nn.relu(self.conv2(h))
    h = nn.max_pool(h, (2, 2), (2, 2))
    return nn.relu(self.fc(h.reshape((h.shape[0], -1))))

  def __call__(self, x):
    return self.out(self.features(x))


def with_encoder(classifier_params, autoencoder_params):
  """EncoderClassifier params whose "encoder" subtree is copied from a trained Autoencoder's."""
  return {**classifier_params, "params": {**classifier_params["params"],
                                          "encoder": autoencoder_params["params"]["encoder"]}}
