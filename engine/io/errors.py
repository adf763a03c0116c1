"""Typed errors for scans that cannot be opened.  Each names the file and the reason.

The GUI edge and the CLIs catch ``ScanError`` (a ``MetaZoomError``) and show
``str(err)``: ``"<path>: <reason>"``.  Nothing else escapes ``open_scan``/``load``.
"""

from __future__ import annotations

from ..errors import PathError


class ScanError(PathError):
    """A scan could not be opened.  ``.path``: the file or folder; ``.reason``: why, in words."""


class ScanNotFoundError(ScanError):
    """The path does not exist, or a folder holds no scan (no DICOM image, no NIfTI)."""


class UnsupportedScanError(ScanError):
    """A readable file that is not something we display: RT plan, SR, DICOMDIR alone,
    RGB NIfTI, complex data, an unknown transfer syntax..."""


class CorruptScanError(ScanError):
    """The file claims to be a scan but is broken: truncated, missing pixel data,
    zero/negative dimensions, NaN in the affine, undecodable pixels."""


class ScanTooLargeError(ScanError):
    """The declared size is beyond what we will allocate (checked before allocating)."""


class MultipleSeriesError(ScanError):
    """``load(path)`` found several series; ``.series`` lists them (pick one and load it)."""

    def __init__(self, path, series: list):
        self.series = list(series)
        listing = "; ".join(s.label for s in self.series[:12])
        more = f" and {len(self.series) - 12} more" if len(self.series) > 12 else ""
        super().__init__(path, f"holds {len(self.series)} series, choose one: {listing}{more}")


class VolumeIndexError(ScanError, IndexError):
    """``volume_index`` is outside the 4D series (0 .. n_volumes - 1)."""
