"""Typed, nested experiment configs: every value declared once with its check.

An experiment declares its settings as a schema of fields grouped by concern,

    SCHEMA = config.schema(seeds=config.integer(3, min=1),
                           mix=dict(steps=config.integer(5000, min=8), batch=config.batch(100)))

and gets an `ml_collections.ConfigDict` (`cfg.mix.steps`) from `SCHEMA.build(overrides)`. Overrides
use dotted names (`--set mix.steps=100`); each is parsed to its field's type and checked where the
field is declared (type, range, whether it splits over the devices). A bad key or value raises
ConfigError, one line that names it and the fix, before anything compiles.
"""

import ast
import dataclasses
import difflib
from typing import Any, Callable

import ml_collections

PROFILES = ("smoke", "default", "paper")


class ConfigError(ValueError):
  """A bad key or value; raised before any data is loaded or anything compiled."""


@dataclasses.dataclass(frozen=True)
class Field:
  """One setting: its default, its type, the check it must pass (`what` says it in words) and
  whether it is a batch size that must split over the devices of the parallel mode."""
  default: Any
  kind: type
  ok: Callable[[Any], bool] = lambda v: True
  what: str = ""
  splits: bool = False
  sequence: bool = False  # a tuple of `kind` values

  def parse(self, key: str, text: str):
    """`text` from the command line as this field's type."""
    if self.kind is str and not self.sequence:
      return text
    try:
      value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      if self.kind is str:  # a tuple of bare words: a,b
        value = tuple(t.strip() for t in text.strip("()").split(",") if t.strip())
      else:
        raise ConfigError(f"--set {key}={text}: cannot parse {text!r} as {self.describe()}") from None
    if self.sequence and not isinstance(value, (list, tuple)):
      value = (value,)
    return value

  def coerce(self, key: str, value):
    """`value` checked against the type and the range; ints widen to floats."""
    items = value if self.sequence else (value,)
    if self.sequence and not isinstance(value, (list, tuple)):
      raise ConfigError(f"config key {key!r} must be {self.describe()}, got {value!r}")
    out = []
    for v in items:
      if self.kind is float and type(v) is int:
        v = float(v)
      if type(v) is not self.kind:  # bool is not an int here
        raise ConfigError(f"config key {key!r} must be {self.describe()}, got {value!r}")
      if not self.ok(v):
        raise ConfigError(f"config key {key!r} must be {self.describe()}, got {value!r}")
      out.append(v)
    return tuple(out) if self.sequence else out[0]

  def describe(self) -> str:
    kind = {int: "an integer", float: "a number", bool: "true or false (True/False)", str: "a string"}[self.kind]
    what = self.what if self.kind is str and self.what else f"{kind} {self.what}".strip()
    return f"a tuple of {what.replace('an integer', 'integers').replace('a number', 'numbers')}" if self.sequence else what


def integer(default: int, *, min: int | None = None, max: int | None = None, splits: bool = False) -> Field:
  bounds = ">= " + str(min) if max is None else f"in [{min}, {max}]"
  return Field(default, int, lambda v: (min is None or v >= min) and (max is None or v <= max),
               bounds if min is not None else "", splits)


def batch(default: int) -> Field:
  """A batch size: an integer >= 1 that must split over the devices."""
  return integer(default, min=1, splits=True)


def real(default: float, *, above: float | None = None, min: float | None = None, below: float | None = None) -> Field:
  """A float; `above`/`below` are strict bounds, `min` inclusive."""
  words = [f"{sign} {bound:g}" for sign, bound in ((">", above), (">=", min), ("<", below)) if bound is not None]
  return Field(float(default), float, lambda v: (above is None or v > above) and (min is None or v >= min)
               and (below is None or v < below), " and ".join(words))


def flag(default: bool) -> Field:
  return Field(default, bool)


def choice(default: str, options) -> Field:
  options = tuple(options)
  return Field(default, str, lambda v: v in options, "one of " + ", ".join(options))


