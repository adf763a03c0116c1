"""Building blocks shared by the generators."""

from __future__ import annotations

import torch
import torch.nn as nn


class ResidualBlock(nn.Module):
    """SRGAN's block: conv3x3-BN-PReLU-conv3x3-BN, plus the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRGANTrunk(nn.Module):
    """SRGAN's feature extractor: 9x9 head + PReLU, B residual blocks, conv-BN,
    global skip.  Receptive-field radius: 4 + 2B + 1 input pixels, plus one per neck layer.

    ``neck``: conv 3x3 + PReLU layers after the skip, the Meta-Upscale's own nonlinear
    stage (``True`` is one layer, an int that many)."""

    def __init__(self, in_channels: int = 1, channels: int = 64, blocks: int = 5, neck: bool | int = False):
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(in_channels, channels, 9, padding=4), nn.PReLU(channels))
        self.blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(blocks)])
        self.tail = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        layers = int(neck)  # True -> 1
        if layers < 0:
            raise ValueError(f"neck must be a layer count >= 0 (or a flag), got {neck!r}")
        self.neck = nn.Sequential(*[m for _ in range(layers) for m in (nn.Conv2d(channels, channels, 3, padding=1),
                                                                      nn.PReLU(channels))]) if layers else None
        self.radius = 4 + 2 * blocks + 1 + layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.tail(self.blocks(h))
        return h if self.neck is None else self.neck(h)
