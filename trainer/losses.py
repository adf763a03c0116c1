"""The paper's losses (section 2.2): L1 + 0.001 adversarial + 0.006 perceptual.

Each term of the generator's loss is a module with its own ``loss_weight``, as in
BasicSR's ``basic_loss.py``.  A module returns a ``Term``: the weighted loss (what the
generator's total adds up) and the term before its weight (what the run's log reports
under the term's name).  The discriminator's own loss (``adversarial_d_half``) stays a
function: it is D's whole loss, with no weight.  Images are in unit range (the engine's
[0, 1] per-slice scale).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.geometry import parse_scale
from engine.render.phase_table import scale_input


class Term(NamedTuple):
    weighted: torch.Tensor  # loss_weight * value (relative L1: also divided by bicubic's L1)
    value: torch.Tensor  # the term itself, for the log


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


class AdversarialLoss(nn.Module):
    """The generator's adversarial term (eq. 4, non-saturating) on D's logits for SR."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self, fake_logits: torch.Tensor) -> Term:
        value = adversarial_g(fake_logits)
        return Term(self.loss_weight * value, value)


class PerceptualLoss(nn.Module):
    """Eq. 5: mean squared distance of VGG features (before the last layer).  The term
    is float32 whatever precision the features were computed in."""

    def __init__(self, vgg: nn.Module, loss_weight: float = 1.0):
        super().__init__()
        self.vgg = vgg
        self.loss_weight = float(loss_weight)

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> Term:
        with torch.no_grad():
            target = self.vgg(hr)
        value = F.mse_loss(self.vgg(sr), target).float()
        return Term(self.loss_weight * value, value)


class L1Loss(nn.Module):
    """Eq. 3: mean absolute error of SR against HR, the fidelity term.

    ``relative`` (``loss.l1_relative``) divides it by what bicubic gets wrong, so a
    zoom where bicubic is already close counts as much as one where it is far off
    (plain L1 lets x3-x4, with errors ~4x larger, drown x1.1, where bicubic is within
    ~0.01): ``"scale"`` by bicubic's typical L1 at this zoom (``typical_bicubic_l1``),
    ``"batch"`` (or ``true``) by bicubic's L1 on this very minibatch, which is noisier.
    ``False``: plain L1, the paper's.
    """

    def __init__(self, loss_weight: float = 1.0, relative: bool | str = False):
        super().__init__()
        self.loss_weight, self.relative = float(loss_weight), relative

    @property
    def needs_bicubic(self) -> bool:
        """Whether ``forward`` needs the minibatch's bicubic upscale."""
        return self.relative in ("batch", True)

    def forward(self, sr: torch.Tensor, hr: torch.Tensor, scale, bicubic: torch.Tensor | None = None) -> Term:
        """``scale``: the minibatch's zoom (a number or an (r_y, r_x) pair); ``bicubic``:
        the LR input upscaled by bicubic into unit range, when ``needs_bicubic``."""
        value = (sr - hr).abs().mean()
        if self.relative == "scale":
            # a pair counts as the zoom the weight network sees, the geometric mean
            zoom = 1.0 / scale_input(*parse_scale(scale, sr=False))
            return Term(self.loss_weight * value / typical_bicubic_l1(zoom), value)
        if self.needs_bicubic:
            with torch.no_grad():
                reference = (bicubic - hr).abs().mean().clamp_min(1e-3)
            return Term(self.loss_weight * value / reference, value)
        return Term(self.loss_weight * value, value)


#: Bicubic's typical L1 on the training crops (unit range) as a line in the zoom r:
#: ``BICUBIC_L1_AT_X1 + BICUBIC_L1_PER_ZOOM * (r - 1)``, fitted once to the MRI training
#: crops (0.0086 at x1.1, 0.0185 at x2, 0.0405 at x4).  In the weight network's scale
#: input s = 1/r (``engine.render.phase_table.scale_input``) it reads 0.0075 + 0.011 (1/s - 1).
BICUBIC_L1_AT_X1 = 0.0075
BICUBIC_L1_PER_ZOOM = 0.011


def typical_bicubic_l1(zoom: float) -> float:
    """What ``loss.l1_relative = "scale"`` divides L1 by at ``zoom`` (a pair: the
    geometric mean, the zoom the weight network sees), so that x1.1, where bicubic is
    already within ~0.01, weighs as much as x4.  A fixed line rather than bicubic's
    error on each minibatch (``"batch"``): the divisor then depends on the zoom only, not
    on which patches the minibatch drew."""
    return BICUBIC_L1_AT_X1 + BICUBIC_L1_PER_ZOOM * (zoom - 1.0)
