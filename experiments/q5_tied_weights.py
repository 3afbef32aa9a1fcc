"""q5: How do you tie weights in a stacked autoencoder? What is the point of doing so?"""

NAME = "q5_tied_weights"
QUESTION = "How do you tie weights in a stacked autoencoder? What is the point of doing so?"


def config(profile: str) -> dict:
  return {"dataset": "mnist", "seeds": 1}


def run(cfg: dict, out) -> dict:
  raise NotImplementedError("q5 is not built yet: it is issue #4")
