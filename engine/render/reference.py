"""The paper-style Meta-Upscale, kept as the exactness and speed reference.

As in ``XuecaiHu/Meta-SR-Pytorch`` (``model/metardn.py``): the weight network runs
once per *output pixel*, and the LR features are unfolded and repeated so every
output pixel has its own copy of its 3x3xC window, then multiplied.  Same engine
geometry (pixel centres), no phase quantisation, float64 positions: this is the
exact answer the fast path is measured against.  Never used by the product.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..geometry import ZoomGrid, coordinates
from .phase_table import positions


@torch.no_grad()
def reference_upscale(model, feats: torch.Tensor, scale, shape, region=None) -> torch.Tensor:
    """``feats``: (1, C, h, w) trunk features.  Returns (out, h_region, w_region)
    without the bicubic residual or denormalisation."""
    grid = ZoomGrid.make(shape, scale)
    top, left, height, width = grid.region(region)
    H, W = grid.out_shape
    h, w = shape
    y = coordinates(h, H, top, height)
    x = coordinates(w, W, left, width)
    sy, sx = np.floor(y + 0.5).astype(np.int64), np.floor(x + 0.5).astype(np.int64)
    # every output pixel's own phases, not the distinct ones: the paper's per-pixel rows
    pos = positions(y - sy, x - sx, H / h, W / w)
    weights = model.weights(pos)  # (N, out, C, 3, 3): one weight-network pass per output pixel
    N = weights.shape[0]
    cols = F.unfold(feats.float(), 3, padding=1)[0]  # (C*9, h*w), ordered (C, dy, dx)
    SY, SX = np.meshgrid(sy, sx, indexing="ij")
    idx = torch.from_numpy((SY * w + SX).ravel())
    rep = cols[:, idx]  # the repeated features: one window copy per output pixel
    out = torch.einsum("nok,kn->on", weights.reshape(N, weights.shape[1], -1), rep)
    return out.view(-1, height, width)
