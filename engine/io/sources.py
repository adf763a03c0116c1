"""What a ``Volume`` keeps of the file(s) it was read from, for the exporters and the
viewer's header browser: ``DicomSource`` (filled by the DICOM reader), ``NiftiSource``
(the NIfTI reader) and ``Reformat`` (``engine.export.reformat``: the slices of another
plane made the stored ones).  Per-slice tuples are aligned with voxel axis k, i.e.
``voxels[:, :, k]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class StoredImage(NamedTuple):
    """Where slice k's pixels are stored: the file, the 1-based frame of a multi-frame
    file (None for a single-frame file) and the 0-based Siemens mosaic tile (None
    unless a mosaic)."""

    path: str
    frame: int | None
    tile: int | None


@dataclass(frozen=True)
class DicomSource:
    """The source DICOM series, slice by slice.

    ``headers``: the source header of slice k without pixel data (a multi-frame or
    mosaic file's one Dataset repeats for each of its slices; ``images`` says which
    frame or tile).  ``sop_class_uid``: the series' SOPClassUID.  ``part``,
    ``part_index``: for one of several image sets sharing a SeriesInstanceUID
    (magnitude and field map), what tells it apart and its 0-based index.
    ``irregular_stack``: the slices are not evenly spaced along the normal (missing
    slices, uneven spacing), so the regular affine only approximates where each lies.
    """

    headers: tuple[Any, ...] = ()
    images: tuple[StoredImage, ...] = ()
    sop_instance_uids: tuple[str, ...] = ()
    sop_class_uid: str = ""
    part: str = ""
    part_index: int = 0
    irregular_stack: bool = False


@dataclass(frozen=True)
class NiftiSource:
    """The source NIfTI file's header (a copy of nibabel's: the stored data type,
    units, intent), its ``(scl_slope, scl_inter)`` (the copy no longer holds them) and
    its sform and qform codes."""

    header: Any
    scaling: tuple[float, float] = (1.0, 0.0)
    sform_code: int = 0
    qform_code: int = 0


#: (SOP Class UID, SOP Instance UID, frame number or None) of one source image
ImageReference = tuple[str, str, int | None]


@dataclass(frozen=True)
class Reformat:
    """The volume's stored slices are the display slices of ``plane`` of the source,
    voxels permuted, not resampled.  ``source``: the source series' DICOM slices
    (None for a NIfTI source); ``references``: every source image each new slice was
    cut from, each once, in stored order."""

    plane: str
    source: DicomSource | None = None
    references: tuple[ImageReference, ...] = ()
