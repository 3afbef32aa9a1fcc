"""aejax: autoencoders and GANs in JAX/Flax, with pure modules and pure train steps."""

__version__ = "0.1.0"
