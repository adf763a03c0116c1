"""Export of a plane other than the stored one (a coronal reformat of an axial series):
the plane's slices become the stored slices of a volume with permuted axes.  A plane
that is the stored one keeps the acquired slices (``stored_range``).

Voxels are permuted and flipped, never resampled, and the affine keeps every voxel
where it was (``engine.io.display.reoriented``), so NIfTI and DICOM writers place the
new slices exactly with the geometry code they use for stored slices.

What does not carry over is the per-slice DICOM metadata: each new slice takes one
line of pixels from every source image.  So every new slice gets the same *template*
header (the middle source image's, without its position, orientation, slice location
and instance identity; slice thickness and spacing become the new slice step), and
references every source image it was cut from (``reformat_sources``).
"""

from __future__ import annotations

import copy
from dataclasses import replace

from ..io.dicom_series import MISSING_SLICES, UNEVEN_SPACING
from ..io.display import normal_axis, reoriented
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


def _sources(extra: dict) -> list[tuple[str, str, int | None]]:
    """(SOP Class, SOP Instance, frame) of every source image, each once, in stored order."""
    headers = extra.get("dicom_headers") or []
    frames = extra.get("dicom_frames") or [None] * len(headers)
    out, seen = [], set()
    for h, f in zip(headers, frames):
        uid = str(h.get("SOPInstanceUID", "") or "")
        if not uid:
            continue
        frame = f[1] if f is not None else None
        if (uid, frame) in seen:
            continue
        seen.add((uid, frame))
        out.append((str(h.get("SOPClassUID", "") or extra.get("sop_class_uid", "")), uid, frame))
    return out


def irregular_stack(volume: Volume) -> str | None:
    """The reader's warning when the stored slices are not evenly spaced (missing slices,
    uneven spacing): its affine then only approximates where each slice lies, which is
    fine per stored slice (each keeps its own header) but not across them."""
    for w in volume.meta.warnings:
        if MISSING_SLICES in w or UNEVEN_SPACING in w:
            return w
    return None


def reformatted(volume: Volume, plane: str) -> Volume:
    """``volume`` with the slices of ``plane`` (radiological display) as its stored slices,
    and metadata that describes them (``reformat_plane``, ``reformat_sources``, template
    ``dicom_headers``; ``source_dicom_headers`` keeps the originals for what every source
    image must agree on, such as the rescale)."""
    out = reoriented(volume, plane)
    extra = {k: v for k, v in volume.meta.extra.items()
             if k not in ("dicom_headers", "dicom_frames", "sop_instance_uids")}
    extra["reformat_plane"] = plane
    headers = volume.meta.extra.get("dicom_headers") or []
    if headers:
        template = _template(headers[len(headers) // 2], out.spacing[2])
        extra["dicom_headers"] = [template] * out.shape[2]
        extra["source_dicom_headers"] = headers
        extra["reformat_sources"] = _sources(volume.meta.extra)
    return replace(out, meta=replace(volume.meta, extra=extra))


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
