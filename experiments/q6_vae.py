"""q6: What is a generative model? Can you name a type of generative autoencoder?"""

NAME = "q6_vae"
QUESTION = "What is a generative model? Can you name a type of generative autoencoder?"


def config(profile: str) -> dict:
  return {"dataset": "mnist", "seeds": 1}


def run(cfg: dict, out) -> dict:
  raise NotImplementedError("q6 is not built yet: it is issue #4")
