"""Write an untrained Meta-SRGAN weights file (the loader warns loudly about it).

Only for bootstrapping and tests; ``metazoom-train export`` writes real weights.
``python -m engine.make_untrained OUT.safetensors``
"""

from __future__ import annotations

import sys

import torch

from . import networks
from .weights import WeightsInfo, save_weights


def make_untrained(path, residual_bicubic: bool = True, seed: int = 0, **args):
    torch.manual_seed(seed)
    arch = {"name": "meta_srgan", "args": {"residual_bicubic": residual_bicubic, **args}}
    model = networks.make(arch)
    info = WeightsInfo(arch=arch, training={"trained": False, "note": "initial state, never trained"})
    return save_weights(model, path, info)


if __name__ == "__main__":
    print(make_untrained(sys.argv[1]))
