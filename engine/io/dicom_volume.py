"""Load one volume of a DICOM series into a ``Volume``, with what export needs.

``meta.extra`` keys (lists are aligned with voxel axis k, i.e. ``voxels[:, :, k]``):

- ``dicom_headers``: list of ``pydicom.Dataset``, the source header of slice k
  without pixel data (read with ``stop_before_pixels``).  For a multi-frame or
  mosaic file the same Dataset appears for each of its slices; see ``dicom_frames``.
- ``dicom_frames``: list of ``(path: str, frame: int | None, tile: int | None)``:
  the 1-based frame number in a multi-frame file (None for single-frame files)
  and the 0-based mosaic tile (None unless a Siemens mosaic).
- ``sop_instance_uids``: list of str, SOPInstanceUID of slice k's source file.
- ``sop_class_uid``: str, the series' SOPClassUID (e.g. MR Image Storage).
- ``study_description``, ``series_number``, ``manufacturer``: str / int.
- ``series_part``, ``series_part_index``: for one of several image sets sharing a
  SeriesInstanceUID (magnitude and field map), what tells it apart and its 0-based
  index; "" and 0 otherwise.
- ``volume_index``, ``n_volumes``: which volume of a 4D series this is.
- ``pixel_to_lps``: 4x4 float64, voxel -> DICOM LPS mm (the affine before the x/y flip).

Voxels: ``voxels[i, j, k]`` = column i, row j of slice k, rescaled
(RescaleSlope/Intercept per slice), float32; slices ordered along the normal.
"""

from __future__ import annotations

import numpy as np

from .dicom_header import text
from .dicom_pixels import decode_into
from .dicom_series import LPS_TO_RAS, DicomSeries, frame_of_reference
from .errors import VolumeIndexError
from .limits import check_affine, check_memory, check_shape
from .values import replace_non_finite
from .volume import SeriesMeta, Volume, WindowPreset


def load(series: DicomSeries, volume_index: int = 0) -> Volume:
    n_vol = len(series.volumes)
    first = series.first
    if not 0 <= volume_index < n_vol:
        raise VolumeIndexError(first.file.path, f"volume {volume_index} asked for; the series holds {n_vol} (0..{n_vol - 1})")
    slices = series.volumes[volume_index]
    check_shape(first.file.path, (len(slices), first.rows, first.cols), "the series")
    check_affine(first.file.path, series.affine)
    check_memory(first.file.path, len(slices) * first.rows * first.cols * 4, "the series (float32)")
    buf = np.empty((len(slices), first.rows, first.cols), dtype=np.float32)
    notes = decode_into(buf, slices)
    voxels = buf.transpose(2, 1, 0)  # (columns, rows, slices), Fortran-ordered like nibabel's

    meta = _meta(series, slices)
    meta.warnings.extend(series.warnings)
    meta.warnings.extend(notes)
    if any("MONOCHROME1" in n for n in notes):
        meta.windows = [WindowPreset(w.name, -w.center, w.width) for w in meta.windows]
    note = replace_non_finite(voxels)
    if note:
        meta.warnings.append(note)
    if n_vol > 1:
        meta.warnings.append(f"4D series: showing volume {volume_index} of {n_vol}")
    meta.warnings = list(dict.fromkeys(meta.warnings))
    meta.extra.update(volume_index=volume_index, n_volumes=n_vol, pixel_to_lps=LPS_TO_RAS @ series.affine)
    paths = list(dict.fromkeys(s.file.path for s in slices))
    return Volume(voxels=voxels, affine=series.affine.copy(), meta=meta, source=paths, kind="dicom")


def _meta(series: DicomSeries, slices) -> SeriesMeta:
    hdr = series.first.file.header
    mid = slices[len(slices) // 2]
    windows = list({(round(w.center, 3), round(w.width, 3)): w for w in mid.windows}.values())
    rescale_type = text(hdr, "RescaleType")
    modality = text(hdr, "Modality")
    units = rescale_type if rescale_type and rescale_type.upper() not in ("US", "UNSPECIFIED") else ("HU" if modality == "CT" else "")
    files = [s.file for s in slices]
    return SeriesMeta(
        description=series.description,
        modality=modality,
        windows=windows,
        patient_name=text(hdr, "PatientName"),
        patient_id=text(hdr, "PatientID"),
        study_uid=text(hdr, "StudyInstanceUID"),
        series_uid=series.uid if not series.uid.startswith("(no") else "",
        frame_of_reference_uid=frame_of_reference(files),
        study_date=text(hdr, "StudyDate"),
        units=units,
        extra={
            "dicom_headers": [s.file.header for s in slices],
            "dicom_frames": [
                (str(s.file.path), s.frame + 1 if s.file.pixels.frames > 1 else None, s.tile) for s in slices
            ],
            "sop_instance_uids": [text(s.file.header, "SOPInstanceUID") for s in slices],
            "sop_class_uid": text(hdr, "SOPClassUID") or text(getattr(hdr, "file_meta", None) or {}, "MediaStorageSOPClassUID"),
            "study_description": text(hdr, "StudyDescription"),
            "series_number": series.number,
            # one of several image sets under one SeriesInstanceUID (a field map and its magnitude):
            # which one, so its export gets a series of its own
            "series_part": series.part,
            "series_part_index": series.part_index,
            "manufacturer": text(hdr, "Manufacturer"),
        },
    )
