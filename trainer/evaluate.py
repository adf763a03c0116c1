"""Held-out evaluation: PSNR/SSIM per scale for Meta-SRGAN, baselines and bicubic.

Test crops are the maximal informational 128x128 crops of held-out slices (unit
range).  At scale r the HR target is the centre n x n of the crop with n = r*m
exactly (the largest n <= 128, e.g. 121 at x1.1, 126 at x3.5), the LR input its
antialiased bicubic downscale (``engine.render.bicubic.downscale``), and every method
upscales that LR to n x n on the engine's grid.  A pair ``(r_y, r_x)`` sizes each
axis the same way and, where one factor is 1.5x the other or more, makes its LR as
thick-slice reformats look: slab averaging along the coarser axis, bicubic along the
other (``trainer.data.degrade``).
Outputs are clipped to [0, 1] before scoring (data range 1).  ``score(..., degradation)``
makes the LR another way instead (``engine.acquisition.NAMED``: a k-space acquisition,
its filters and noise), which ``metazoom-train eval --degradations`` and the run's checks
(``train.eval_degradations``) use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.render.bicubic import bicubic

from .data.crops import centre_crop
from .data.degrade import degrade
from .data.scales import exact_patch, is_pair, parse_scale
from .fast_upscale import upscale
from .metrics import psnr, ssim

TEST_MAX = 128


def test_pair(crop: np.ndarray, scale, degradation="bicubic", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(LR m x m, HR n x n) for one test crop at ``scale``; a pair ``(r_y, r_x)``
    gives each axis its own exact sizes (HR rows ``r_y * m_y``, columns ``r_x * m_x``)
    and the thick-slice degradation of ``trainer.data.degrade``.  ``degradation``: a
    name of ``engine.acquisition.NAMED`` (or a ``Degradation``); its noise, if any, is
    seeded by ``seed`` (the crop's index), so every method sees the same noisy input."""
    (my, mx), (ny, nx) = exact_patch(scale, min(crop.shape[0], TEST_MAX))
    hr = centre_crop(crop, (ny, nx))
    rng = np.random.default_rng([int(seed), my, mx, 0x7E57])
    return degrade(hr, (my, mx), scale, degradation, rng), hr


def bicubic_predict(lr: np.ndarray, scale) -> np.ndarray:
    return bicubic(lr, scale)


class ModelPredictor:
    """A training-side network (Meta-SRGAN at any scale, or a fixed-scale baseline)."""

    def __init__(self, model, mean: float, std: float, bf16: bool = False, fixed_scale: float | None = None):
        self.model, self.mean, self.std, self.bf16 = model.eval(), float(mean), float(std), bool(bf16)
        self.fixed_scale = fixed_scale

    def supports(self, scale) -> bool:
        return self.fixed_scale is None or (not is_pair(scale) and abs(parse_scale(scale, sr=False)[0] - self.fixed_scale) < 1e-9)

    @torch.no_grad()
    def __call__(self, lr: np.ndarray, scale: float) -> np.ndarray:
        device = next(self.model.parameters()).device  # a run's checks on its GPU score the model where it is
        x = torch.from_numpy(((lr - self.mean) / self.std).astype(np.float32))[None, None].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16):
            if self.fixed_scale is None:
                feats = self.model.features(x)
            else:
                return (self.model(x).float()[0, 0].cpu().numpy() * self.std + self.mean)
        out = upscale(self.model, x, scale, feats=feats.float())
        return out[0, 0].cpu().numpy() * self.std + self.mean


class EnginePredictor:
    """The shipped inference path: ``engine.Upscaler`` (bf16 trunk, numba kernel)."""

    fixed_scale = None

    def __init__(self, upscaler):
        self.up = upscaler

    def supports(self, scale: float) -> bool:
        return True

    def __call__(self, lr: np.ndarray, scale: float) -> np.ndarray:
        # unit-range input with intensity range (0, 1): the engine's (v - mean) / std exactly
        return self.up.render(self.up.encode(lr, intensity_range=(0.0, 1.0)), scale)


@dataclass
class Scores:
    psnr: list
    ssim: list

    def summary(self) -> dict:
        p, s = np.asarray(self.psnr), np.asarray(self.ssim)
        return {"psnr_mean": float(p.mean()), "psnr_std": float(p.std()), "ssim_mean": float(s.mean()), "ssim_std": float(s.std()), "n": int(p.size)}


def score(predict, crops, scales, degradation="bicubic") -> dict:
    """Per scale (a number or a pair), the PSNR and SSIM of ``predict(lr, scale)`` on
    every crop, its LR made by ``degradation``."""
    out = {}
    for r in scales:
        if hasattr(predict, "supports") and not predict.supports(r):
            continue
        sc = Scores([], [])
        for i, crop in enumerate(crops):
            lr, hr = test_pair(crop, r, degradation, i)
            sr = np.clip(predict(lr, r), 0.0, 1.0)
            hr = np.clip(hr, 0.0, 1.0)
            sc.psnr.append(psnr(sr, hr))
            sc.ssim.append(ssim(sr, hr))
        out[r] = sc
    return out
