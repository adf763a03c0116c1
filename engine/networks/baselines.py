"""The baselines the trainer compares with: SRGAN x2 and EDSR x2 (pixel-shuffle)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import SRGANTrunk
from .registry import register


def wide_conv_to_few(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``conv(x)`` for SRGAN's last layer (a 9x9 'same' conv to one channel), computed on
    the CPU as a 1x1 conv to one map per tap followed by ``fold`` (col2im sums the
    shifted maps): the same sums in another order (max difference ~1e-5 of the output).

    Why: oneDNN runs a many-to-one 9x9 conv as a direct convolution at a few GFLOP/s;
    the 1x1 conv is one matrix product, and fold's backward is unfold.  Measured here
    (8 x 64 x 96 x 96, forward + backward, one thread): 898 ms -> 95 ms, which is
    40% of an SRGAN x2 training update.  cuDNN needs no help: on a GPU the conv runs."""
    k = conv.kernel_size[0]
    # under CPU bf16 autocast fold would sum the 81 taps in bf16 (~5x the conv's error): the conv
    if x.is_cuda or torch.is_autocast_enabled("cpu") or conv.kernel_size != (k, k) or conv.padding != (k // 2, k // 2) or conv.stride != (1, 1) \
            or conv.dilation != (1, 1) or conv.groups != 1 or k < 5:
        return conv(x)
    n, c, h, w = x.shape
    p = k // 2
    # fold puts tap (ky, kx) of the map at pixel (a, b) on padded (a + ky, b + kx); a
    # cross-correlation sends x(a, b) * w[dy, dx] to (a - dy + p, b - dx + p): flip the taps
    taps = conv.weight.flip(-1, -2).permute(0, 2, 3, 1).reshape(-1, c, 1, 1)  # (out*k*k, C, 1, 1)
    maps = F.conv2d(x, taps)  # (N, out*k*k, H, W)
    out = F.fold(maps.reshape(n, -1, h * w), (h + 2 * p, w + 2 * p), k)[..., p : p + h, p : p + w]
    return out if conv.bias is None else out + conv.bias.view(1, -1, 1, 1)


@register("srgan")
class SRGAN(nn.Module):
    """SRGAN's generator: the same trunk, then (conv -> pixel-shuffle x2 -> PReLU) per
    factor of 2, then a 9x9 conv to the output channels.

    ``residual_bicubic=True`` gives it Meta-SRGAN's start (bicubic + a correction whose
    last layer starts at zero), so the two differ only in the upscaler: the like-for-like
    test of the paper's claim that arbitrary scale costs nothing."""

    def __init__(self, channels: int = 64, blocks: int = 5, in_channels: int = 1, out_channels: int = 1, scale: int = 2,
                 residual_bicubic: bool = False):
        super().__init__()
        self.residual_bicubic = residual_bicubic
        if scale not in (2, 4):
            raise ValueError(f"SRGAN upsamples by 2 or 4, got {scale}")
        self.scale = scale
        self.trunk = SRGANTrunk(in_channels, channels, blocks)
        ups = []
        for _ in range(scale // 2):
            ups += [nn.Conv2d(channels, channels * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(channels)]
        self.upsample = nn.Sequential(*ups)
        self.out = nn.Conv2d(channels, out_channels, 9, padding=4)
        if residual_bicubic:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, lr: torch.Tensor, scale=None) -> torch.Tensor:
        out = wide_conv_to_few(self.upsample(self.trunk(lr)), self.out)
        if self.residual_bicubic:
            from ..render.torch_upscale import bicubic_torch  # late: avoids a cycle

            out = out + bicubic_torch(lr.float(), tuple(out.shape[-2:])).to(out.dtype)
        return out


class _EDSRBlock(nn.Module):
    def __init__(self, channels: int, res_scale: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, padding=1)
        )
        self.res_scale = res_scale

    def forward(self, x):
        return x + self.body(x) * self.res_scale


@register("edsr")
class EDSR(nn.Module):
    """EDSR (Lim et al. 2017): no BN, residual scaling; the paper's 32 blocks x 256
    features, residual scaling 0.1, x2 (~40.7M parameters for RGB)."""

    def __init__(
        self, channels: int = 256, blocks: int = 32, res_scale: float = 0.1, in_channels: int = 1, out_channels: int = 1, scale: int = 2
    ):
        super().__init__()
        if scale not in (2, 4):
            raise ValueError(f"EDSR upsamples by 2 or 4, got {scale}")
        self.scale = scale
        self.head = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.body = nn.Sequential(*[_EDSRBlock(channels, res_scale) for _ in range(blocks)], nn.Conv2d(channels, channels, 3, padding=1))
        ups = []
        for _ in range(scale // 2):
            ups += [nn.Conv2d(channels, channels * 4, 3, padding=1), nn.PixelShuffle(2)]
        self.tail = nn.Sequential(*ups, nn.Conv2d(channels, out_channels, 3, padding=1))

    def forward(self, lr: torch.Tensor, scale=None) -> torch.Tensor:
        h = self.head(lr)
        return self.tail(h + self.body(h))
