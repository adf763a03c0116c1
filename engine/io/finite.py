"""Voxel values the network and the display can use: no NaN, no Inf."""

from __future__ import annotations

import numpy as np

#: Slab size for the in-place passes, so nothing allocates a second full volume.
_SLAB_VOXELS = 1 << 22


def _slabs(arr: np.ndarray):
    """Views of ``arr`` along its last axis, each about _SLAB_VOXELS voxels."""
    per = max(1, int(np.prod(arr.shape[:-1])))
    step = max(1, _SLAB_VOXELS // per)
    for k0 in range(0, arr.shape[-1], step):
        yield arr[..., k0 : k0 + step]


def replace_non_finite(arr: np.ndarray) -> str | None:
    """Replace NaN by 0 and +/-Inf by the largest/smallest finite value, in place.

    Returns a notice for ``meta.warnings`` when something was replaced, else None.
    A float64 sum is a one-pass test that finds any NaN/Inf without a mask-sized
    temporary (finite float32 values cannot overflow a float64 sum).
    """
    if arr.size == 0:
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        if np.isfinite(np.sum(arr, dtype=np.float64)):
            return None
    n_nan = n_inf = 0
    lo, hi = np.inf, -np.inf
    for slab in _slabs(arr):
        finite = np.isfinite(slab)
        if finite.any():
            lo = min(lo, float(slab[finite].min()))
            hi = max(hi, float(slab[finite].max()))
        n_nan += int(np.isnan(slab).sum())
        n_inf += int(slab.size - finite.sum()) - int(np.isnan(slab).sum())
    if not np.isfinite(lo):
        lo = hi = 0.0
    for slab in _slabs(arr):
        np.nan_to_num(slab, copy=False, nan=0.0, posinf=hi, neginf=lo)
    parts = []
    if n_nan:
        parts.append(f"{n_nan} NaN voxel(s) set to 0")
    if n_inf:
        parts.append(f"{n_inf} infinite voxel(s) clipped to [{lo:g}, {hi:g}]")
    return "; ".join(parts)
