"""Functions as static jit arguments that compare by value: the one mechanism for it in aejax.

jit caches an executable per value of its static arguments. Python compares bound methods by the
identity of their instance and partials by identity, so `model.apply` of two equal Flax modules
(modules are dataclasses) would compile twice. `static_fn` makes such functions equal, and
`by_value` does the same for what a factory (a loss) builds from equal arguments. The train steps,
the losses, the GAN sampler and the evaluation helpers all go through them, so equal models and
settings share one executable.

Something unhashable inside (an array, a list, a module with a list field) raises a TypeError that
names it: falling back to identity would silently compile again for every new copy.
"""

import dataclasses
import functools
import inspect
import types

_FIX = ("pass hashable settings (numbers, strings, tuples, Flax modules with such fields); arrays belong "
        "in the state or batch (traced), not in the function")


class ByValue:
  """Calls `fn`, but compares and hashes by `key`: what jit's cache of static arguments looks at."""
  __slots__ = ("fn", "key")

  def __init__(self, fn, key):
    self.fn, self.key = fn, key

  def __call__(self, *args, **kwargs):
    return self.fn(*args, **kwargs)

  def __eq__(self, other):
    return isinstance(other, ByValue) and self.key == other.key

  def __hash__(self):
    return hash(self.key)

  def __repr__(self):
    return f"ByValue({self.fn!r})"


def _key(value, where: str):
  """What `value` is compared by: partials by their function and arguments, bound methods by their
  function and instance, tuples by their items, anything else by itself (if hashable)."""
  if isinstance(value, ByValue):
    return value.key
  if isinstance(value, functools.partial):
    return (functools.partial, _key(value.func, f"{where}.func"),
            tuple(_key(a, f"{where} argument {i}") for i, a in enumerate(value.args)),
            tuple(sorted((k, _key(v, f"{where} argument {k!r}")) for k, v in value.keywords.items())))
  if isinstance(value, types.MethodType):
    return (types.MethodType, value.__func__, _key(value.__self__, f"{where}'s instance"))
  if isinstance(value, tuple):
    return (type(value), *(_key(v, f"{where}[{i}]") for i, v in enumerate(value)))
  try:
    hash(value)
  except TypeError:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # name the field at fault
      for f in dataclasses.fields(value):
        if f.compare if f.hash is None else f.hash:  # the fields its hash is made of
          _key(getattr(value, f.name, None), f"{where} field {f.name!r}")
    raise TypeError(f"{where} is unhashable ({type(value).__name__}), so it cannot be part of a compiled "
                    f"function's static value; {_FIX}") from None
  return value


def static_fn(fn, name: str = "the function"):
  """`fn` as a static jit argument that compares by value, so equal functions share one compile.

  `model.apply` of an equal Flax module and a fresh `functools.partial(model.apply, method="encode")`
  equal earlier ones. A plain function is itself: each new lambda compiles anew. Raises TypeError,
  naming `name`, if anything bound into `fn` is unhashable.
  """
  if isinstance(fn, ByValue):
    return fn
  key = _key(fn, name)
  return fn if key is fn else ByValue(fn, key)  # anything else already compares as itself


def _settled(signature, name, value):
  """A **kwargs argument as sorted (name, value) pairs; any other argument as it is."""
  if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
    return tuple(sorted(value.items()))
  return value


def by_value(factory=None, *, parts: int = 0):
  """Decorate a factory of functions (a loss) so that what it returns compares by value: by the
  factory and its arguments (defaults filled in, each through `static_fn`'s rules). With `parts`,
  the factory returns that many functions (the GAN's d and g losses), each its own value."""
  if factory is None:
    return functools.partial(by_value, parts=parts)
  signature = inspect.signature(factory)

  @functools.wraps(factory)
  def make(*args, **kwargs):
    built = factory(*args, **kwargs)  # bad settings raise here, where they were given
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()  # so f(x) equals f(x, kind="mse") when "mse" is the default
    name = factory.__qualname__
    key = (factory, *((k, _key(_settled(signature, k, v), f"{name}({k}=...)"))
                      for k, v in bound.arguments.items()))
    if parts:
      return tuple(ByValue(fn, (key, i)) for i, fn in enumerate(built))
    return ByValue(built, key)

  return make
