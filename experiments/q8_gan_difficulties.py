"""q8: What are the main difficulties when training GANs?"""

NAME = "q8_gan_difficulties"
QUESTION = "What are the main difficulties when training GANs?"


def config(profile: str) -> dict:
  return {"dataset": "mnist", "seeds": 1}


def run(cfg: dict, out) -> dict:
  raise NotImplementedError("q8 is not built yet: it is issue #5")
