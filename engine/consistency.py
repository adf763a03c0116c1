"""The consistency guard: where a super-resolved image departs from what the scanner acquired.

Re-acquire the SR output with the forward model that matches the scan
(``engine.acquisition``: k-space crop on the engine's grid at the displayed per-axis
scale; the slice profile on a reformat's coarse axis) and compare it with the acquired
pixels.  Where the two differ by more than the scan's own noise, the network changed
what the scanner measured.

Per LR pixel the guard reports ``|A(SR) - LR| / sigma`` and the fraction of pixels
within ``THRESHOLD`` sigma.  Why 3: with Gaussian noise even the true image passes only
99.73% of pixels at 3 sigma (95.4% at 2), so a 99% target is reachable by a faithful
model at 3 sigma and by none at 2.

Only the visible region is re-acquired.  The k-space operator is global (each LR pixel
is a sinc over the whole axis), so the guard splits ``A(SR) - LR`` into
``A(SR - bicubic(LR))`` + ``A(bicubic(LR)) - LR``: the first term is small detail and is
applied on the region with each operator row cut to +-``BAND`` LR pixels (dense blocks,
a few small matrix products), the second does not depend on the model or the region and
is computed once per slice and scale on the whole LR image.  LR pixels closer than
``BAND`` to a region edge that is not the image's edge are left out (NaN).

The noise level comes from the image itself (``estimate_noise``): the MAD of a
high-pass residual over flat tissue, where the Rician magnitude is near Gaussian.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.sparse import csr_matrix
from scipy.ndimage import binary_dilation, binary_erosion, convolve, sobel

from .acquisition import Degradation, _axis_matrix, coarse_axis, tissue_mean, window
from .geometry import ZoomGrid
from .render.bicubic import KEYS_A, taps
from .render.bicubic import bicubic as bicubic_zoom

#: A pixel is consistent when its disagreement is within this many noise sigmas.
THRESHOLD = 3.0
#: Operator rows are cut to +- this many LR pixels around each pixel (region part).
BAND = 8
#: LR rows/columns per dense block of the banded products.
BLOCK = 16
#: Floor of the noise estimate, as a fraction of the tissue mean (SNR 200): a noise-free
#: synthetic image would otherwise make every rounding error "beyond noise".
MIN_NOISE_FRACTION = 0.005
#: The guard's default acquisition: k-space, no reconstruction filter (a scanner's
#: filter is rarely in the DICOM header; a filtered scan is mildly smoother than assumed).
DEFAULT_ACQUISITION = Degradation("kspace")

# Immerkaer's (1996) mask: the outer product of [1, -2, 1] with itself; it cancels
# constant, linear and quadratic trends, and its output is sigma * 6 on white noise.
_MASK = np.outer([1.0, -2.0, 1.0], [1.0, -2.0, 1.0])


def _mask_gain(d: Degradation, m: int) -> float:
    """Standard deviation of the mask's output per unit noise along one axis of ``m``
    k-space samples: 1 for white noise, less when a reconstruction filter correlates it."""
    if d.kind != "kspace" or d.filter == "none":
        return 1.0
    w = window(d.filter, m, d.filter_param, d.fermi_width)
    k = np.fft.fftfreq(m)
    h2 = 16.0 * np.sin(np.pi * k) ** 4  # |1 - 2 e^{-iw} + e^{-2iw}|^2
    return float(np.sqrt(np.mean(h2 * w * w) / (6.0 * np.mean(w * w))))


def _flat_tissue_sigma(img: np.ndarray, top: float, acquisition: Degradation, filtered=(True, True)) -> float | None:
    r = convolve(img, _MASK, mode="reflect") / 6.0
    for ax in (0, 1):
        if filtered[ax]:
            r /= _mask_gain(acquisition, img.shape[ax])
    tissue = binary_erosion(img > 0.1 * top, iterations=2)
    if tissue.sum() < 16:
        return None
    g = np.hypot(sobel(img, 0), sobel(img, 1))
    flat = tissue & (g <= np.median(g[tissue]))
    return 1.4826 * float(np.median(np.abs(r[flat])))


def _background_sigma(img: np.ndarray, top: float) -> float | None:
    # air at least 3 pixels from anything above a twentieth of the 99th percentile
    air = ~binary_dilation(img > 0.05 * top, iterations=3)
    air[[0, -1], :], air[:, [0, -1]] = False, False  # borders: zero-padded reconstructions
    if air.sum() < max(64, img.size // 50):
        return None
    med = float(np.median(img[air]))
    if med <= 0:  # a masked (zeroed) background says nothing about the noise
        return None
    return med / np.sqrt(2.0 * np.log(2.0))  # Rayleigh: median = sigma sqrt(2 ln 2)


def estimate_noise(image: np.ndarray, acquisition: Degradation = DEFAULT_ACQUISITION, filtered=(True, True)) -> float:
    """The per-channel noise sigma of a magnitude MR image, from the image alone.

    Two robust estimates, the smaller wins (each errs upward where it fails: texture
    in "flat" tissue, ghosts or signal in "air"):

    - flat tissue: Immerkaer's 3x3 high-pass mask (divided by 6, and by the gain of the
      acquisition's reconstruction filter, so white noise of std sigma gives std sigma)
      over tissue (above a tenth of the 99th percentile, eroded) whose Sobel gradient
      is in the lower half of the tissue's, where the Rician magnitude is near Gaussian
      with the channel sigma; estimate 1.4826 x the median absolute residual (MAD);
    - background: the median of air pixels (3 pixels away from signal), Rayleigh
      distributed there: sigma = median / sqrt(2 ln 2); skipped when the scanner zeroed
      the background or there is too little of it.

    ``filtered``: per axis, whether the acquisition's k-space filter applies (not along a
    thick-slice pair's slice axis).  Floored at ``MIN_NOISE_FRACTION`` of the tissue mean."""
    img = np.asarray(image, np.float64)
    if img.ndim != 2 or min(img.shape) < 5:
        raise ValueError(f"noise estimation needs a 2D image of at least 5x5 pixels, got {img.shape}")
    top = float(np.percentile(img, 99))
    floor = max(MIN_NOISE_FRACTION * tissue_mean(img), 1e-12)
    if top <= 0:
        return floor
    found = [s for s in (_flat_tissue_sigma(img, top, acquisition, filtered), _background_sigma(img, top)) if s is not None]
    return max(min(found), floor) if found else floor


