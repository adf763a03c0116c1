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


#: Voxel sizes and patient coordinates we accept (mm).  Beyond them the numbers are
#: not a scan's: a 1e308 mm pixel or a slice 1e300 mm away overflows every later step.
MIN_SPACING_MM = 1e-4
MAX_SPACING_MM = 1e4
MAX_POSITION_MM = 1e5


def check_length(path, what: str, value: float) -> float:
    """A voxel size or slice gap (mm) within ``MIN_SPACING_MM .. MAX_SPACING_MM``."""
    if not (math.isfinite(value) and MIN_SPACING_MM <= abs(value) <= MAX_SPACING_MM):
        raise CorruptScanError(path, f"{what} of {value:g} mm is not a scan's (accepted: {MIN_SPACING_MM:g} to {MAX_SPACING_MM:g} mm)")
    return value


def check_position(path, what: str, values) -> None:
    """Patient coordinates (mm) within ``MAX_POSITION_MM`` of the origin."""
    for v in values:
        if not (math.isfinite(v) and abs(v) <= MAX_POSITION_MM):
            raise CorruptScanError(path, f"{what} {[float(x) for x in values]} lies beyond {MAX_POSITION_MM:g} mm from the origin")


def check_affine(path, affine) -> None:
    """The voxel -> mm affine of a volume: finite, every voxel axis
    ``MIN_SPACING_MM .. MAX_SPACING_MM`` long, the axes spanning 3D (their unit
    directions' determinant at least 1e-6), the origin within ``MAX_POSITION_MM``."""
    import numpy as np

    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (4, 4) or not np.all(np.isfinite(a)):
        raise CorruptScanError(path, "the voxel-to-patient affine holds NaN or Inf")
    norms = np.linalg.norm(a[:3, :3], axis=0)
    for axis, n in zip("ijk", norms):
        check_length(path, f"the voxel size along {axis}", float(n))
    if abs(float(np.linalg.det(a[:3, :3] / norms))) < 1e-6:
        raise CorruptScanError(path, "the voxel axes do not span 3D (collinear or coplanar): the geometry is degenerate")
    check_position(path, "the first voxel", a[:3, 3])


#: A volume may take at most this share of the memory available when it is loaded.
MAX_MEMORY_SHARE = 0.8
#: Environment setting: the most memory (GB) one loaded volume may take, whatever is available.
MAX_LOAD_GB_ENV = "METAZOOM_MAX_LOAD_GB"


def available_memory() -> int | None:
    """Bytes of memory available now (Linux MemAvailable, else free pages), None if unknown."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(path, nbytes: int, what: str = "the volume") -> None:
    """Refuse to allocate ``nbytes`` beyond ``MAX_MEMORY_SHARE`` of the available memory
    or the ``METAZOOM_MAX_LOAD_GB`` setting: a small compressed file may declare gigabytes."""
    import os

    setting = os.environ.get(MAX_LOAD_GB_ENV)
    if setting:
        try:
            cap = float(setting) * 1e9
        except ValueError:
            cap = None
        if cap is not None and nbytes > cap:
            raise ScanTooLargeError(path, f"{what} needs {nbytes / 1e9:.3g} GB, more than {MAX_LOAD_GB_ENV}={setting} GB allows")
    free = available_memory()
    if free is not None and nbytes > MAX_MEMORY_SHARE * free:
        raise ScanTooLargeError(path, f"{what} needs {nbytes / 1e9:.3g} GB; only {free / 1e9:.3g} GB of memory is available")
