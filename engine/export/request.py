"""What to export (``ExportRequest``) and how far along it is (``Progress``).

One request type for the viewer's export dialog and for ``metazoom-upscale``, so
both produce the same bytes (UIDs and timestamps aside; fix them with ``uid_seed``
and ``timestamp``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..io.volume import PLANES, Volume, WindowPreset

FORMATS = ("nifti", "dicom", "png", "tiff")
#: formats that write a 2D image per display slice along a chosen plane
PLANE_FORMATS = ("png", "tiff")


@dataclass
class ExportRequest:
    """One export.

    ``volume``: the loaded scan.  ``destination``: a folder, or for ``nifti``/``tiff``
    a file name (``.nii``/``.nii.gz``/``.tif``/``.tiff``; the bicubic companion gets
    ``_bicubic`` before the extension).  ``upscaler``: a loaded ``Upscaler`` for
    Meta-SRGAN, or None for bicubic only.  ``scale``: the zoom (> 1 for Meta-SRGAN;
    above 4 it super-resolves at x4 and interpolates the rest bicubically; any
    positive factor for bicubic).  Every slice comes out at ``round(scale * n)``
    pixels per axis.

    ``plane``: for PNG/TIFF ``axial``/``coronal``/``sagittal`` (default axial), as
    the viewer shows it (radiological).  NIfTI and DICOM keep the stored slices
    (``k``) and upscale each in its stored axes ``i, j``, so the geometry stays exact;
    NIfTI or DICOM with a ``plane`` writes that plane's slices as the stored slices of a
    volume with permuted axes (``engine.export.reformat``: exact, no resampling; a DICOM
    reformat references every source image).
    A ``plane`` that is the stored one keeps the stored slices, headers and all.
    ``slices``: None (all), an index, or ``(start, stop)`` half-open, 0-based, in the
    plane's slice numbering (display order, from the inferior / posterior / patient-left
    end), or without a ``plane`` the stored ``k`` (NIfTI/DICOM).

    ``include_bicubic``: also write the bicubic result (a second file/series).
    ``anonymize``: DICOM PS3.15 basic profile on DICOM output; no source names in
    any output's provenance or file names.  ``overwrite``: replace existing files
    (never the source).  ``intensity_range``: Meta-SRGAN's normalisation (lo, hi)
    in the scan's units; None = the volume's robust range, shared by all slices.
    ``window``: the PNG window (and the one recorded in TIFF/NIfTI/SC); None = the
    volume's first preset, else a robust automatic window.  ``name``: base of the
    file names in a folder destination (None: from the source).  ``uid_seed``:
    makes every generated UID (and de-identification mapping) deterministic.
    ``timestamp``: the creation time written into the files (None = now).
    ``accept_burned_in``: with ``anonymize``, export a scan whose pixels may carry
    burned-in text (``burned_in``) anyway; its DICOM keeps BurnedInAnnotation YES and
    does not claim the patient's identity removed.  Without it such a request is
    refused (``BurnedInTextError``).
    """

    volume: Volume
    destination: Path
    upscaler: object | None = None
    scale: float = 2.0
    format: str = "nifti"
    plane: str | None = None
    slices: int | tuple[int, int] | None = None
    include_bicubic: bool = False
    anonymize: bool = False
    overwrite: bool = False
    intensity_range: tuple[float, float] | None = None
    window: WindowPreset | None = None
    name: str | None = None
    uid_seed: str | None = None
    timestamp: datetime | None = None
    accept_burned_in: bool = False

    def __post_init__(self):
        self.destination = Path(self.destination)

    @property
    def method(self) -> str:
        return "bicubic" if self.upscaler is None else "meta-srgan"


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` slices written.  The last report of a successful export
    has ``finished=True`` and lists the files now in place in ``outputs``."""

    done: int
    total: int
    message: str = ""
    outputs: tuple[Path, ...] = field(default_factory=tuple)
    finished: bool = False

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


__all__ = ["FORMATS", "PLANES", "PLANE_FORMATS", "ExportRequest", "Progress"]