# -- the operators -------------------------------------------------------------------

# a few: each holds an (LR x zoomed) matrix, 8 MB at x8 on a 512-pixel axis, and a
# viewer zooming through many factors must not keep them all
@lru_cache(maxsize=8)
def _axis_operators(m: int, n: int, d: Degradation, slice_axis: bool):
    """(A, C) for one axis: A (m, n) acquires n SR pixels as m, C = A @ bicubic (m, m)."""
    A = np.asarray(_axis_matrix(d, n, m, slice_axis, "periodic"), np.float64)
    idx, w = taps(m, n, a=KEYS_A, antialias=False)  # bicubic: 4 taps per SR pixel
    B = csr_matrix((w.ravel().astype(np.float64), (np.repeat(np.arange(n), idx.shape[1]), idx.ravel())), shape=(n, m))
    A32, C = A.astype(np.float32), np.asarray((B.T @ A.T).T, np.float32)
    A32.setflags(write=False)
    C.setflags(write=False)
    return A32, C


def _lr_span(start: int, count: int, n: int, m: int) -> tuple[int, int]:
    """LR pixels whose whole footprint lies in SR pixels ``start..start+count``."""
    j0 = -(-start * m // n)  # ceil(start m / n)
    j1 = (start + count) * m // n
    return j0, max(j1, j0)


def _banded(A: np.ndarray, d: np.ndarray, j0: int, j1: int, start: int, n: int, m: int, axis: int) -> np.ndarray:
    """LR pixels ``j0..j1`` along ``axis`` of ``A`` applied to ``d`` (zero outside SR pixels
    ``start..start+len``), each row of ``A`` cut to +-BAND LR pixels, in blocks of
    BLOCK rows: the work is (2 BAND + BLOCK) multiply-adds per SR pixel, not m."""
    shape = list(d.shape)
    shape[axis] = j1 - j0
    out = np.empty(shape, np.float32)
    stop = start + d.shape[axis]
    for b0 in range(j0, j1, BLOCK):
        b1 = min(b0 + BLOCK, j1)
        c0 = max(start, (b0 - BAND) * n // m)
        c1 = min(stop, -(-(b1 + BAND) * n // m))
        if axis == 0:
            out[b0 - j0 : b1 - j0] = A[b0:b1, c0:c1] @ d[c0 - start : c1 - start]
        else:
            out[:, b0 - j0 : b1 - j0] = d[:, c0 - start : c1 - start] @ A[b0:b1, c0:c1].T
    return out


@dataclass(frozen=True)
class ConsistencyMap:
    """The guard's answer for one region.

    ``ratio``: per LR pixel ``|A(SR) - LR| / sigma`` (float32, NaN where left out);
    ``lr_window``: the LR rows and columns it covers (slices of the acquired slice);
    ``sigma``: the noise level used; ``within``: fraction of the pixels (not NaN)
    with ratio <= ``threshold``."""

    ratio: np.ndarray
    lr_window: tuple[slice, slice]
    sigma: float
    within: float
    threshold: float = THRESHOLD

    @property
    def pixels(self) -> int:
        return int(np.isfinite(self.ratio).sum())

    def summary(self) -> str:
        if not self.pixels:
            return "consistent: n/a (too few acquired pixels in view)"
        return f"consistent: {100.0 * self.within:.1f}% of pixels within noise"


class ConsistencyGuard:
    """The guard for one acquired slice at one displayed zoom.

    ``lr``: the acquired slice (the pixels the SR was made from, same units);
    ``scale``: the displayed zoom (number or ``(r_y, r_x)``), on ``ZoomGrid``;
    ``acquisition``: the forward model (default: k-space, no filter; a thick-slice
    pair's coarse axis gets the slice profile as in ``engine.acquisition.acquire``);
    ``sigma``: the noise level, or None to estimate it from ``lr``.
    Construction costs the whole-slice term (a few products of LR-sized matrices);
    ``check`` then costs a few milliseconds per visible region."""

    def __init__(self, lr: np.ndarray, scale, acquisition: Degradation = DEFAULT_ACQUISITION,
                 sigma: float | None = None, threshold: float = THRESHOLD):
        lr = np.asarray(lr, np.float32)
        if lr.ndim != 2:
            raise ValueError(f"expected a 2D slice, got shape {lr.shape}")
        self.lr, self.scale, self.acquisition, self.threshold = lr, scale, acquisition, float(threshold)
        self.grid = ZoomGrid.make(lr.shape, scale, sr=False)
        (m_y, m_x), (n_y, n_x) = lr.shape, self.grid.out_shape
        slab = coarse_axis((n_y, n_x), (m_y, m_x))
        self.A_y, C_y = _axis_operators(m_y, n_y, acquisition, slab == 0)
        self.A_x, C_x = _axis_operators(m_x, n_x, acquisition, slab == 1)
        self.base = C_y @ lr @ C_x.T - lr  # A(bicubic(LR)) - LR, float32
        filtered = tuple(slab != ax or acquisition.profile == "kspace" for ax in (0, 1))
        self.sigma = float(sigma) if sigma is not None else estimate_noise(lr, acquisition, filtered)
        self.magnitude = acquisition.kind == "kspace"

    def residual(self, sr: np.ndarray, region=None, bicubic: np.ndarray | None = None, linear: bool = False):
        """``(A(SR) - LR, lr_window)`` over the LR pixels of ``region`` (NaN where left out);
        for a k-space (magnitude) acquisition ``sqrt(A(SR)^2 + 2 sigma^2) - LR`` unless
        ``linear``."""
        top, left, height, width = self.grid.region(region)
        sr = np.asarray(sr, np.float32)
        if sr.shape != (height, width):
            raise ValueError(f"SR region is {sr.shape}, the region {region!r} is {(height, width)}")
        if bicubic is None:
            bicubic = bicubic_zoom(self.lr, self.scale, (top, left, height, width))
        d = sr - bicubic
        (m_y, m_x), (n_y, n_x) = self.lr.shape, self.grid.out_shape
        y0, y1 = _lr_span(top, height, n_y, m_y)
        x0, x1 = _lr_span(left, width, n_x, m_x)
        if y1 <= y0 or x1 <= x0:
            return np.zeros((0, 0), np.float32), (slice(y0, y0), slice(x0, x0))
        r = _banded(self.A_x, _banded(self.A_y, d, y0, y1, top, n_y, m_y, 0), x0, x1, left, n_x, m_x, 1)
        r += self.base[y0:y1, x0:x1]
        if self.magnitude and not linear:
            # a magnitude image of a noisy complex signal s has E[M^2] = s^2 + 2 sigma^2:
            # compare with that, or air (Rayleigh, mean 1.25 sigma) and Gibbs ripples
            # (negative s) read as departures
            acquired = self.lr[y0:y1, x0:x1]
            r += acquired
            np.sqrt(r * r + np.float32(2.0 * self.sigma**2), out=r)
            r -= acquired
        # rows/columns whose band reaches past a region edge that is not the slice's edge
        if linear:
            return r, (slice(y0, y1), slice(x0, x1))
        if top > 0:
            r[: min(BAND, r.shape[0])] = np.nan
        if top + height < n_y:
            r[max(r.shape[0] - BAND, 0):] = np.nan
        if left > 0:
            r[:, : min(BAND, r.shape[1])] = np.nan
        if left + width < n_x:
            r[:, max(r.shape[1] - BAND, 0):] = np.nan
        return r, (slice(y0, y1), slice(x0, x1))

    def check(self, sr: np.ndarray, region=None, bicubic: np.ndarray | None = None) -> ConsistencyMap:
        """Compare ``sr`` (the SR output over ``region`` of the zoomed grid; None = all)
        with the acquired pixels.  ``bicubic``: the bicubic zoom of the same region when
        the caller has it (the Difference mode does), saving its computation."""
        r, win = self.residual(sr, region, bicubic)
        ratio = np.abs(r) / np.float32(self.sigma)
        ok = np.isfinite(ratio)
        n = int(ok.sum())
        within = float((ratio[ok] <= self.threshold).sum() / n) if n else float("nan")
        return ConsistencyMap(ratio, win, self.sigma, within, self.threshold)

    def project(self, sr: np.ndarray, region=None, iterations: int = 3, bicubic: np.ndarray | None = None) -> np.ndarray:
        """Data-consistent rendering: iterative back-projection (Irani & Peleg 1991) of
        ``sr`` over ``region``, ``SR <- SR - bicubic(A(SR) - LR)``, so that re-acquired
        it approaches the acquired pixels (the in-band content becomes the scanner's,
        noise included; what lies above the acquired band stays the network's).
        Converges because ``A bicubic`` passes the band with gains in (0, 1]."""
        top, left, height, width = self.grid.region(region)
        if bicubic is None:
            bicubic = bicubic_zoom(self.lr, self.scale, (top, left, height, width))
        out = np.array(sr, np.float32)
        full = np.zeros_like(self.lr)
        for _ in range(int(iterations)):
            r, (ys, xs) = self.residual(out, (top, left, height, width), bicubic, linear=True)
            full[:] = 0.0
            full[ys, xs] = r
            out -= bicubic_zoom(full, self.scale, (top, left, height, width))
        return out
