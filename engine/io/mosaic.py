"""Siemens mosaics: EPI/diffusion volumes stored as one tiled 2D frame.

The number of slices comes from the private tag (0019,100A) or the CSA image
header's ``NumberOfImagesInMosaic``; tiles fill a ceil(sqrt(n)) square grid row by
row.  ImagePositionPatient describes the whole mosaic as if it were one big
slice, so the first tile's position is moved by half the difference between the
mosaic and tile sizes (as dcm2niix and nibabel's ``MosaicWrapper`` do); the slices
follow the CSA ``SliceNormalVector`` at SpacingBetweenSlices (else SliceThickness).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .dicom_header import DicomFile, Slice, get
from .errors import CorruptScanError

_N_IMAGES_TAG = (0x0019, 0x100A)


def is_mosaic(ds) -> bool:
    it = get(ds, "ImageType")
    try:
        return it is not None and any(str(v).upper() == "MOSAIC" for v in it)
    except TypeError:
        return False


def _csa(ds):
    """nibabel's parse of the CSA image header, or None."""
    try:
        from nibabel.nicom import csareader  # warns "experimental" on import: quiet_readers()

        return csareader.get_csa_header(ds, "image")
    except Exception:
        return None


def _csa_values(csa, name):
    try:
        return csa["tags"][name]["items"]
    except (KeyError, TypeError):
        return None


def n_images(ds) -> int | None:
    elem = None
    try:
        elem = ds.get(_N_IMAGES_TAG)
    except Exception:
        pass
    if elem is not None:
        v = elem.value
        if isinstance(v, bytes) and len(v) >= 2:
            v = int.from_bytes(v[:2], "little")
        try:
            n = int(v)
            if n > 0:
                return n
        except (TypeError, ValueError):
            pass
    items = _csa_values(_csa(ds), "NumberOfImagesInMosaic")
    if items:
        try:
            return int(items[0])
        except (TypeError, ValueError):
            return None
    return None


def slice_normal(ds, fallback: np.ndarray) -> np.ndarray:
    items = _csa_values(_csa(ds), "SliceNormalVector")
    if items and len(items) == 3:
        try:
            v = np.array([float(x) for x in items])
            if np.all(np.isfinite(v)) and np.linalg.norm(v) > 0.5:
                return v / np.linalg.norm(v)
        except (TypeError, ValueError):
            pass
    return fallback


def grid(n: int) -> int:
    return math.ceil(math.sqrt(n))


def tiles(dfile: DicomFile, whole: Slice) -> list[Slice]:
    """One slice per tile, with the tile's size and position."""
    ds, path = dfile.header, dfile.path
    n = n_images(ds)
    if n is None:
        raise CorruptScanError(path, "Siemens mosaic without NumberOfImagesInMosaic (private tag or CSA header)")
    g = grid(n)
    R, C = dfile.pixels.rows, dfile.pixels.cols
    if R % g or C % g or dfile.pixels.frames != 1:
        raise CorruptScanError(path, f"a {R}x{C} mosaic cannot hold {n} tiles on a {g}x{g} grid")
    r, c = R // g, C // g
    out = []
    if whole.position is None or whole.orientation is None or whole.pixel_spacing is None:
        dfile.notes.append(f"{path.name}: mosaic without geometry; slices stacked without positions")
        return [replace(whole, tile=t, rows=r, cols=c, order=whole.order) for t in range(n)]
    row_dir, col_dir = whole.orientation[:3], whole.orientation[3:]
    ps_rows, ps_cols = whole.pixel_spacing
    first = whole.position + col_dir * ps_rows * (R - r) / 2 + row_dir * ps_cols * (C - c) / 2
    normal = slice_normal(ds, whole.normal)
    gap = whole.gap or 1.0  # checked by the reader (dicom_header.checked_gap)
    for t in range(n):
        out.append(replace(whole, tile=t, rows=r, cols=c, position=first + t * abs(gap) * normal, gap=abs(gap)))
    return out


def split(frame: np.ndarray, n: int) -> np.ndarray:
    """(R, C) mosaic -> (n, R/g, C/g) tiles, row by row."""
    g = grid(n)
    r, c = frame.shape[0] // g, frame.shape[1] // g
    t = frame[: g * r, : g * c].reshape(g, r, g, c).transpose(0, 2, 1, 3).reshape(g * g, r, c)
    return t[:n]
