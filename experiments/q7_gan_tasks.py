"""q7: What is a GAN? Can you name a few tasks where GANs can shine?"""

NAME = "q7_gan_tasks"
QUESTION = "What is a GAN? Can you name a few tasks where GANs can shine?"


def config(profile: str) -> dict:
  return {"dataset": "mnist", "seeds": 1}


def run(cfg: dict, out) -> dict:
  raise NotImplementedError("q7 is not built yet: it is issue #5")
