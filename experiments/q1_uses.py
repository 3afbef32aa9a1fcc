"""q1: What are the main tasks that autoencoders are used for?"""

NAME = "q1_uses"
QUESTION = "What are the main tasks that autoencoders are used for?"


def config(profile: str) -> dict:
  return {"dataset": "mnist", "seeds": 1}


def run(cfg: dict, out) -> dict:
  raise NotImplementedError("q1 is not built yet: it is issue #3")
