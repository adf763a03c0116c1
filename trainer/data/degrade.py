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
"""

from __future__ import annotations

import numpy as np

from engine.geometry import parse_scale
from engine.render.bicubic import KEYS_A, downscale, taps
from engine.render.cpu_kernel import separable_kernel


#: Pairs whose larger factor is at least this many times the smaller are thick-slice
#: reformats (slices of 1.5 mm and more over ~0.5-1 mm pixels); nearer pairs are not.
SLAB_RATIO = 1.5


def slab_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Box (area) weights: output pixel ``i`` averages input ``[i s, (i+1) s)`` in
    pixel-edge coordinates, ``s = n_in / n_out``, weighting each input pixel by its
    overlap.  Centred where the engine's geometry puts the LR pixel."""
    s = n_in / n_out
    lo = np.arange(n_out) * s
    first = np.floor(lo).astype(np.int64)
    T = int(np.ceil(s)) + 1
    idx = first[:, None] + np.arange(T)[None, :]
    overlap = np.minimum(idx + 1, lo[:, None] + s) - np.maximum(idx, lo[:, None])
    w = np.clip(overlap, 0.0, None)
    w /= w.sum(axis=1, keepdims=True)
    return np.clip(idx, 0, n_in - 1).astype(np.int64), w.astype(np.float32)


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
