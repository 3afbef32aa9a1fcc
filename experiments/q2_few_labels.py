"""q2: Suppose you want to train a classifier, and you have plenty of unlabeled training data but only a few thousand labeled instances. How can autoencoders help? How would you proceed?"""

NAME = "q2_few_labels"
QUESTION = "Suppose you want to train a classifier, and you have plenty of unlabeled training data but only a few thousand labeled instances. How can autoencoders help? How would you proceed?"


def config(profile: str) -> dict:
  return {"dataset": "mnist", "seeds": 1}


def run(cfg: dict, out) -> dict:
  raise NotImplementedError("q2 is not built yet: it is issue #3")
