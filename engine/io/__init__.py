"""Scan I/O: NIfTI and DICOM in, ``Volume`` out, and display planes.

    series = open_scan(path)            # file, folder or tree -> [SeriesInfo] (headers only)
    vol = load(series[0])               # or load(path) when it holds one series
    sl = display_slice(vol, "axial", n_slices(vol, "axial") // 2)
    stack = plane_slices(vol, "axial", slice(-20, None))   # the last 20 display slices' pixels

Every failure on bad input is a ``ScanError`` (a ``MetaZoomError``) with
``.path`` and ``.reason``: ``ScanNotFoundError``, ``UnsupportedScanError``,
``CorruptScanError``, ``ScanTooLargeError``, ``MultipleSeriesError`` (``.series``),
``VolumeIndexError``.

What export needs is in ``Volume.meta``: identifiers in its fields, and what the
reader kept of its source in ``meta.dicom`` or ``meta.nifti`` (``sources``: the
source header, file, frame and tile of each slice of a DICOM series; a NIfTI file's
header, scaling and sform/qform codes).
"""

from .planes import display_slice, n_slices, plane_slices
from .errors import (
    CorruptScanError,
    MultipleSeriesError,
    ScanError,
    ScanNotFoundError,
    ScanTooLargeError,
    UnsupportedScanError,
    VolumeIndexError,
)
from .scan import load, open_scan
from .volume import PLANES, DisplaySlice, SeriesInfo, SeriesMeta, Volume, WindowPreset

__all__ = [
    "PLANES",
    "CorruptScanError",
    "DisplaySlice",
    "MultipleSeriesError",
    "ScanError",
    "ScanNotFoundError",
    "ScanTooLargeError",
    "SeriesInfo",
    "SeriesMeta",
    "UnsupportedScanError",
    "Volume",
    "VolumeIndexError",
    "WindowPreset",
    "display_slice",
    "load",
    "n_slices",
    "open_scan",
    "plane_slices",
]
