"""A forward model of MRI acquisition: what a scanner does to a slice, on the engine's grid.

A lower-resolution acquisition of the same field of view keeps the central k-space and
drops the rest; the reconstruction may window what it kept (Hamming, Hann, Tukey,
Fermi); thermal noise is complex Gaussian in k-space, so the magnitude image is Rician;
a thick slice averages the tissue along its profile (partial volume).  The trainer
makes its low-resolution inputs with this module, the evaluation judges with it, and
``zero_fill`` is the scanner's own enlargement (sinc), the baseline a learned one must
beat on k-space-limited input.

Every operation is separable and lands on ``engine.geometry``'s grid: LR pixel ``j`` of
an axis of ``m`` LR pixels over ``n`` HR pixels sits at HR coordinate
``(j + 0.5) n/m - 0.5``.  A plain FFT crop samples at ``j n/m``, a shift of
``(n/m - 1)/2`` HR pixels; the phase ramp below removes it (without it every
comparison measures the misalignment: several dB).  A patch cut out of tissue is not
periodic, so by default each axis is mirrored about its ends first (the crop is then a
DCT-II truncation, whose half-sample basis lands on the same grid); ``periodic`` keeps
the DFT's wrap-around, right for a whole field of view with air at its edges.

Each axis operator is a small dense matrix (LR = A_y @ HR @ A_x.T), built once per
(size, filter) from the FFT of the identity and cached: a 96x96 patch costs two small
matrix products, cheap enough to draw a fresh degradation per training patch.

Why not TorchIO or MONAI: TorchIO's ``RandomAnisotropy`` resamples with
nearest-neighbour and its ``RandomNoise`` is Gaussian on the magnitude; MONAI's
``RandGibbsNoise`` truncates k-space but keeps the matrix size (no lower-resolution
grid, no phase ramp) and ``RandRicianNoise`` adds noise in the image, after any
reconstruction filter.  None lands on this grid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy.fft import dct, idct
from scipy.special import erf

from .geometry import ZoomGrid
from .render.bicubic import KEYS_A, taps

#: Reconstruction filters (k-space windows) the model knows.
FILTERS = ("none", "hamming", "hann", "tukey", "fermi")
#: Slice profiles for the coarse axis of a thick-slice pair; ``kspace``: that axis is
#: phase-encoded too (a 3D acquisition with coarse partitions), so it is a k-space crop.
PROFILES = ("box", "gaussian", "kspace")
#: How the LR image is made: antialiased bicubic (the paper's protocol), box average
#: (area), or a k-space acquisition.
KINDS = ("bicubic", "area", "kspace")
#: Pairs whose larger factor is at least this many times the smaller are thick-slice
#: reformats (1.5 mm slices and more over ~0.5-1 mm pixels): their coarse axis is the
#: slice axis and gets the slice profile, not k-space.
SLAB_RATIO = 1.5


@dataclass(frozen=True)
class Degradation:
    """One way to make a low-resolution image.

    ``kind``: ``bicubic`` | ``area`` | ``kspace``.
    ``filter``/``filter_param``: the reconstruction window of a k-space acquisition
    (``filter_param``: Hamming/Hann extent >= 1, where 1 reaches the window's floor at
    the edge of the acquired band and more is milder; Tukey taper fraction; Fermi
    radius, with ``fermi_width``).
    ``snr``: tissue SNR (mean tissue signal over the per-channel noise std); None: no noise.
    ``profile``/``thickness``: slice profile of the coarse axis of a thick-slice pair
    (``box`` or ``gaussian`` with FWHM = thickness x spacing; thickness < 1 leaves gaps;
    ``kspace``: that axis too is a k-space crop, as in a 3D acquisition).
    """

    kind: str = "bicubic"
    filter: str = "none"
    filter_param: float = 1.0
    fermi_width: float = 0.05
    snr: float | None = None
    profile: str = "box"
    thickness: float = 1.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"degradation kind must be one of {KINDS}, got {self.kind!r}")
        if self.filter not in FILTERS:
            raise ValueError(f"reconstruction filter must be one of {FILTERS}, got {self.filter!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"slice profile must be one of {PROFILES}, got {self.profile!r}")
        if self.snr is not None and not self.snr > 0:
            raise ValueError(f"SNR must be positive (None for no noise), got {self.snr!r}")
        if not 0 < self.thickness <= 2:
            raise ValueError(f"slice thickness is a fraction of the spacing in (0, 2], got {self.thickness!r}")

    def label(self) -> str:
        """Short text for logs: ``kspace-hann1.2-snr40``."""
        parts = [self.kind]
        if self.kind == "kspace" and self.filter != "none":
            parts.append(f"{self.filter}{self.filter_param:.3g}")
        if self.snr is not None:
            parts.append(f"snr{self.snr:.3g}")
        return "-".join(parts)


#: The named degradations of the evaluation (``metazoom-train eval --degradations``).
NAMED = {
    "bicubic": Degradation("bicubic"),
    "area": Degradation("area"),
    "kspace": Degradation("kspace"),
    "kspace-hamming": Degradation("kspace", "hamming", 1.0),
    "kspace-hann": Degradation("kspace", "hann", 1.0),
    "kspace-fermi": Degradation("kspace", "fermi", 0.9, 0.05),
    # sigma ~1.2-1.5% of the maximum on unit-range slices (tissue mean ~0.5-0.6)
    "kspace-noise": Degradation("kspace", snr=40.0),
    "kspace-hamming-noise": Degradation("kspace", "hamming", 1.0, snr=40.0),
}


def named(name: str) -> Degradation:
    try:
        return NAMED[name]
    except KeyError:
        raise ValueError(f"unknown degradation {name!r}; known: {', '.join(NAMED)}") from None


# -- reconstruction filters ---------------------------------------------------------

def window(name: str, m: int, param: float = 1.0, fermi_width: float = 0.05) -> np.ndarray:
    """The filter over the ``m`` acquired k-space samples, in FFT order (DC first).
    ``u = k / (m/2)`` runs over [-1, 1): the edge of the acquired band is |u| = 1."""
    k = np.fft.fftfreq(m, 1.0 / m)
    u = np.abs(k) / (m / 2.0)
    if name == "none":
        w = np.ones(m)
    elif name in ("hamming", "hann"):
        a0 = 0.54 if name == "hamming" else 0.5
        w = a0 + (1 - a0) * np.cos(np.pi * np.minimum(u / max(param, 1e-6), 1.0))
    elif name == "tukey":
        alpha = float(np.clip(param, 1e-6, 1.0))
        t = np.clip((u - (1 - alpha)) / alpha, 0.0, 1.0)
        w = 0.5 * (1 + np.cos(np.pi * t))
    elif name == "fermi":
        w = 1.0 / (1.0 + np.exp((u - param) / max(fermi_width, 1e-6)))
        w /= 1.0 / (1.0 + np.exp(-param / max(fermi_width, 1e-6)))  # 1 at DC: keeps the mean
    else:
        raise ValueError(f"reconstruction filter must be one of {FILTERS}, got {name!r}")
    return w


def random_filter(rng: np.random.Generator, weights: dict | None = None) -> dict:
    """A reconstruction filter and its parameters drawn at random: ``weights`` maps
    filter names to relative frequencies (default: all equally)."""
    weights = weights or {f: 1.0 for f in FILTERS}
    names = [f for f in weights if weights[f] > 0]
    p = np.array([weights[f] for f in names], float)
    name = names[int(rng.choice(len(names), p=p / p.sum()))]
    if name in ("hamming", "hann"):
        return {"filter": name, "filter_param": float(rng.uniform(1.0, 1.6))}
    if name == "tukey":
        return {"filter": name, "filter_param": float(rng.uniform(0.2, 0.8))}
    if name == "fermi":
        return {"filter": name, "filter_param": float(rng.uniform(0.75, 0.95)), "fermi_width": float(rng.uniform(0.02, 0.08))}
    return {"filter": "none", "filter_param": 1.0}


# -- one axis as a matrix ------------------------------------------------------------

def _crop_1d(x: np.ndarray, m: int, w: np.ndarray) -> np.ndarray:
    """Central k-space crop of the columns of ``x`` (n, k) to m samples on the engine's
    grid, windowed by ``w``: the band-limited interpolant sampled at ``(j+0.5)n/m - 0.5``."""
    n = x.shape[0]
    X = np.fft.fft(x, axis=0)
    kk = np.fft.fftfreq(m, 1.0 / m).round().astype(np.int64)
    delta = (n / m - 1.0) / 2.0  # HR pixels between j n/m and the engine's LR pixel centre
    Y = np.zeros((m,) + x.shape[1:], complex)
    inner = np.abs(kk) * 2 < m
    ramp = np.exp(2j * np.pi * kk[inner] * delta / n)
    Y[inner] = X[kk[inner] % n] * ramp[:, None]
    if m % 2 == 0:  # LR Nyquist: +-m/2 together, the cosine part the LR grid can hold
        Y[m // 2] = 2.0 * np.real(X[(m // 2) % n] * np.exp(1j * np.pi * m * delta / n))
    Y *= (m / n) * w[:, None]
    return np.fft.ifft(Y, axis=0).real


#: How an axis continues past its ends.  ``periodic``: the DFT's own (right for a whole
#: field of view, air at both ends).  ``mirror``: the axis reflected about its ends
#: (half-sample symmetric, so the k-space crop is a DCT-II truncation): right for a patch
#: cut out of tissue, whose two ends do not meet, so a periodic crop would ring at them.
BOUNDARIES = ("mirror", "periodic")


def _dct_window(name: str, m: int, param: float, fermi_width: float) -> np.ndarray:
    """The filter over DCT frequencies 0..m-1 (k/m is the same |u| as ``window``'s)."""
    return window(name, 2 * m, param, fermi_width)[:m]


@lru_cache(maxsize=512)
def kspace_matrix(n: int, m: int, filter: str = "none", param: float = 1.0, fermi_width: float = 0.05,
                  boundary: str = "mirror") -> np.ndarray:
    """(m, n): one axis of ``n`` HR pixels acquired with ``m`` k-space samples (the
    central ones) and reconstructed through ``filter`` on the engine's grid.
    ``boundary`` (``BOUNDARIES``): how the axis continues past its ends."""
    if not 0 < m <= n:
        raise ValueError(f"a k-space crop keeps 1..{n} samples, got {m}")
    if boundary == "periodic":
        A = _crop_1d(np.eye(n), m, window(filter, m, param, fermi_width))
    elif boundary == "mirror":
        # the mirrored axis's k-space is its DCT-II; the DCT's half-sample basis puts
        # LR pixel j at HR (j + 0.5) n/m - 0.5 without a ramp
        X = dct(np.eye(n), axis=0, norm="ortho")[:m] * (np.sqrt(m / n) * _dct_window(filter, m, param, fermi_width))[:, None]
        A = idct(X, axis=0, norm="ortho")
    else:
        raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
    A.setflags(write=False)
    return A


@lru_cache(maxsize=64)
def zero_fill_matrix(m: int, n: int, boundary: str = "mirror") -> np.ndarray:
    """(n, m): zero-filled k-space (sinc) enlargement of an axis from m to n pixels on
    the engine's grid: output pixel i at LR coordinate ``(i + 0.5) m/n - 0.5``."""
    if not 0 < m <= n:
        raise ValueError(f"zero-filling enlarges: {m} -> {n} pixels")
    if boundary == "mirror":
        Y = np.zeros((n, m))
        Y[:m] = dct(np.eye(m), axis=0, norm="ortho") * np.sqrt(n / m)
        B = idct(Y, axis=0, norm="ortho")
        B.setflags(write=False)
        return B
    if boundary != "periodic":
        raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
    Y = np.fft.fft(np.eye(m), axis=0)
    kk = np.fft.fftfreq(m, 1.0 / m).round().astype(np.int64)
    d = (m / n - 1.0) / 2.0  # in LR pixels
    Z = np.zeros((n, m), complex)
    inner = np.abs(kk) * 2 < m
    Z[kk[inner] % n] = Y[inner] * np.exp(2j * np.pi * kk[inner] * d / m)[:, None]
    if m % 2 == 0:  # the LR Nyquist sample is a cosine: half to +m/2, half to -m/2
        c = Y[m // 2]
        Z[m // 2] += 0.5 * c * np.exp(1j * np.pi * d)
        Z[(-m // 2) % n] += 0.5 * c * np.exp(-1j * np.pi * d)
    Z *= n / m
    B = np.fft.ifft(Z, axis=0).real
    B.setflags(write=False)
    return B


def _dense(idx: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    A = np.zeros((idx.shape[0], n))
    np.add.at(A, (np.repeat(np.arange(idx.shape[0]), idx.shape[1]), idx.ravel()), w.ravel().astype(np.float64))
    return A


def profile_taps(n: int, m: int, profile: str = "box", thickness: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Slice-profile weights of an axis of ``n`` HR pixels acquired as ``m`` slices:
    slice ``j`` is centred at HR coordinate ``(j + 0.5) s - 0.5`` (s = n/m, the spacing)
    and weights each HR pixel by the profile's integral over it: ``box`` covers
    ``thickness * s`` (thickness 1: slabs that tile the axis; less: gaps between
    slices), ``gaussian`` has FWHM ``thickness * s``.  Borders replicate.
    Returns ``(idx, w)``, shape (m, T), rows summing to 1."""
    s = n / m
    centre = (np.arange(m) + 0.5) * s  # pixel-edge coordinates: HR pixel i covers [i, i+1)
    width = thickness * s
    if profile == "box":
        half = width / 2.0
        first = np.floor(centre - half).astype(np.int64)
        T = int(np.ceil(width)) + 2
        idx = first[:, None] + np.arange(T)[None, :]
        w = np.clip(np.minimum(idx + 1, centre[:, None] + half) - np.maximum(idx, centre[:, None] - half), 0.0, None)
    elif profile == "gaussian":
        sig = width / (2.0 * np.sqrt(2.0 * np.log(2.0)))
        reach = 4.0 * sig
        first = np.floor(centre - reach).astype(np.int64)
        T = int(np.ceil(2 * reach)) + 2
        idx = first[:, None] + np.arange(T)[None, :]
        z = lambda v: erf(v / (np.sqrt(2.0) * sig))  # noqa: E731
        w = 0.5 * (z(idx + 1 - centre[:, None]) - z(idx - centre[:, None]))
    else:
        raise ValueError(f"slice profile must be one of {PROFILES}, got {profile!r}")
    w = w / w.sum(axis=1, keepdims=True)
    return np.clip(idx, 0, n - 1).astype(np.int64), w.astype(np.float32)


@lru_cache(maxsize=512)
def profile_matrix(n: int, m: int, profile: str = "box", thickness: float = 1.0) -> np.ndarray:
    A = _dense(*profile_taps(n, m, profile, thickness), n)
    A.setflags(write=False)
    return A


@lru_cache(maxsize=256)
def bicubic_matrix(n: int, m: int) -> np.ndarray:
    A = _dense(*taps(n, m, a=KEYS_A), n)
    A.setflags(write=False)
    return A


# -- the acquisition ---------------------------------------------------------------

def coarse_axis(n_shape, m_shape) -> int | None:
    """The slice axis (0 rows, 1 cols) of a thick-slice pair, None for a near-square zoom."""
    fy, fx = n_shape[0] / m_shape[0], n_shape[1] / m_shape[1]
    if max(fy, fx) < SLAB_RATIO * min(fy, fx):
        return None
    return 0 if fy > fx else 1


def _axis_matrix(d: Degradation, n: int, m: int, slice_axis: bool, boundary: str) -> np.ndarray:
    if slice_axis:
        if d.kind == "kspace" and d.profile == "kspace":
            return kspace_matrix(n, m, d.filter, float(d.filter_param), float(d.fermi_width), boundary)
        if d.kind == "kspace":
            return profile_matrix(n, m, d.profile, d.thickness)
        return profile_matrix(n, m, "box", 1.0)  # the bicubic/area rule for reformats: slabs
    if d.kind == "bicubic":
        return bicubic_matrix(n, m)
    if d.kind == "area":
        return profile_matrix(n, m, "box", 1.0)
    return kspace_matrix(n, m, d.filter, float(d.filter_param), float(d.fermi_width), boundary)


def tissue_mean(image: np.ndarray) -> float:
    """Mean signal over tissue: pixels above a tenth of the 99th percentile (background
    and air excluded, so an SNR means the same for a head and a tight crop)."""
    a = np.abs(np.asarray(image, np.float64))
    top = float(np.percentile(a, 99)) if a.size else 0.0
    t = a[a > 0.1 * top]
    return float(t.mean()) if t.size and top > 0 else float(a.mean())


def noise_sigma(signal: np.ndarray, snr: float) -> float:
    """The per-channel standard deviation of complex noise that gives ``snr`` in tissue."""
    return tissue_mean(signal) / float(snr)


def complex_noise(shape, sigma: float, rng: np.random.Generator, windows=(None, None)) -> np.ndarray:
    """Complex Gaussian noise on the LR grid as a reconstruction leaves it: white in
    k-space, then windowed along the k-space axes (``windows``: a filter per axis, or
    None for an axis acquired slice by slice); scaled so that each of the real and
    imaginary parts has standard deviation ``sigma`` at every pixel."""
    z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    power = 1.0
    for ax, w in enumerate(windows):
        if w is None:
            continue
        z = np.fft.ifft(np.fft.fft(z, axis=ax) * np.expand_dims(w, 1 - ax), axis=ax)
        power *= float(np.mean(w * w))
    return z * (sigma / np.sqrt(power))


def acquire(hr: np.ndarray, lr_shape, d: Degradation = Degradation("kspace"), rng: np.random.Generator | None = None,
            magnitude: bool | None = None, boundary: str = "mirror") -> np.ndarray:
    """The LR image (``lr_shape``, float32) a scanner would make of ``hr`` with ``d``.

    In-plane axes are acquired in k-space (``kind="kspace"``), averaged (``area``) or
    downscaled bicubically (``bicubic``, the paper's protocol); the coarse axis of a
    thick-slice pair (one factor 1.5x the other or more) gets the slice profile.  With
    ``d.snr`` complex Gaussian noise is added before the magnitude (Rician).  A k-space
    acquisition returns the magnitude image (``magnitude`` overrides); the others the
    real one, unless noise makes it complex.  ``boundary``: ``mirror`` for a patch cut
    out of a slice (the default: training and evaluation crops), ``periodic`` for a
    whole field of view.
    """
    img = np.asarray(hr, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"expected a 2D slice, got shape {img.shape}")
    (n_y, n_x), (m_y, m_x) = img.shape, (int(lr_shape[0]), int(lr_shape[1]))
    if m_y > n_y or m_x > n_x:
        raise ValueError(f"an acquisition of {img.shape} makes at most that many pixels, asked for {lr_shape}")
    slab = coarse_axis((n_y, n_x), (m_y, m_x))
    A_y = _axis_matrix(d, n_y, m_y, slab == 0, boundary)
    A_x = _axis_matrix(d, n_x, m_x, slab == 1, boundary)
    lr = A_y @ img @ A_x.T
    if d.snr is not None:
        if rng is None:
            raise ValueError("noise needs a random generator (rng)")
        win = tuple(window(d.filter, m, d.filter_param, d.fermi_width) if (d.kind == "kspace" and (slab != ax or d.profile == "kspace")) else None
                    for ax, m in enumerate((m_y, m_x)))
        lr = np.abs(lr + complex_noise((m_y, m_x), noise_sigma(lr, d.snr), rng, win))
    elif magnitude if magnitude is not None else d.kind == "kspace":
        lr = np.abs(lr)
    return lr.astype(np.float32)


def zero_fill(image: np.ndarray, scale, region=None, boundary: str = "mirror") -> np.ndarray:
    """Zero-filled k-space (sinc) enlargement of ``image`` by ``scale`` (a number or
    ``(r_y, r_x)``) on the same grid and region semantics as ``Upscaler.render``: the
    scanner's own interpolation, and the best linear enlargement of a k-space-limited
    image.  ``boundary`` as ``acquire``'s (mirror: no ringing from the image's ends)."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"expected a 2D slice, got shape {img.shape}")
    grid = ZoomGrid.make(img.shape, scale, sr=False)
    (H, W), (top, left, height, width) = grid.out_shape, grid.region(region)
    if H < img.shape[0] or W < img.shape[1]:
        raise ValueError("zero-filling enlarges; use acquire() to reduce")
    Z_y = zero_fill_matrix(img.shape[0], H, boundary)[top : top + height]
    Z_x = zero_fill_matrix(img.shape[1], W, boundary)[left : left + width]
    return (Z_y @ img @ Z_x.T).astype(np.float32)


def with_noise(d: Degradation, snr: float | None) -> Degradation:
    return replace(d, snr=snr)
