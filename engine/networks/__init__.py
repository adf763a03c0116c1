"""Networks: Meta-SRGAN and the baselines, built from ``{name, args}`` specs."""

from . import baselines, meta_srgan  # noqa: F401  (registers the networks)
from .meta_srgan import MetaSRGAN, WeightPredictor
from .registry import make, names, register

__all__ = ["MetaSRGAN", "WeightPredictor", "make", "names", "register"]
