"""SRGAN's discriminator (Ledig et al. 2017; the paper's figure 5).

conv-LeakyReLU, then seven conv-BN-LeakyReLU blocks (stride 2 every other one,
64 -> 512 channels), adaptive average pooling, 1x1 convs 512 -> 1024 -> 1.  It
returns *logits*: the sigmoid of figure 5 lives inside ``BCEWithLogitsLoss``, which
is the same function computed stably.  ``channels`` scales the widths (64 = SRGAN).
"""

from __future__ import annotations

import torch
import torch.nn as nn


class Discriminator(nn.Module):
    def __init__(self, in_channels: int = 1, channels: int = 64):
        super().__init__()
        c = channels

        def block(i, o, stride):
            return [nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.2, inplace=True)]

        layers = [nn.Conv2d(in_channels, c, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True)]
        layers += block(c, c, 2)
        layers += block(c, 2 * c, 1) + block(2 * c, 2 * c, 2)
        layers += block(2 * c, 4 * c, 1) + block(4 * c, 4 * c, 2)
        layers += block(4 * c, 8 * c, 1) + block(8 * c, 8 * c, 2)
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(8 * c, 16 * c, 1), nn.LeakyReLU(0.2, inplace=True), nn.Conv2d(16 * c, 1, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) any size -> (B,) logits that ``x`` is a real high-resolution image."""
        return self.head(self.features(x)).flatten()
