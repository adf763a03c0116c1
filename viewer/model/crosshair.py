"""One point of the volume seen in every plane.  No Qt.

A point is kept in voxel edge coordinates ``e = (e_i, e_j, e_k)``: voxel ``[i, j, k]``
covers ``e_i in [i, i + 1]`` etc.  A display slice (``engine.io.planes``) takes a
voxel axis per screen axis, each maybe flipped; so along every axis the display
coordinate is ``e`` or ``n - e``.  That makes the mapping exact both ways, on stored
planes and reformats alike, and the slice through the point in another plane is the
one whose pixels the point falls in.
"""

from __future__ import annotations

import math

# the display module's own layout, so the mapping can never disagree with the picture
from engine.io.planes import plane_axes


def _flip(x: float, n: int, flipped: bool) -> float:
    return n - x if flipped else x


def to_voxel(volume, plane: str, index: int, u: float, v: float, radiological: bool = True) -> tuple[float, float, float]:
    """Edge coordinates of slice point ``(u, v)`` of slice ``index`` (its middle along the normal)."""
    ax, shape = plane_axes(volume, plane, radiological), volume.shape
    e = [0.0, 0.0, 0.0]
    nv, nf = ax.normal
    e[nv] = _flip(index + 0.5, shape[nv], nf)
    rv, rf = ax.rows
    e[rv] = _flip(v, shape[rv], rf)
    cv, cf = ax.cols
    e[cv] = _flip(u, shape[cv], cf)
    return tuple(e)


def from_voxel(volume, plane: str, e, radiological: bool = True) -> tuple[int, float, float]:
    """``(index, u, v)``: the slice of ``plane`` through edge point ``e`` and where
    the point sits on it."""
    ax, shape = plane_axes(volume, plane, radiological), volume.shape
    nv, nf = ax.normal
    d = _flip(e[nv], shape[nv], nf)
    index = min(max(int(math.floor(d)), 0), shape[nv] - 1)
    rv, rf = ax.rows
    cv, cf = ax.cols
    return index, _flip(e[cv], shape[cv], cf), _flip(e[rv], shape[rv], rf)


def voxel_index(volume, e) -> tuple[int, int, int]:
    """The voxel that edge point ``e`` falls in (clipped to the volume)."""
    return tuple(min(max(int(math.floor(x)), 0), n - 1) for x, n in zip(e, volume.shape))


def point_text(volume, e) -> str:
    """``voxel [i, j, k] = value · RAS (x, y, z) mm`` for the status bar."""
    import numpy as np

    ijk = voxel_index(volume, e)
    world = np.asarray(volume.affine, float) @ np.array([e[0] - 0.5, e[1] - 0.5, e[2] - 0.5, 1.0])
    value = float(volume.voxels[ijk])
    return (f"Point: voxel [{ijk[0]}, {ijk[1]}, {ijk[2]}] = {value:.5g} · "
            f"RAS ({world[0]:.1f}, {world[1]:.1f}, {world[2]:.1f}) mm")
