"""Display planes: a slice as the radiologist sees it, whatever the storage order.

Radiological convention (default): axial and coronal show the patient's right on
the screen's left; axial has anterior at the top, coronal and sagittal superior at
the top; sagittal shows anterior on the left.  ``radiological=False`` (the
neurological convention) mirrors axial and coronal left-right.

Slices are taken by axis permutation and flips only (nibabel's ``io_orientation``
picks the voxel axis closest to each world axis), never resampled: an oblique
scan shows its stored pixels, labelled by the nearest anatomical direction.

``index`` counts slices from the inferior (axial), posterior (coronal) or
patient-left (sagittal) end, growing toward superior / anterior / right (RAS+).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from nibabel.orientations import io_orientation

from .volume import PLANES, DisplaySlice, Volume

_POS = "RAS"  # letter at the + end of world axes x, y, z (RAS+)
_NEG = "LPI"

# plane -> (world axis of the normal, world axis down the screen, world axis across the screen,
#           world direction as screen rows grow, radiological world direction as columns grow)
_LAYOUT = {
    "axial": (2, 1, 0, -1, -1),  # rows A -> P, columns R -> L
    "coronal": (1, 2, 0, -1, -1),  # rows S -> I, columns R -> L
    "sagittal": (0, 2, 1, -1, -1),  # rows S -> I, columns A -> P
}


def _axes(volume: Volume):
    """For each world axis: (voxel axis, +1/-1 direction of that voxel axis in world)."""
    ornt = io_orientation(volume.affine)
    return {int(w): (v, int(s)) for v, (w, s) in enumerate(ornt)}


def _check_plane(plane: str) -> str:
    p = str(plane).lower()
    if p not in _LAYOUT:
        raise ValueError(f"plane must be one of {PLANES}, got {plane!r}")
    return p


def normal_axis(volume: Volume, plane: str) -> tuple[int, int]:
    """(voxel axis, +1/-1) of the plane's normal: the voxel axis its slices are taken
    along, and whether display slice numbers grow with that axis's index."""
    return _axes(volume)[_LAYOUT[_check_plane(plane)][0]]


def n_slices(volume: Volume, plane: str) -> int:
    """How many slices the plane has (the voxel axis nearest its normal)."""
    normal_world = _LAYOUT[_check_plane(plane)][0]
    return volume.shape[_axes(volume)[normal_world][0]]


@dataclass(frozen=True)
class PlaneAxes:
    """How one plane of a volume is displayed: for its normal, the screen's rows and its
    columns, ``(voxel axis, flipped)``; flipped: the display counts that voxel axis from
    its far end.  The one layout ``display_slice``, ``slice_geometry``, ``reoriented`` and
    the viewer's crosshair share, so none can disagree with the picture."""

    plane: str
    normal: tuple[int, bool]
    rows: tuple[int, bool]
    cols: tuple[int, bool]
    letters: tuple[str, str, str, str]
    normal_world: int


def plane_axes(volume: Volume, plane: str, radiological: bool = True) -> PlaneAxes:
    plane = _check_plane(plane)
    normal_w, row_w, col_w, row_dir, col_dir = _LAYOUT[plane]
    if plane != "sagittal" and not radiological:
        col_dir = -col_dir
    axes = _axes(volume)
    (nv, n_sign), (rv, r_sign), (cv, c_sign) = axes[normal_w], axes[row_w], axes[col_w]
    return PlaneAxes(plane, (nv, n_sign < 0), (rv, r_sign != row_dir), (cv, c_sign != col_dir),
                     _letters(row_w, col_w, row_dir, col_dir), normal_w)


@dataclass(frozen=True)
class SliceGeometry:
    """What a display slice is, without its pixels (cheap: no voxel is read).
    ``shape``: (rows, columns) on screen; the rest as in ``DisplaySlice``."""

    shape: tuple[int, int]
    spacing: tuple[float, float]
    letters: tuple[str, str, str, str]
    plane: str
    index: int
    position_mm: float


def _locate(volume: Volume, plane: str, index: int, radiological: bool) -> tuple[PlaneAxes, int, int]:
    """The plane's axes, the checked display index and the stored index along the normal."""
    ax = plane_axes(volume, plane, radiological)
    nv, flipped = ax.normal
    n, index = volume.shape[nv], int(index)
    if not 0 <= index < n:
        raise IndexError(f"{ax.plane} slice {index} is outside 0..{n - 1}")
    return ax, index, (n - 1 - index if flipped else index)


