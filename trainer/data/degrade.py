"""How training and evaluation make a low-resolution input from a high-resolution patch.

* A square zoom ``r``: antialiased bicubic downscale (the paper's degradation, and
  ``engine.render.bicubic.downscale``).
* A pair ``(r_y, r_x)`` whose factors differ by ``SLAB_RATIO`` or more stands for
  what the viewer meets it on: a coronal or sagittal reformat of a thick-slice scan,
  whose coarse axis (the larger factor) is the slice axis.  Each LR pixel along that
  axis is the mean of the tissue its slab covers (partial volume: a box profile as
  wide as the slice spacing), which keeps edges and aliasing that bicubic's widened
  kernel would smooth away; the network must learn to undo that, not to sharpen it
  into stripes.  The other axis keeps bicubic.
* A pair of nearly equal factors (non-square pixels, or slices barely thicker than
  the pixels) keeps bicubic on both axes: it is the square zoom's degradation, and a
  slab there would ask the network to tell apart two degradations that look alike.

That is the paper's protocol, and ``make_lr`` still makes it.  A scanner's images are
made otherwise (k-space truncation, reconstruction filters, Rician noise, slice
profiles: ``engine.acquisition``); ``DegradationMix`` draws one of those per patch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.acquisition import FILTERS, KINDS, PROFILES, SLAB_RATIO, Degradation, acquire, named, profile_taps, random_filter
from engine.geometry import parse_scale
from engine.render.bicubic import KEYS_A, downscale, taps
from engine.render.cpu_kernel import separable_kernel


def slab_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Box (area) weights: output pixel ``i`` averages input ``[i s, (i+1) s)`` in
    pixel-edge coordinates, ``s = n_in / n_out``, weighting each input pixel by its
    overlap: the acquisition model's box slice profile with no gaps."""
    return profile_taps(n_in, n_out, "box", 1.0)


def make_lr(hr: np.ndarray, lr_shape, scale) -> np.ndarray:
    """The LR input of ``hr`` at ``scale`` (a number or ``(r_y, r_x)``), ``lr_shape`` pixels."""
    ry, rx = parse_scale(scale, sr=False)
    if max(ry, rx) < SLAB_RATIO * min(ry, rx):
        return downscale(hr, lr_shape)
    img = np.ascontiguousarray(hr, dtype=np.float32)
    (h, w), (m_y, m_x) = img.shape, lr_shape
    ri, rw = slab_taps(h, m_y) if ry > rx else taps(h, m_y, a=KEYS_A)
    ci, cw = slab_taps(w, m_x) if rx > ry else taps(w, m_x, a=KEYS_A)
    return separable_kernel(img, ri, rw, ci, cw, np.empty((m_y, m_x), np.float32))


# -- a random mix of acquisitions (engine.acquisition) ---------------------------------

#: ``data.degrade`` as the paper trains: every patch bicubic (the slab rule for pairs).
PAPER_MIX = {"bicubic": 1.0}


@dataclass(frozen=True)
class DegradationMix:
    """How each training patch draws its own degradation (``data.degrade`` in the config).

    ``mix``: relative frequencies of ``bicubic`` (the paper's protocol, kept so it does
    not collapse), ``area`` (box average) and ``kspace`` (a lower-resolution
    acquisition).  A k-space patch draws its reconstruction filter from ``filters``
    (relative frequencies; parameters at random, ``engine.acquisition.random_filter``),
    gets complex noise (Rician magnitude) with probability ``noise`` at a tissue SNR
    drawn log-uniformly from ``snr``, and, for thick-slice pairs, a slice profile from
    ``profiles`` with a thickness (fraction of the spacing, < 1 leaves gaps) drawn
    uniformly from ``thickness``.  ``noise_other`` is the probability of the same noise
    on bicubic and area patches (0: they stay clean, as the paper's).
    """

    mix: dict = field(default_factory=lambda: dict(PAPER_MIX))
    filters: dict = field(default_factory=lambda: {f: 1.0 for f in FILTERS})
    noise: float = 0.0
    noise_other: float = 0.0
    snr: tuple = (15.0, 100.0)
    profiles: dict = field(default_factory=lambda: {p: 1.0 for p in PROFILES})
    thickness: tuple = (0.7, 1.0)

    @classmethod
    def from_config(cls, d: dict | None) -> "DegradationMix":
        d = dict(d or {})
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown data.degrade keys {sorted(unknown)}")
        mix = cls(**{k: (tuple(v) if k in ("snr", "thickness") else v) for k, v in d.items()})
        mix.check()
        return mix

    def check(self) -> None:
        for what, table, allowed in (("mix", self.mix, KINDS), ("filters", self.filters, FILTERS), ("profiles", self.profiles, PROFILES)):
            bad = set(table) - set(allowed)
            if bad:
                raise ValueError(f"data.degrade.{what}: unknown {sorted(bad)}; known {list(allowed)}")
            if any(float(v) < 0 for v in table.values()) or not sum(float(v) for v in table.values()) > 0:
                raise ValueError(f"data.degrade.{what} needs non-negative weights, at least one positive: {table}")
        for what, p in (("noise", self.noise), ("noise_other", self.noise_other)):
            if not 0.0 <= float(p) <= 1.0:
                raise ValueError(f"data.degrade.{what} is a probability in [0, 1], got {p}")
        lo, hi = (float(v) for v in self.snr)
        if not 0 < lo <= hi:
            raise ValueError(f"data.degrade.snr is [low, high] with 0 < low <= high, got {self.snr}")
        lo, hi = (float(v) for v in self.thickness)
        if not 0 < lo <= hi <= 2:
            raise ValueError(f"data.degrade.thickness is [low, high] within (0, 2], got {self.thickness}")

    @property
    def is_paper(self) -> bool:
        """Every patch bicubic and clean: batches exactly as before the mix existed."""
        return set(k for k, v in self.mix.items() if float(v) > 0) == {"bicubic"} and float(self.noise_other) == 0.0

    @staticmethod
    def _pick(table: dict, rng: np.random.Generator) -> str:
        names = [k for k, v in table.items() if float(v) > 0]
        p = np.array([float(table[k]) for k in names])
        return names[int(rng.choice(len(names), p=p / p.sum()))]

    def draw(self, rng: np.random.Generator) -> Degradation:
        kind = self._pick(self.mix, rng)
        args: dict = {"kind": kind}
        if kind == "kspace":
            args.update(random_filter(rng, self.filters))
            args["profile"] = self._pick(self.profiles, rng)  # used by thick-slice pairs only
            args["thickness"] = float(rng.uniform(*self.thickness))
        if rng.random() < (self.noise if kind == "kspace" else self.noise_other):
            lo, hi = (float(v) for v in self.snr)
            args["snr"] = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        return Degradation(**args)


def degrade(hr: np.ndarray, lr_shape, scale, d: Degradation | str, rng: np.random.Generator | None = None) -> np.ndarray:
    """The LR input of ``hr`` under degradation ``d`` (or its name in
    ``engine.acquisition.NAMED``): clean bicubic is exactly ``make_lr``, the paper's
    protocol; anything else is ``engine.acquisition.acquire``."""
    d = named(d) if isinstance(d, str) else d
    if d.kind == "bicubic" and d.snr is None:
        return make_lr(hr, lr_shape, scale)
    return acquire(hr, lr_shape, d, rng)
