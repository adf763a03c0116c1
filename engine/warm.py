"""``python -m engine.warm``: compile the engine's numba kernels once, now.

They are cached on disk (``__pycache__``) after their first use, but that first use
takes ~40 s on a 2-core machine (the Winograd trunk ~24 s, the render kernels ~18 s).
``make`` runs this right after installing, so the viewer's first zoom and the test
suite's parallel workers find them compiled.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def compile_kernels() -> float:
    """Encode, render and bicubic on a tiny slice with the bundled weights; seconds taken."""
    from . import bicubic, load_upscaler

    import torch

    from .upscaler import Upscaler

    t = time.perf_counter()
    up = load_upscaler(device="cpu")
    img = np.linspace(0.0, 1.0, 24 * 24, dtype=np.float32).reshape(24, 24)
    features = up.encode(img)
    if up._winograd is None:  # a bf16 CPU: the float32 (Winograd) trunk is still used by tests and tools
        Upscaler(up.model, up.info, torch.device("cpu"), bf16=False).encode(img)
    for scale in (1.1, 1.5, 2.0, (1.25, 3.0)):  # x1.1: the low-zoom kernel
        up.render(features, scale)
        bicubic(img, scale)
    return time.perf_counter() - t


def main() -> int:
    print(f"engine kernels compiled and cached in {compile_kernels():.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
