"""Export of a plane other than the stored one (a coronal reformat of an axial series):
the plane's slices become the stored slices of a volume with permuted axes.  A plane
that is the stored one keeps the acquired slices (``stored_range``).

Voxels are permuted and flipped, never resampled, and the affine keeps every voxel
where it was (``engine.io.planes.reoriented``), so NIfTI and DICOM writers place the
new slices exactly with the geometry code they use for stored slices.

What does not carry over is the per-slice DICOM metadata: each new slice takes one
line of pixels from every source image.  So every new slice gets the same *template*
header (the middle source image's, without its position, orientation, slice location
and instance identity; slice thickness and spacing become the new slice step), and
references every source image it was cut from (``Reformat.references``).
"""

from __future__ import annotations

import copy
from dataclasses import replace

from ..io.planes import normal_axis, reoriented
from ..io.sources import DicomSource, ImageReference, Reformat
from ..io.volume import Volume

#: Attributes that describe one source image (its place, identity, the directions of
#: its rows and columns, what was measured while it alone was acquired): they would lie
#: on a slice cut across all of them.
_PER_SLICE = (
    "ImagePositionPatient", "ImageOrientationPatient", "SliceLocation", "InstanceNumber", "SOPInstanceUID",
    "InStackPositionNumber", "StackID", "ImagesInAcquisition", "PatientOrientation",
    "InPlanePhaseEncodingDirection", "AcquisitionMatrix", "XRayTubeCurrent", "Exposure", "ExposureTime",
    "ExposureInuAs", "ExposureTimeInuS", "XRayTubeCurrentInuA", "CTDIvol",
)


def _template(header, slice_step_mm: float):
    t = copy.deepcopy(header)
    for kw in _PER_SLICE:
        if kw in t:
            delattr(t, kw)
    step = f"{slice_step_mm:.6g}"
    t.SliceThickness = step  # one source voxel along the axis nearest the new normal
    if "SpacingBetweenSlices" in t:
        t.SpacingBetweenSlices = step
    return t


def _references(source: DicomSource) -> tuple[ImageReference, ...]:
    """(SOP Class, SOP Instance, frame) of every source image, each once, in stored order."""
    images = source.images or [None] * len(source.headers)
    out, seen = [], set()
    for h, image in zip(source.headers, images):
        uid = str(h.get("SOPInstanceUID", "") or "")
        if not uid:
            continue
        frame = image.frame if image is not None else None
        if (uid, frame) in seen:
            continue
        seen.add((uid, frame))
        out.append((str(h.get("SOPClassUID", "") or source.sop_class_uid), uid, frame))
    return tuple(out)


def reformatted(volume: Volume, plane: str) -> Volume:
    """``volume`` with the slices of ``plane`` (radiological display) as its stored slices,
    and metadata that describes them: ``meta.reformat`` (the plane, the source's DICOM
    slices and every image they reference) and, for a DICOM source, a ``meta.dicom``
    whose every slice has the template header."""
    out = reoriented(volume, plane)
    meta = replace(volume.meta, reformat=Reformat(plane))
    source = volume.meta.dicom
    if source is not None:  # per-slice values of the source images do not carry over
        dicom = replace(source, images=(), sop_instance_uids=())
        if source.headers:
            template = _template(source.headers[len(source.headers) // 2], out.spacing[2])
            dicom = replace(dicom, headers=(template,) * out.shape[2])
            meta = replace(meta, reformat=Reformat(plane, source, _references(source)))
        meta = replace(meta, dicom=dicom)
    return replace(out, meta=meta)


def stored_range(volume: Volume, plane: str, indices) -> tuple[int, int] | None:
    """The stored slices ``(k0, k1)`` (half-open) that the contiguous display slices
    ``indices`` of ``plane`` are, or None when ``plane`` does not cut along the stored
    slices.  (Display slices count from the inferior / posterior / patient-left end,
    stored ones in the file's order.)"""
    vox_axis, sign = normal_axis(volume, plane)
    if vox_axis != 2:
        return None
    n = volume.shape[2]
    ks = sorted(i if sign > 0 else n - 1 - i for i in (min(indices), max(indices)))
    return (ks[0], ks[1] + 1)


def stored_index(volume, plane: str, index: int) -> int | None:
    """The stored slice ``k`` that display slice ``index`` of ``plane`` shows, when the
    plane cuts along the stored slices (so a NIfTI/DICOM export of "the current slice"
    is possible); None when the plane is another (PNG/TIFF only)."""
    from nibabel.orientations import io_orientation

    normal_world = {"axial": 2, "coronal": 1, "sagittal": 0}[plane]
    ornt = io_orientation(volume.affine)  # per voxel axis: (world axis, +1/-1)
    if int(ornt[2, 0]) != normal_world:
        return None
    n = volume.shape[2]
    return int(index) if ornt[2, 1] > 0 else n - 1 - int(index)
