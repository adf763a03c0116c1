"""The paper's losses (section 2.2): L1 + 0.001 adversarial + 0.006 perceptual.

Each term is a module with its own weight; the generator's total and every term are
reported by name.  Images are in unit range (the engine's [0, 1] per-slice scale).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def adversarial_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator side of eq. 4 in its non-saturating form: -log D(G(z))."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def adversarial_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator side of eq. 4: maximise log D(x) + log(1 - D(G(z)))."""
    return F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + F.binary_cross_entropy_with_logits(
        fake_logits, torch.zeros_like(fake_logits)
    )


def adversarial_d_half(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """One half of the discriminator's eq. 4 (real or fake), for separate backwards."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


class PerceptualLoss(nn.Module):
    """Eq. 5: mean squared distance of VGG features (before the last layer)."""

    def __init__(self, vgg: nn.Module):
        super().__init__()
        self.vgg = vgg

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.vgg(hr)
        return F.mse_loss(self.vgg(sr), target)


#: Bicubic's typical L1 on the training crops (unit range) as a line in the zoom r:
#: ``BICUBIC_L1_AT_X1 + BICUBIC_L1_PER_ZOOM * (r - 1)``, fitted once to the MRI training
#: crops (0.0086 at x1.1, 0.0185 at x2, 0.0405 at x4).
BICUBIC_L1_AT_X1 = 0.0075
BICUBIC_L1_PER_ZOOM = 0.011


def typical_bicubic_l1(zoom: float) -> float:
    """What ``loss.l1_relative = "scale"`` divides L1 by at ``zoom`` (a pair: the
    geometric mean, the zoom the weight network sees), so that x1.1, where bicubic is
    already within ~0.01, weighs as much as x4."""
    return BICUBIC_L1_AT_X1 + BICUBIC_L1_PER_ZOOM * (zoom - 1.0)
