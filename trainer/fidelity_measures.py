"""Two measures beside PSNR/SSIM that tell blur from invented texture.

``hf_power_ratio``: the power of SR above the band the LR image carried, over that of
HR.  1 is right; below 1 is blur (the network left out detail the scan has); above 1 is
texture the scan does not have (or noise sharpened).  The band the LR image carried at
a per-axis zoom ``(r_y, r_x)`` is ``|f_y| < 1/(2 r_y)`` and ``|f_x| < 1/(2 r_x)`` cycles per
HR pixel; everything outside that rectangle up to Nyquist is "high frequency".  Both
images get the same Hann window first, so the image edges add no power.

``PerceptualDistance``: LPIPS-style distance of VGG features (Zhang et al. 2018) from a
VGG file the user gives (``trainer.vgg.load_vgg``; nothing is downloaded): at the ReLU
before each max-pool and at the last layer, unit-normalise each pixel's feature vector
over channels, then the mean squared difference over pixels and channels, averaged over
the layers.  Without LPIPS's learned per-channel weights (they come from a download):
the numbers compare models with one another on one VGG, not with published LPIPS.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch


def _hann2(shape) -> np.ndarray:
    return np.outer(np.hanning(shape[0]), np.hanning(shape[1]))


def hf_power_ratio(sr: np.ndarray, hr: np.ndarray, scale) -> float:
    """High-frequency power of ``sr`` over that of ``hr`` at the zoom ``scale`` (a number
    or ``(r_y, r_x)``): see the module's doc.  NaN when HR has no such power."""
    sr, hr = np.asarray(sr, np.float64), np.asarray(hr, np.float64)
    if sr.shape != hr.shape or sr.ndim != 2:
        raise ValueError(f"two 2D images of one shape needed, got {sr.shape} and {hr.shape}")
    ry, rx = (float(scale[0]), float(scale[1])) if isinstance(scale, (tuple, list)) else (float(scale),) * 2
    w = _hann2(hr.shape)
    fy = np.abs(np.fft.fftfreq(hr.shape[0]))[:, None]
    fx = np.abs(np.fft.rfftfreq(hr.shape[1]))[None, :]
    high = (fy >= 0.5 / ry) | (fx >= 0.5 / rx)

    def power(img):
        spec = np.abs(np.fft.rfft2((img - img.mean()) * w)) ** 2
        return float(spec[high].sum())

    p_hr = power(hr)
    return power(sr) / p_hr if p_hr > 0 else float("nan")


class PerceptualDistance:
    """``d(sr, hr)`` for unit-range 2D images with a ``trainer.vgg.VGGFeatures``."""

    CACHE = 512  # HR crops whose features are kept

    def __init__(self, vgg):
        self.vgg = vgg.eval()
        layers = list(vgg.features)
        # taps: the ReLU before each max-pool (relu1_2, relu2_2, ...) and the last layer
        self.taps = {i - 1 for i, m in enumerate(layers) if isinstance(m, torch.nn.MaxPool2d)} | {len(layers) - 1}
        self._cache: dict = {}

    @torch.no_grad()
    def features(self, img: np.ndarray) -> list[torch.Tensor]:
        x = torch.from_numpy(np.ascontiguousarray(img, np.float32))[None, None]
        x = x.expand(-1, 3, -1, -1)
        x = (x - self.vgg.mean) / self.vgg.std
        out = []
        for i, layer in enumerate(self.vgg.features):
            x = layer(x)
            if i in self.taps:
                out.append(x / (x.norm(dim=1, keepdim=True) + 1e-10))
        return out

    def _reference(self, hr: np.ndarray) -> list[torch.Tensor]:
        # every method is scored against the same HR crops: their features once each
        key = hashlib.sha1(np.ascontiguousarray(hr, np.float32).tobytes()).digest() + bytes(str(hr.shape), "ascii")
        if key not in self._cache:
            if len(self._cache) >= self.CACHE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = self.features(hr)
        return self._cache[key]

    def __call__(self, sr: np.ndarray, hr: np.ndarray) -> float:
        a, b = self.features(sr), self._reference(hr)
        return float(np.mean([((fa - fb) ** 2).sum(dim=1).mean().item() for fa, fb in zip(a, b)]))
