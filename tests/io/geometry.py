"""Comparing volumes whose voxel order differs (ours vs dcm2niix/nibabel): by world coordinates."""

from __future__ import annotations

import numpy as np


def corners(shape, affine) -> np.ndarray:
    """World (RAS mm) coordinates of the 8 corner voxel centres."""
    idx = np.array([[i, j, k] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1) for k in (0, shape[2] - 1)], float)
    return idx @ np.asarray(affine)[:3, :3].T + np.asarray(affine)[:3, 3]


def corner_error(shape_a, affine_a, shape_b, affine_b) -> float:
    """Largest distance (mm) from a corner of one field of view to the nearest corner of the other."""
    a, b = corners(shape_a, affine_a), corners(shape_b, affine_b)
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    return float(max(d.min(axis=1).max(), d.min(axis=0).max()))


def to_reference_order(voxels, affine, ref_affine) -> np.ndarray:
    """``voxels`` permuted/flipped into the reference's voxel order (they must share a grid)."""
    m = np.linalg.inv(ref_affine) @ affine
    p = np.rint(m[:3, :3])
    assert np.allclose(m[:3, :3], p, atol=1e-3), f"not the same grid up to axis order:\n{m}"
    axes = [int(np.flatnonzero(p[r])[0]) for r in range(3)]
    out = np.transpose(voxels, axes)
    for r in range(3):
        if p[r, axes[r]] < 0:
            out = np.flip(out, r)
    return out
