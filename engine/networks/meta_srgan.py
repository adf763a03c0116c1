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
    """``Linear(3, 256) - ReLU - Linear(256, C*3*3*out)``: phase and scale -> filter.

    ``aspect_input=True`` makes the first layer ``Linear(4, 256)``: the fourth input
    ``log(r_y/r_x)`` tells a thick-slice reformat's (x4, x1.1) from a square x2.1,
    which share the third input (the geometric-mean scale)."""

    def __init__(self, channels: int = 64, out_channels: int = 1, hidden: int = 256, zero_init: bool = False,
                 scale_gate: bool = False, aspect_input: bool = False):
        super().__init__()
        self.channels, self.out_channels = channels, out_channels
        self.scale_gate = scale_gate
        self.inputs = 4 if aspect_input else 3
        self.net = nn.Sequential(
            nn.Linear(self.inputs, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels * 9 * out_channels)
        )
        if zero_init:
            nn.init.zeros_(self.net[2].weight)
            nn.init.zeros_(self.net[2].bias)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        """``pos``: (N, 3 or 4) rows of (phase_y, phase_x, 1/r[, log(r_y/r_x)])
        (``engine.render.phase_table.positions``) -> (N, out, C, 3, 3)."""
        w = self.net(pos[:, : self.inputs])
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
        neck: bool | int = False,  # conv+PReLU layers between trunk and Meta-Upscale (True: one)
        aspect_input: bool = False,
    ):
        super().__init__()
        self.channels, self.out_channels = channels, out_channels
        self.residual_bicubic = residual_bicubic
        self.trunk = SRGANTrunk(in_channels, channels, blocks, neck=neck)
        self.weights = WeightPredictor(channels, out_channels, hidden, zero_init=residual_bicubic, scale_gate=scale_gate,
                                       aspect_input=aspect_input)

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


#: flags whose parts ``grow_state`` adds to trained weights without changing their output
GROWABLE = ("neck", "aspect_input")


def grow_state(model: MetaSRGAN, state: dict) -> dict:
    """``state``, trained without ``neck`` (or with fewer neck layers) or without
    ``aspect_input``, made to fit ``model``, which has them, so that it computes exactly
    what it did: each new neck layer starts as the identity (a Dirac 3x3 convolution,
    zero bias, a PReLU of slope 1) and the fourth weight-network input's weights at zero.  Training then only has to learn what
    they add.  Anything else that does not fit is a ``ValueError``."""
    target = model.state_dict()
    out = dict(state)
    key = "weights.net.0.weight"
    have, want = tuple(state[key].shape), tuple(target[key].shape)
    if have != want:
        if have[1] != 3 or want[1] != 4 or have[0] != want[0]:
            raise ValueError(f"{key}: {have} cannot grow into {want}")
        out[key] = torch.cat([state[key], torch.zeros(have[0], 1, dtype=state[key].dtype)], 1)
    layers = len(model.trunk.neck) // 2 if model.trunk.neck is not None else 0
    for n in range(layers):  # neck layers the state lacks (all, or those past its own) start as the identity
        conv, prelu = f"trunk.neck.{2 * n}", f"trunk.neck.{2 * n + 1}"
        if f"{conv}.weight" in state:
            continue
        w = torch.zeros_like(target[f"{conv}.weight"])
        nn.init.dirac_(w)
        out.update({f"{conv}.weight": w, f"{conv}.bias": torch.zeros_like(target[f"{conv}.bias"]),
                    f"{prelu}.weight": torch.ones_like(target[f"{prelu}.weight"])})
    missing = sorted(set(target) - set(out))
    extra = sorted(set(out) - set(target))
    if missing or extra:
        raise ValueError(f"the weights do not grow into this network (missing {missing[:3]}, unexpected {extra[:3]})")
    return out


def grown_from(have: dict, want: dict) -> bool:
    """Whether an architecture spec ``want`` is ``have`` with growable flags turned on."""
    if have.get("name") != "meta_srgan" or want.get("name") != "meta_srgan":
        return False
    a, b = dict(have.get("args", {})), dict(want.get("args", {}))
    for flag in GROWABLE:
        if int(a.get(flag, False)) > int(b.get(flag, False)):  # flags, and the neck's layer count
            return False
        a.pop(flag, None)
        b.pop(flag, None)
    return a == b
