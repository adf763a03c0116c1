"""Sizes we refuse before allocating anything, and the checks that say so."""

from __future__ import annotations

import math

from .errors import CorruptScanError, ScanTooLargeError

#: Largest volume (voxels) we will allocate: 2^31 float32 voxels is 8 GiB.
MAX_VOXELS = 2**31
#: Most files one folder scan will look at (a home folder is not a scan).
MAX_FILES = 200_000
#: Largest single axis: beyond any scanner (DICOM Rows/Columns stop at 65535).
MAX_AXIS = 65535


def check_shape(path, shape, what: str = "image") -> int:
    """Refuse zero, negative, absurd or over-cap dimensions; return the voxel count."""
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError, OverflowError):
        raise CorruptScanError(path, f"{what} has unreadable dimensions {shape!r}") from None
    if not dims:
        raise CorruptScanError(path, f"{what} has no dimensions")
    if any(d <= 0 for d in dims):
        raise CorruptScanError(path, f"{what} has a zero or negative dimension {dims}")
    if any(d > MAX_AXIS for d in dims):
        raise ScanTooLargeError(path, f"{what} declares an axis of {max(dims)} voxels (limit {MAX_AXIS})")
    n = math.prod(dims)
    if n > MAX_VOXELS:
        raise ScanTooLargeError(path, f"{what} declares {'x'.join(map(str, dims))} = {n} voxels (limit {MAX_VOXELS})")
    return n
