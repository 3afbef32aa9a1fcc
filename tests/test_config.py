"""aejax.config: nested typed fields, dotted overrides parsed to each field's type, checks where declared."""

import pytest

from aejax import config as C

SCHEMA = C.schema(seeds=C.integer(3, min=1), dataset=C.choice("mnist", ("mnist", "fashion_mnist")),
                  mix=dict(steps=C.integer(5000, min=8), batch=C.batch(100), lr=C.real(1e-3, above=0),
                           batch_norm=C.flag(True), methods=C.choices(("gan",), ("gan", "pacgan2"))),
                  sweep=dict(lr=C.reals((2e-4, 1e-2), above=0)))


def test_defaults_nest_and_lock():
  cfg = SCHEMA.build()
  assert cfg.mix.steps == 5000 and cfg.sweep.lr == (2e-4, 1e-2) and cfg.mix.batch_norm is True
  with pytest.raises(AttributeError):
    cfg.mix.stepz = 3  # locked: a typo is not a new setting
  assert C.flatten(cfg.to_dict())["mix.lr"] == 1e-3


def test_dotted_overrides_parse_to_the_declared_type():
  cfg = SCHEMA.build({"seeds": 1}, ["mix.lr=1", "mix.methods=(gan, pacgan2)", "mix.batch_norm=False",
                                    "sweep.lr=0.5", "dataset=fashion_mnist"])
  assert (cfg.seeds, cfg.mix.lr, cfg.mix.methods, cfg.mix.batch_norm, cfg.sweep.lr, cfg.dataset) == \
      (1, 1.0, ("gan", "pacgan2"), False, (0.5,), "fashion_mnist")


@pytest.mark.parametrize("item,needle", [
    ("mix.stepz=3", "unknown config key 'mix.stepz'; did you mean mix.steps"),
    ("mix.steps=3", "'mix.steps' must be an integer >= 8, got 3"),
    ("mix.steps=2.5", "'mix.steps' must be an integer >= 8"),
    ("mix.batch_norm=1", "'mix.batch_norm' must be true or false"),  # a bool is not an int, nor an int a bool
    ("mix.lr=-1", "'mix.lr' must be a number > 0"),
    ("mix.lr=abc", "cannot parse"),
    ("mix.methods=(gan, wgan)", "'mix.methods' must be a tuple of"),
    ("dataset=imagenet", "'dataset' must be one of mnist, fashion_mnist"),
    ("seeds", "expects key=value"),
])
def test_bad_values_name_the_key(item, needle):
  with pytest.raises(C.ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
    SCHEMA.build(sets=[item])


def test_a_batch_flag_is_not_a_batch_size():
  """Only fields declared as batch sizes must split over the devices: a bool named like one is a flag."""
  schema = C.schema(mix=dict(batch=C.batch(100), batch_norm=C.flag(True)))
  schema.check_split(schema.build(), 4, "mesh")
  with pytest.raises(C.ConfigError, match=r"'mix.batch' = 102 does not split over the 4 devices.*--set mix.batch=104 or 100"):
    schema.check_split(schema.build(sets=["mix.batch=102"]), 4, "mesh")
