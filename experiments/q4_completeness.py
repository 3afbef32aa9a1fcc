"""q4: What are undercomplete and overcomplete autoencoders? What is the main risk of an excessively undercomplete autoencoder? What about the main risk of an overcomplete autoencoder?"""

NAME = "q4_completeness"
QUESTION = "What are undercomplete and overcomplete autoencoders? What is the main risk of an excessively undercomplete autoencoder? What about the main risk of an overcomplete autoencoder?"


def config(profile: str) -> dict:
  return {"dataset": "mnist", "seeds": 1}


def run(cfg: dict, out) -> dict:
  raise NotImplementedError("q4 is not built yet: it is issue #3")
