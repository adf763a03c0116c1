"""Where each pixel of an exported DICOM image lies: the Image Plane attributes of a
stored slice, computed from the (updated) affine, so they are exact by construction.

A stored slice ``U[u, v]`` (``u`` along voxel axis i, ``v`` along j) becomes the
DICOM image ``P[row, col]`` by a transpose and/or flips.  Which one: the one whose
row/column directions match the source's ImageOrientationPatient (so a DICOM source
keeps its orientation whatever storage order the reader chose), else the usual
DICOM orientation of the nearest plane (axial [1,0,0, 0,1,0], coronal [1,0,0,
0,0,-1], sagittal [0,1,0, 0,0,-1]).  Geometry follows from the affine: DICOM is
LPS, the affine RAS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])

_STANDARD = {  # nearest LPS axis of the slice normal -> (row cosine, column cosine)
    2: (np.array([1.0, 0, 0]), np.array([0, 1.0, 0])),  # axial
    1: (np.array([1.0, 0, 0]), np.array([0, 0, -1.0])),  # coronal
    0: (np.array([0, 1.0, 0]), np.array([0, 0, -1.0])),  # sagittal
}


@dataclass(frozen=True)
class ImagePlane:
    """One exported DICOM image's geometry (LPS millimetres).

    ``row_cosine``: direction of increasing column index (along a row);
    ``col_cosine``: direction of increasing row index; ``pixel_spacing``:
    (between rows, between columns) as DICOM's PixelSpacing; ``position``: centre
    of the first (top left) pixel.
    """

    transpose: bool
    flip_rows: bool
    flip_cols: bool
    shape: tuple[int, int]  # (rows, columns)
    position: np.ndarray
    row_cosine: np.ndarray
    col_cosine: np.ndarray
    pixel_spacing: tuple[float, float]

    @property
    def orientation(self) -> np.ndarray:
        return np.concatenate([self.row_cosine, self.col_cosine])

    def pixels(self, stored_slice: np.ndarray) -> np.ndarray:
        """The DICOM image (rows, columns) of a stored slice ``U[u, v]``."""
        p = stored_slice.T if self.transpose else stored_slice
        if self.flip_rows:
            p = p[::-1, :]
        if self.flip_cols:
            p = p[:, ::-1]
        return np.ascontiguousarray(p)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def image_plane(affine: np.ndarray, shape_uv: tuple[int, int], k: int, prefer=None) -> ImagePlane:
    """The DICOM image of stored slice ``k`` of a volume with this (RAS) ``affine``
    and in-plane shape ``shape_uv``.  ``prefer``: an ImageOrientationPatient (6
    numbers) to match, else the standard one of the nearest plane."""
    L = RAS_TO_LPS @ np.asarray(affine, dtype=np.float64)
    nu, nv = int(shape_uv[0]), int(shape_uv[1])
    if prefer is not None:
        pref = np.asarray(prefer, dtype=np.float64)
        want_row, want_col = _unit(pref[:3]), _unit(pref[3:6])
    else:
        normal = np.cross(L[:3, 0], L[:3, 1])
        want_row, want_col = _STANDARD[int(np.argmax(np.abs(normal)))]
    best, best_score = None, -np.inf
    for transpose in (True, False):  # True first: columns along i, the usual reader layout
        a_c, a_r = (0, 1) if transpose else (1, 0)
        n_c, n_r = (nu, nv) if transpose else (nv, nu)
        for flip_rows in (False, True):
            for flip_cols in (False, True):
                d_c = L[:3, a_c] * (-1.0 if flip_cols else 1.0)
                d_r = L[:3, a_r] * (-1.0 if flip_rows else 1.0)
                score = float(_unit(d_c) @ want_row + _unit(d_r) @ want_col)
                if score > best_score + 1e-9:
                    idx = np.array([0.0, 0.0, float(k), 1.0])
                    idx[a_c] = n_c - 1 if flip_cols else 0
                    idx[a_r] = n_r - 1 if flip_rows else 0
                    best_score = score
                    best = ImagePlane(
                        transpose,
                        flip_rows,
                        flip_cols,
                        (n_r, n_c),
                        (L @ idx)[:3],
                        _unit(d_c),
                        _unit(d_r),
                        (float(np.linalg.norm(d_r)), float(np.linalg.norm(d_c))),
                    )
    return best


def plane_from_header(header) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]] | None:
    """(position, row cosine, column cosine, pixel spacing) of a DICOM header, or None."""
    try:
        ipp = np.array([float(v) for v in header.ImagePositionPatient], dtype=np.float64)
        iop = np.array([float(v) for v in header.ImageOrientationPatient], dtype=np.float64)
        ps = tuple(float(v) for v in header.PixelSpacing)
    except (AttributeError, TypeError, ValueError, KeyError):
        return None
    if ipp.shape != (3,) or iop.shape != (6,) or len(ps) != 2:
        return None
    return ipp, iop[:3], iop[3:], ps


def affine_from_planes(planes: list[tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]]) -> np.ndarray:
    """The RAS affine of a stack of DICOM images (columns along i, rows along j,
    images along k), as nibabel would build it; for tests and round-trip checks."""
    ipp0, row, col, (dr, dc) = planes[0]
    if len(planes) > 1:
        step = (planes[-1][0] - ipp0) / (len(planes) - 1)
    else:
        step = np.cross(row, col)
    lps = np.eye(4)
    lps[:3, 0] = row * dc
    lps[:3, 1] = col * dr
    lps[:3, 2] = step
    lps[:3, 3] = ipp0
    return RAS_TO_LPS @ lps


def patient_orientation(row_cosine: np.ndarray, col_cosine: np.ndarray) -> list[str]:
    """DICOM PatientOrientation letters (e.g. ["L", "P"]) of the row and column
    directions, strongest component first (up to 3 letters for oblique images)."""

    def letters(v):
        out = ""
        for axis in np.argsort(-np.abs(v)):
            if abs(v[axis]) < 1e-4:
                break
            out += ("LR", "PA", "HF")[axis][0 if v[axis] > 0 else 1]
        return out or "L"

    return [letters(row_cosine), letters(col_cosine)]
