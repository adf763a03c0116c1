"""One exported DICOM series per output stream (SR, bicubic): series-level values,
new UIDs, and the writer that turns each enlarged stored slice into a file.

``DicomExportContext`` holds what all series of one export share; ``series_writer``
builds the writer of one stream; ``DicomWriter`` places each image exactly
(``dicom_geometry``) and builds it (``dicom.derived_image``, from the series' ``dicom.ExportedSeries``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

import numpy as np

from ..geometry import scale_key
from .burned_in import burned_in_reason
from .deidentify import Deidentifier
from .dicom import ExportedSeries, derived_image, write_dataset
from .dicom_text import as_text
from .dicom_geometry import ImagePlane, image_plane, plane_from_header
from .nifti import scaled_affine

_NAMESPACE = uuid.UUID("0c7f6e52-9a3e-4d8e-b0a4-6d657461a00e")


def source_key(volume) -> str:
    """What names the source in seeded UIDs: its SeriesInstanceUID, else its first file."""
    return volume.meta.series_uid or "|".join(str(p) for p in volume.source[:1])


def images_key(volume) -> str:
    """What names the exported images in seeded UIDs: the source, the image set of a
    source holding several under one SeriesInstanceUID, and the plane of a reformat
    (an axial and a coronal export of one series are different series)."""
    meta = volume.meta
    plane = meta.reformat.plane if meta.reformat is not None else None
    part = meta.dicom.part if meta.dicom is not None else ""
    return source_key(volume) + (f"|part {part}" if part else "") + (f"|{plane}" if plane else "")


class UidMaker:
    """New UIDs: random (``2.25.<uuid4>``), or ``2.25.<uuid5(seed, parts)>`` when a
    seed is given, so a test (or a re-run with the same seed) gets the same UIDs."""

    def __init__(self, seed: str | None = None):
        self.seed = seed

    def new(self, *parts) -> str:
        if self.seed is None:
            return "2.25." + str(uuid.uuid4().int)
        return "2.25." + str(uuid.uuid5(_NAMESPACE, "|".join([self.seed, *(str(p) for p in parts)])).int)


class DicomWriter:
    """Writes one stream's enlarged stored slices as a DICOM series, one staged file per slice.

    ``scaled``: the affine of the enlarged volume (``nifti.scaled_affine`` with k0 = 0);
    source headers (one per k) and frame numbers of multi-frame sources come from the
    reader's ``volume.meta.dicom``.
    """

    def __init__(self, staging, finals: dict, volume, scaled: np.ndarray, out_shape: tuple[int, int], series: ExportedSeries,
                 uids: UidMaker, tag: str, study_uid: str, frame_of_reference_uid: str, deid: Deidentifier | None,
                 patient: dict | None):
        self.staging, self.finals, self.volume = staging, finals, volume
        self.scaled, self.out_shape, self.series = scaled, out_shape, series
        self.uids, self.tag, self.deid, self.patient = uids, tag, deid, patient
        self.study_uid, self.for_uid = study_uid, frame_of_reference_uid
        source, reformat = volume.meta.dicom, volume.meta.reformat
        self.headers = (source.headers or None) if source is not None else None
        self.frames = [image.frame for image in source.images] if source is not None and source.images else None
        self.source_key = images_key(volume)
        #: a reformat cuts across the source images: each of its images references them all (``export.reformat``)
        self.reformat = reformat is not None
        self.reformat_sources = list(reformat.references) if reformat is not None else []
        self.written = 0

    def _header(self, k: int):
        if self.headers is None or k >= len(self.headers):
            return None
        return self.headers[k]

    def _on_source_plane(self, plane: ImagePlane, header, k: int, prefer) -> ImagePlane:
        """Put the image exactly where its source slice was along the normal (the
        affine is regular; a DICOM stack may not be quite), unless the header's
        image is not the stored slice (a mosaic tile, say)."""
        hp = plane_from_header(header) if header is not None else None
        if hp is None:
            return plane
        ipp = hp[0]
        n_i, n_j = self.volume.shape[:2]
        if {int(header.get("Rows", -1)), int(header.get("Columns", -1))} != {n_i, n_j}:
            return plane
        old = image_plane(self.volume.affine, (n_i, n_j), k, prefer)
        normal = np.cross(plane.row_cosine, plane.col_cosine)
        delta = float((ipp - old.position) @ normal)
        return replace(plane, position=plane.position + delta * normal)

    def add(self, k: int, image: np.ndarray, where=None) -> None:
        header = self._header(k)
        prefer = None
        if header is not None and "ImageOrientationPatient" in header:
            try:
                prefer = [float(v) for v in header.ImageOrientationPatient]
            except (TypeError, ValueError):
                prefer = None
        plane = image_plane(self.scaled, self.out_shape, k, prefer)
        plane = self._on_source_plane(plane, header, k, prefer)
        frame = self.frames[k] if self.frames is not None else None
        sop_key = str(header.SOPInstanceUID) if header is not None and "SOPInstanceUID" in header else self.source_key
        if self.reformat:
            sources = self.reformat_sources
        elif header is not None and "SOPInstanceUID" in header:
            sources = [(str(header.SOPClassUID), str(header.SOPInstanceUID), frame)]
        else:
            sources = []
        ds = derived_image(
            header,
            plane.pixels(image),
            plane,
            self.series,
            sop_uid=self.uids.new("sop", self.tag, sop_key, k, frame),
            instance_number=self.written + 1,
            frame_of_reference_uid=self.for_uid,
            study_uid=self.study_uid,
            deid=self.deid,
            sources=sources,
            reformatted=self.reformat,
            patient=self.patient,
        )
        with self.staging.open(self.finals[k]) as f:
            write_dataset(ds, f)
        self.written += 1

    def close(self) -> None:
        pass

    def discard(self) -> None:
        pass


@dataclass
class DicomExportContext:
    """What the DICOM series of one export share: UID maker, de-identification
    mapping (one per export, so UIDs map consistently across its series), study and
    frame of reference, patient values (NIfTI sources)."""

    uids: UidMaker
    deid: Deidentifier | None
    study_uid: str
    frame_of_reference_uid: str
    patient: dict | None

    @classmethod
    def for_request(cls, req) -> "DicomExportContext":
        meta, volume = req.volume.meta, req.volume
        # new UIDs differ per scale (two exports of one series must not share UIDs);
        # the de-identification mapping does not (one source UID, one replacement)
        uids = UidMaker(f"{req.uid_seed}|x{req.scale!r}" if req.uid_seed is not None else None)
        deid = Deidentifier(req.uid_seed) if req.anonymize else None
        key = source_key(volume)
        study = meta.study_uid or uids.new("study", key)
        for_uid = meta.frame_of_reference_uid or uids.new("frame-of-reference", key)
        if deid is not None:
            study, for_uid = deid.uid(study), deid.uid(for_uid)
        patient = None
        if not req.anonymize:
            values = (("PatientName", meta.patient_name), ("PatientID", meta.patient_id), ("StudyDate", meta.study_date))
            patient = {k: v for k, v in values if v}
        return cls(uids, deid, study, for_uid, patient)


def series_writer(plan, stream, staging, provenance, mapping, window, created, shared: DicomExportContext):
    """The writer of one stream's series (``plan``: an ``ExportPlan``; ``stream``: an ``enlarge.Method``)."""
    req = plan.request
    volume = req.volume
    meta = volume.meta
    source = meta.dicom
    headers = source.headers if source is not None else ()
    first = headers[plan.indices[0]] if len(headers) > plan.indices[0] else None
    number = int(getattr(first, "SeriesNumber", 0) or 0) if first is not None else 0
    plane = meta.reformat.plane if meta.reformat is not None else None
    # SR +1000, bicubic +2000; a reformat's +100 (coronal) or +200 (sagittal), so a
    # PACS list tells the planes of one source apart by number too
    # one of several image sets of one source series (field map, magnitude): +10 per set after the first
    part = source.part if source is not None else ""
    offset = 1000 * (1 + [s.tag for s in plan.streams].index(stream.tag)) + {"coronal": 100, "sagittal": 200}.get(plane, 0)
    offset += 10 * min(source.part_index if source is not None else 0, 9)
    # a PACS list shows the description: it names the model that made an SR series
    method = "bicubic" if stream.sr_scale is None else " ".join(filter(None, ("SR", provenance.model_label())))
    label = f"MetaZoom {method} x{scale_key(req.scale)}{' ' + plane if plane else ''}"
    if part:
        label += f" [{part}]"
    src_desc = "" if req.anonymize else as_text(getattr(first, "SeriesDescription", "") if first is not None else meta.description)
    key = images_key(volume)
    series = ExportedSeries(
        uid=shared.uids.new("series", stream.tag, key),
        number=number + offset,
        description=f"{src_desc[: 63 - len(label)].strip()} {label}" if src_desc else label,  # LO: 64 characters
        provenance=provenance,
        mapping=mapping,
        window=window,
        created=created,
        anonymize=req.anonymize,
        burned_in=burned_in_reason(volume) is not None,
    )
    scaled = scaled_affine(volume.affine, plan.factors, 0)
    return DicomWriter(staging, plan.outputs[stream.tag], volume, scaled, plan.out_shape, series, shared.uids,
                       stream.tag, shared.study_uid, shared.frame_of_reference_uid, shared.deid, shared.patient)
