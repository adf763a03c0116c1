"""Load one volume of a DICOM series into a ``Volume``, with what export needs.

What export needs of the source is ``meta.dicom`` (a ``sources.DicomSource``: the
source header, file, frame and tile of each slice k, i.e. ``voxels[:, :, k]``) and
``meta.volume_index``, ``meta.n_volumes``: which volume of a 4D series this is.

Voxels: ``voxels[i, j, k]`` = column i, row j of slice k, rescaled
(RescaleSlope/Intercept per slice), float32; slices ordered along the normal.
"""

from __future__ import annotations

import numpy as np

from .dicom_header import text
from .dicom_pixels import decode_into
from .dicom_series import DicomSeries, frame_of_reference
from .errors import VolumeIndexError
from .limits import check_affine, check_memory, check_shape
from .sources import DicomSource, StoredImage
from .finite import replace_non_finite
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
    meta.volume_index, meta.n_volumes = volume_index, n_vol
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
        dicom=DicomSource(
            headers=tuple(s.file.header for s in slices),
            images=tuple(
                StoredImage(str(s.file.path), s.frame + 1 if s.file.pixels.frames > 1 else None, s.tile) for s in slices
            ),
            sop_instance_uids=tuple(text(s.file.header, "SOPInstanceUID") for s in slices),
            sop_class_uid=text(hdr, "SOPClassUID") or text(getattr(hdr, "file_meta", None) or {}, "MediaStorageSOPClassUID"),
            # one of several image sets under one SeriesInstanceUID (a field map and its magnitude):
            # which one, so its export gets a series of its own
            part=series.part,
            part_index=series.part_index,
            irregular_stack=series.irregular_stack,
        ),
    )
