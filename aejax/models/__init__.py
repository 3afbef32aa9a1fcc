"""Flax Linen modules; every one is pure: `model.apply(params, x)`."""
