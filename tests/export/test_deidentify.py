"""De-identified export: no identifying value of the source survives anywhere in the
written files; UIDs are replaced consistently; the files still validate."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.uid import UID

from engine.export import ExportRequest, run_export
from engine.export.deidentify import Deidentifier

from .conftest import IDENTIFYING, PRIVATE_VALUE, dciodvfy


def _identifying_values(paths) -> set[str]:
    """Every value in the sources that identifies: the planted ones, every name, date,
    time, non-standard UID and private value (at least 4 characters, to be meaningful)."""
    values = set(IDENTIFYING.values()) | {PRIVATE_VALUE}
    for p in paths:
        ds = pydicom.dcmread(p)
        for elem in ds.iterall():
            if elem.value in (None, "") or elem.VR == "SQ":
                continue
            if elem.VR in ("PN", "DA", "TM", "DT") or elem.tag.is_private:
                values.add(str(elem.value))
            elif elem.VR == "UI" and UID(str(elem.value)).name == str(elem.value):
                values.add(str(elem.value))
        values.add(str(ds.file_meta.MediaStorageSOPInstanceUID))
    for name in list(values):  # PN components too ("Doe", "Jane")
        values.update(part for part in str(name).replace("^", " ").split() if len(part) >= 4)
    return {v for v in values if len(v) >= 4}


@pytest.mark.parametrize("fmt", ["dicom", "nifti", "png", "tiff"])
def test_no_identifying_value_survives(dicom_series, tmp_path, fmt):
    paths, vol = dicom_series
    *_, last = run_export(ExportRequest(vol, tmp_path / "out", None, 2.0, fmt, anonymize=True, include_bicubic=True))
    secrets = _identifying_values(paths)
    assert "Doe^Jane^Quincy" in secrets and "19700102" in secrets
    for out in last.outputs:
        blob = out.read_bytes()
        leaked = [s for s in secrets if s.encode() in blob]
        assert not leaked, f"{out.name} still holds {leaked}"
        assert "src" not in out.name  # file names come from an opaque base, not the source's name


def test_uids_replaced_consistently_and_files_valid(dicom_series, tmp_path, small_upscaler):
    paths, vol = dicom_series
    src = [pydicom.dcmread(p) for p in paths]
    *_, last = run_export(
        ExportRequest(vol, tmp_path / "out", small_upscaler, 2.0, "dicom", anonymize=True, include_bicubic=True,
                      uid_seed="seed")
    )
    dss = [pydicom.dcmread(p) for p in last.outputs]
    deid = Deidentifier("seed")
    for d in dss:
        errors, _ = dciodvfy(d.filename)
        assert errors == []
        assert d.PatientIdentityRemoved == "YES"
        assert d.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        assert d.PatientName == "" and d.PatientID.startswith("ANON")
        assert not any(e.tag.is_private for e in d.iterall())
        # same source UID -> same new UID (study, frame of reference, referenced images)
        assert d.StudyInstanceUID == deid.uid(src[0].StudyInstanceUID) != src[0].StudyInstanceUID
        assert d.FrameOfReferenceUID == deid.uid(src[0].FrameOfReferenceUID)
        assert d.ReferencedImageSequence[0].ReferencedSOPInstanceUID == deid.uid(
            src[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID
        )
        assert d.SOPClassUID == src[0].SOPClassUID  # standard UIDs are kept
    # each derived image points at the (de-identified) UID of its own source image
    for d, s in zip(dss[:3], src):
        assert d.SourceImageSequence[0].ReferencedSOPInstanceUID == deid.uid(s.SOPInstanceUID)
    assert len({d.PatientID for d in dss}) == 1


def test_deidentifier_removes_dates_names_and_private_tags_in_sequences():
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = Dataset()
    ds.PatientName = "Roe^Richard"
    ds.AcquisitionDate = "20200101"
    ds.InstitutionName = "Somewhere"
    item = Dataset()
    item.PerformingPhysicianName = "Dr^Nested"
    item.ReferencedSOPInstanceUID = "1.2.3.4.5"
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.ReferencedImageSequence = Sequence([item])
    ds.private_block(0x0011, "ACME", create=True).add_new(0x01, "LO", "secret")
    Deidentifier("x").apply(ds)
    assert ds.PatientName == ""
    assert "AcquisitionDate" not in ds and "InstitutionName" not in ds
    it = ds.ReferencedImageSequence[0]
    assert "PerformingPhysicianName" not in it
    assert it.ReferencedSOPInstanceUID.startswith("2.25.") and it.ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.4"
    assert not any(e.tag.is_private for e in ds)
