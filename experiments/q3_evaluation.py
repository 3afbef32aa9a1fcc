"""q3: If an autoencoder perfectly reconstructs the inputs, is it necessarily a good autoencoder? How can you evaluate the performance of an autoencoder?"""

NAME = "q3_evaluation"
QUESTION = "If an autoencoder perfectly reconstructs the inputs, is it necessarily a good autoencoder? How can you evaluate the performance of an autoencoder?"


def config(profile: str) -> dict:
  return {"dataset": "mnist", "seeds": 1}


def run(cfg: dict, out) -> dict:
  raise NotImplementedError("q3 is not built yet: it is issue #3")
