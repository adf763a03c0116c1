"""Meta-SRGAN: SRGAN's generator with Hu et al.'s Meta-Upscale instead of pixel-shuffle.

The Meta-Upscale weight network maps ``(phase_y, phase_x, 1/r)`` to a 3x3x64 filter
per output channel.  Because the filter depends only on the phase and the scale, never
on the image, it is evaluated once per distinct phase pair (a *phase table*), and the
upscale is one 576-term dot product per output pixel (see ``engine.render``).

``residual_bicubic=True`` adds the bicubic upscale of the input, so the network
learns only a correction; with the weight network's last layer started at zero a
fresh network *is* bicubic, and a short training run can only improve on it.

``scale_gate=True`` multiplies every predicted filter by ``1 - 1/r`` (the weight
network's own scale input, so every render path applies it).  At r -> 1 the ideal
output *is* the input, and bicubic is already within ~0.01 of it at x1.1: the gate
makes the learned correction vanish there unless the data insists, where an ungated
network trained mostly on large-scale errors adds its noise to x1.1 (the paper's
-3.6 dB at x1.1).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .blocks import SRGANTrunk
from .registry import register


class WeightPredictor(nn.Module):
    """``Linear(3, 256) - ReLU - Linear(256, C*3*3*out)``: phase and scale -> filter."""

    def __init__(self, channels: int = 64, out_channels: int = 1, hidden: int = 256, zero_init: bool = False,
                 scale_gate: bool = False):
        super().__init__()
        self.channels, self.out_channels = channels, out_channels
        self.scale_gate = scale_gate
        self.net = nn.Sequential(
            nn.Linear(3, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels * 9 * out_channels)
        )
        if zero_init:
            nn.init.zeros_(self.net[2].weight)
            nn.init.zeros_(self.net[2].bias)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        """``pos``: (N, 3) rows of (phase_y, phase_x, 1/r) -> (N, out, C, 3, 3)."""
        w = self.net(pos)
        if self.scale_gate:
            w = w * (1.0 - pos[:, 2:3])
        return w.view(-1, self.out_channels, self.channels, 3, 3)


@register("meta_srgan")
class MetaSRGAN(nn.Module):
    """Grayscale arbitrary-scale generator.  B = 5, 64 channels: ~0.56M parameters."""

    def __init__(
        self,
        channels: int = 64,
        blocks: int = 5,
        in_channels: int = 1,
        out_channels: int = 1,
        hidden: int = 256,
        residual_bicubic: bool = False,
        scale_gate: bool = False,
    ):
        super().__init__()
        self.channels, self.out_channels = channels, out_channels
        self.residual_bicubic = residual_bicubic
        self.trunk = SRGANTrunk(in_channels, channels, blocks)
        self.weights = WeightPredictor(channels, out_channels, hidden, zero_init=residual_bicubic, scale_gate=scale_gate)

    @property
    def radius(self) -> int:
        return self.trunk.radius

    def features(self, lr: torch.Tensor) -> torch.Tensor:
        """LR image (B, 1, h, w), normalised -> features (B, C, h, w)."""
        return self.trunk(lr)

    def forward(self, lr: torch.Tensor, scale) -> torch.Tensor:
        """Whole-image upscale for training and tests (B, 1, h, w) -> (B, 1, H, W).

        ``scale`` is a number or ``(r_y, r_x)``; output size and phases come from
        ``engine.geometry`` and the upscale from ``engine.render.meta_upscale``.
        """
        from ..render.torch_upscale import meta_upscale  # late: avoids a cycle

        return meta_upscale(self, lr, scale)