def _described(volume: Volume, ax: PlaneAxes, index: int, k: int) -> dict:
    sizes = np.linalg.norm(volume.affine[:3, :3], axis=0)
    return {"spacing": (float(sizes[ax.rows[0]]), float(sizes[ax.cols[0]])), "letters": ax.letters,
            "plane": ax.plane, "index": index, "position_mm": _position(volume, ax.normal[0], k, ax.normal_world)}


def slice_geometry(volume: Volume, plane: str, index: int, radiological: bool = True) -> SliceGeometry:
    """The geometry ``display_slice`` would give, without making the slice."""
    ax, index, k = _locate(volume, plane, index, radiological)
    shape = (int(volume.shape[ax.rows[0]]), int(volume.shape[ax.cols[0]]))
    return SliceGeometry(shape=shape, **_described(volume, ax, index, k))


def _letters(row_w, col_w, row_dir, col_dir) -> tuple[str, str, str, str]:
    return (
        _POS[row_w] if row_dir < 0 else _NEG[row_w],
        _NEG[row_w] if row_dir < 0 else _POS[row_w],
        _POS[col_w] if col_dir < 0 else _NEG[col_w],
        _NEG[col_w] if col_dir < 0 else _POS[col_w],
    )


def display_slice(volume: Volume, plane: str, index: int, radiological: bool = True) -> DisplaySlice:
    """Slice ``index`` of ``plane`` as a 2D float32 image, rows top to bottom, columns left to right."""
    ax, index, k = _locate(volume, plane, index, radiological)
    (nv, _), (rv, row_flip), (cv, col_flip) = ax.normal, ax.rows, ax.cols
    # a view, not np.take: take makes the whole volume C-contiguous first, a copy of
    # every voxel per slice (~1 s for a 512x512x120 DICOM series stored in F order)
    img = volume.voxels[(slice(None),) * nv + (k,)]
    # the two remaining voxel axes keep their order: put the screen-row one first
    if rv > cv:
        img = img.T
    if row_flip:
        img = img[::-1, :]
    if col_flip:
        img = img[:, ::-1]
    return DisplaySlice(pixels=np.ascontiguousarray(img, dtype=np.float32), **_described(volume, ax, index, k))


def plane_slices(volume: Volume, plane: str, keep: slice | None = None, radiological: bool = True) -> list[np.ndarray]:
    """The pixels of ``display_slice(volume, plane, i)`` for every ``i`` in ``range(n)[keep]``:
    what the viewer shows, with ``keep`` counting the viewer's slice numbers from 0
    (``slice(-20, None)``: the last 20, toward superior / anterior / right)."""
    n = n_slices(volume, plane)
    picked = range(n)[keep] if keep is not None else range(n)
    return [display_slice(volume, plane, i, radiological).pixels for i in picked]


def reoriented(volume: Volume, plane: str, radiological: bool = True) -> Volume:
    """The volume with its voxel axes permuted and flipped so that stored slice ``k`` is
    ``display_slice(volume, plane, k)`` (transposed: voxel i runs along the screen's
    columns, j down its rows), with the affine that keeps every voxel where it was in
    the world.  No resampling, so a NIfTI export of a reformatted plane stays exact."""
    ax = plane_axes(volume, plane, radiological)
    (nv, n_flip), (rv, r_flip), (cv, c_flip) = ax.normal, ax.rows, ax.cols
    flips = (c_flip, r_flip, n_flip)
    voxels = np.transpose(volume.voxels, (cv, rv, nv))
    # new voxel (a, b, c) is old voxel T @ (a, b, c, 1): a permutation, each flipped axis
    # counted from its far end
    t = np.zeros((4, 4))
    t[3, 3] = 1.0
    for new, (old, flip) in enumerate(zip((cv, rv, nv), flips)):
        if flip:
            voxels = np.flip(voxels, axis=new)
            t[old, new] = -1.0
            t[old, 3] = volume.shape[old] - 1
        else:
            t[old, new] = 1.0
    return replace(volume, voxels=np.ascontiguousarray(voxels), affine=np.asarray(volume.affine, np.float64) @ t)


def _position(volume: Volume, nv: int, k: int, normal_w: int) -> float:
    """World position of the slice centre along the slice's normal, signed toward +RAS."""
    centre = (np.array(volume.shape, dtype=np.float64) - 1) / 2
    centre[nv] = k
    world = volume.affine[:3, :3] @ centre + volume.affine[:3, 3]
    others = [a for a in range(3) if a != nv]
    normal = np.cross(volume.affine[:3, others[0]], volume.affine[:3, others[1]])
    normal /= np.linalg.norm(normal)
    if normal[normal_w] < 0:
        normal = -normal
    return float(world @ normal)
