"""Functions as static jit arguments that compare by value.

jit caches an executable per value of its static arguments. Python compares bound methods by the
identity of their instance and partials by identity, so `model.apply` of two equal Flax modules
(modules are dataclasses) would compile twice; `static_fn` makes them equal. The losses
(aejax.losses.by_value) and the evaluation helpers use it, so equal models share one executable.
"""

import functools
import types


class _ByValue:
  """Calls `fn`, but compares and hashes by `key`: what jit's cache of static arguments looks at."""

  def __init__(self, fn, key):
    self.fn, self.key = fn, key
    hash(key)  # TypeError now if something bound is unhashable (an array)

  def __call__(self, *args, **kwargs):
    return self.fn(*args, **kwargs)

  def __eq__(self, other):
    return isinstance(other, _ByValue) and self.key == other.key

  def __hash__(self):
    return hash(self.key)


def _value_key(fn):
  if isinstance(fn, functools.partial):
    return (functools.partial, _value_key(fn.func), tuple(map(_value_key, fn.args)),
            tuple(sorted((k, _value_key(v)) for k, v in fn.keywords.items())))
  if isinstance(fn, types.MethodType):
    return (types.MethodType, fn.__func__, fn.__self__)
  return fn


def static_fn(fn):
  """`fn` as a static jit argument that compares by value, so equal functions share one compile.

  Python compares bound methods by the identity of their instance and partials by identity; here
  `model.apply` of an equal Flax module (modules are dataclasses) and a fresh
  `functools.partial(model.apply, method="encode")` equal earlier ones. A lambda is still itself:
  each new lambda compiles anew. Functions with unhashable bound arguments are returned as they are.
  """
  try:
    key = _value_key(fn)
    return fn if key is fn else _ByValue(fn, key)  # anything else already compares as itself
  except TypeError:
    return fn