def integers(default, *, min: int | None = None) -> Field:
  f = integer(0, min=min)
  return dataclasses.replace(f, default=tuple(default), sequence=True)


def reals(default, *, above: float | None = None, min: float | None = None, below: float | None = None) -> Field:
  f = real(0.0, above=above, min=min, below=below)
  return dataclasses.replace(f, default=tuple(float(v) for v in default), sequence=True)


def choices(default, options) -> Field:
  f = choice("", options)
  return dataclasses.replace(f, default=tuple(default), sequence=True)


class Schema:
  """A nested set of fields (groups are dicts); `build` makes the checked ConfigDict."""

  def __init__(self, fields: dict):
    self.fields = dict(_flatten(fields))

  def __or__(self, other: "Schema") -> "Schema":
    return Schema({**self.fields, **other.fields})

  def build(self, values: dict | None = None, sets: list[str] = ()) -> ml_collections.ConfigDict:
    """The defaults, then `values` ({dotted name: value}, e.g. a profile's), then `sets`
    ("dotted.name=value" strings), each parsed and checked; a locked ConfigDict."""
    flat = {k: f.default for k, f in self.fields.items()}
    for key, value in (values or {}).items():
      flat[key] = self.field(key).coerce(key, value)
    for item in sets:
      if "=" not in item:
        raise ConfigError(f"--set expects key=value, got {item!r}")
      key, text = (s.strip() for s in item.split("=", 1))
      flat[key] = self.field(key).coerce(key, self.field(key).parse(key, text))
    cfg = ml_collections.ConfigDict(_nest(flat))
    cfg.lock()
    return cfg

  def field(self, key: str) -> Field:
    if key not in self.fields:
      close = difflib.get_close_matches(key, self.fields, n=3)
      hint = f"did you mean {', '.join(close)}? " if close else ""
      raise ConfigError(f"unknown config key {key!r}; {hint}known keys: {', '.join(self.fields)}")
    return self.fields[key]

  def check_split(self, cfg, devices: int, mode: str) -> None:
    """Every batch-size field splits evenly over `devices`, or a ConfigError names the multiple."""
    flat = flatten(cfg)
    for key, f in self.fields.items():
      if f.splits and flat[key] % devices:
        value = flat[key]
        lower, upper = value // devices * devices, -(-value // devices) * devices
        raise ConfigError(f"config key {key!r} = {value} does not split over the {devices} devices of "
                          f"parallel={mode}; set it to a multiple of {devices} (e.g. --set {key}={upper}"
                          + (f" or {lower}" if lower else "") + ")")

  def help(self) -> str:
    """`name=default` for every field, in declaration order."""
    return " ".join(f"{k}={_show(f.default)}" for k, f in self.fields.items())


def schema(**fields) -> Schema:
  return Schema(fields)


def flatten(tree, prefix: str = "") -> dict:
  """{dotted name: value} of a nested dict or ConfigDict."""
  items = tree.items() if hasattr(tree, "items") else ()
  out = {}
  for k, v in items:
    if hasattr(v, "items"):
      out.update(flatten(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = v
  return out


def _flatten(fields: dict, prefix: str = ""):
  for k, v in fields.items():
    if isinstance(v, dict):
      yield from _flatten(v, f"{prefix}{k}.")
    elif isinstance(v, Field):
      yield f"{prefix}{k}", v
    else:
      raise TypeError(f"config field {prefix}{k} must be declared with aejax.config (integer, real, ...), got {v!r}")


def _nest(flat: dict) -> dict:
  out = {}
  for key, value in flat.items():
    node = out
    *groups, leaf = key.split(".")
    for g in groups:
      node = node.setdefault(g, {})
    node[leaf] = value
  return out


def _show(v) -> str:
  return ",".join(map(str, v)) if isinstance(v, tuple) else str(v)
