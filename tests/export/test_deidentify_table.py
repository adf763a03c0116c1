"""Every row of PS3.15 Table E.1-1 (the basic profile) is applied: a marker planted in
each attribute of the table, at the top level and inside a sequence item, survives
neither the MR-header path (the source's header kept) nor the Secondary Capture path;
a source that may show burned-in text is refused unless accepted, and then not claimed
de-identified; NIfTI keeps no intent name."""

from __future__ import annotations

import copy

import numpy as np
import pydicom
import pytest
from pydicom.datadict import dictionary_has_tag, dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from engine.export import BurnedInTextError, ExportRequest, run_export
from engine.export.deidentify import action_of, profile_table

from .conftest import dciodvfy, volume_from_dicom, write_dicom_series

MARK = "MZMARK7Q"
UID_MARK = "1.2.826.0.1.3680043.99.31337"
DATE, TIME, DATETIME = "19310707", "071717.4242", "19310707071717"
NUMBERS = {"31337.77", "31337", 31337, 31337.77}
#: Rows that are not part of a data set: command (0000), file meta (0002) and DICOMDIR (0004) groups.
_NOT_IN_A_DATASET = (0x0000, 0x0002, 0x0004)


def _value(vr: str, n: int):
    if vr in ("LO", "SH", "LT", "ST", "UT", "UC", "AE", "CS", "UR"):
        return f"{MARK}{n}"
    if vr == "PN":
        return f"{MARK}^{n}"
    if vr == "DA":
        return DATE
    if vr == "TM":
        return TIME
    if vr == "DT":
        return DATETIME
    if vr == "UI":
        return f"{UID_MARK}.{n}"
    if vr == "DS":
        return "31337.77"
    if vr == "IS":
        return "31337"
    if vr == "AS":
        return "077Y"
    if vr in ("US", "UL", "SS", "SL", "UV", "SV"):
        return 31337
    if vr in ("FL", "FD"):
        return 31337.77
    if vr == "AT":
        return 0x00313337
    if vr == "SQ":
        item = Dataset()
        item.CodeValue = f"{MARK}{n}"[:16]
        item.CodingSchemeDesignator = "99MZ"
        item.CodeMeaning = f"{MARK} meaning {n}"
        item.LongCodeValue = f"{MARK} long {n}"
        item.add_new(0x00081155, "UI", f"{UID_MARK}.{n}.1")  # a reference inside: replaced, not kept
        return Sequence([item])
    return (MARK * 2).encode()  # OB, OW, UN...


def _rows() -> list[tuple[int, str]]:
    """(tag, VR) of every row that a data set can hold; the repeating-group rows at group 5000/6000."""
    exact, masked = profile_table()
    rows = []
    for tag in sorted(exact):
        if tag >> 16 in _NOT_IN_A_DATASET:
            continue
        vr = dictionary_VR(tag).split(" ")[0] if dictionary_has_tag(tag) else "LO"  # newer than pydicom's dictionary
        rows.append((tag, vr))
    rows += [(0x50003000, "OB"), (0x60004000, "LT"), (0x60003000, "OB")]
    assert len(exact) + len(masked) >= 600 and len(masked) == 3  # the whole table, not a subset
    return rows


def _plant(ds: Dataset) -> None:
    for n, (tag, vr) in enumerate(_rows()):
        ds.add(DataElement(tag, vr, _value(vr, n)))


def _planted_volume(tmp_path, sop_class=None):
    paths = write_dicom_series(tmp_path / "src", n_slices=2)
    vol = volume_from_dicom(paths)
    keep = {kw: None for kw in ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID",
                                "FrameOfReferenceUID", "ImagePositionPatient")}
    for h in vol.meta.dicom.headers:
        saved = {kw: copy.deepcopy(h[kw].value) for kw in keep if kw in h}
        _plant(h)
        nested = Dataset()
        _plant(nested)
        assert action_of(tag_for_keyword("AnatomicRegionSequence")) is None  # a sequence the profile keeps
        h.AnatomicRegionSequence = Sequence([nested])
        for kw, v in saved.items():  # the reader's own identity of each image (UIDs are replaced all the same)
            setattr(h, kw, v)
        if sop_class is not None:
            h.SOPClassUID = sop_class
            h.BurnedInAnnotation = "NO"
    return vol


def _survivors(ds: Dataset) -> list[str]:
    out = []
    for elem in ds.iterall():
        v = elem.value
        if elem.VR == "SQ" or v is None:
            continue
        values = list(v) if isinstance(v, (list, tuple, pydicom.multival.MultiValue)) else [v]
        for x in values:
            s = x.decode("latin-1", "replace") if isinstance(x, (bytes, bytearray)) else str(x)
            if MARK in s or UID_MARK in s or s in (DATE, TIME, DATETIME) or x in NUMBERS or s == "077Y":
                out.append(f"{elem.tag} {elem.keyword or '?'} = {s[:40]}")
    return out


@pytest.mark.parametrize("path", ["mr-header", "secondary-capture"])
def test_no_row_of_the_basic_profile_survives(tmp_path, path):
    from engine.export.dicom import MR_IMAGE, SECONDARY_CAPTURE

    vol = _planted_volume(tmp_path, None if path == "mr-header" else "1.2.840.10008.5.1.4.1.1.4.1")
    *_, last = run_export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", anonymize=True, uid_seed="s"))
    assert last.outputs
    for out in last.outputs:
        ds = pydicom.dcmread(out)
        assert ds.SOPClassUID == (MR_IMAGE if path == "mr-header" else SECONDARY_CAPTURE)
        assert _survivors(ds) == []
        blob = out.read_bytes()
        assert MARK.encode() not in blob and UID_MARK.encode() not in blob
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        if path == "mr-header":
            assert len(ds.AnatomicRegionSequence) == 1  # the kept sequence is still there, its planted rows gone


#: Attributes the independent probe found surviving, with values a real header may hold.
PROBED = {
    "PatientTelecomInformation": "+44 20 7946 0000", "ReasonForVisit": "follow-up of Jane's tumour",
    "ReasonForTheImagingServiceRequest": "query relapse, Jane", "RequestedContrastAgent": "Gado for Jane",
    "PreMedication": "Jane: lorazepam", "OrderCallbackTelecomInformation": "jane@example.org",
    "StationAETitle": "JANES_AE", "RetrieveAETitle": "RETR_AE_7", "RequestingAE": "REQ_AE_7",
    "ReceivingAE": "RECV_AE_7", "NetworkID": "NET-ID-7",
    "ClinicalTrialSponsorName": "Sponsor of Jane", "ClinicalTrialProtocolID": "PROTO-7",
    "ClinicalTrialProtocolName": "Jane trial", "ClinicalTrialSiteID": "SITE-7", "ClinicalTrialSiteName": "Jane site",
    "ClinicalTrialSubjectID": "SUBJ-7", "BarcodeValue": "BARCODE-7", "LabelText": "LABEL-OF-JANE",
}


def test_probed_attributes_are_removed_and_the_files_stay_valid(tmp_path):
    """A realistic header (a clinical-trial MR with request details and AE titles): every
    value goes, the clinical trial module stays complete (dummies), dciodvfy reports nothing."""
    paths = write_dicom_series(tmp_path / "src", n_slices=2)
    vol = volume_from_dicom(paths)
    for h in vol.meta.dicom.headers:
        for kw, v in PROBED.items():
            setattr(h, kw, v)
        reason = Dataset()
        reason.CodeValue, reason.CodingSchemeDesignator, reason.CodeMeaning = "JANE7", "99MZ", "why Jane came"
        h.ReasonForVisitCodeSequence = Sequence([reason])
    *_, last = run_export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", anonymize=True, uid_seed="s"))
    for out in last.outputs:
        blob = out.read_bytes()
        leaked = [v for v in [*PROBED.values(), "JANE7", "why Jane came"] if v.encode() in blob]
        assert leaked == []
        ds = pydicom.dcmread(out)
        assert ds.ClinicalTrialSponsorName.startswith("ANON") and "ReasonForVisitCodeSequence" not in ds
        errors, _ = dciodvfy(out)
        assert errors == []


def test_table_actions_follow_the_standard():
    kw = lambda k: tag_for_keyword(k)  # noqa: E731
    assert action_of(kw("PatientName")) == "Z" and action_of(kw("StudyInstanceUID")) == "U"
    assert action_of(kw("PatientTelecomInformation")) == "X" and action_of(kw("StationAETitle")) == "X"
    assert action_of(kw("ReferencedImageSequence")) == "X/Z/U*"
    assert action_of(0x60024000) == "X" and action_of(0x50100000 | 0x3000) == "X"  # repeating groups
    assert action_of(kw("Rows")) is None


def _us_volume(tmp_path, flag):
    paths = write_dicom_series(tmp_path / "src", n_slices=1)
    vol = volume_from_dicom(paths)
    for h in vol.meta.dicom.headers:
        h.Modality = "US"
        h.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
        if flag is not None:
            h.BurnedInAnnotation = flag
    return vol


@pytest.mark.parametrize("flag", ["YES", None])
def test_burned_in_text_is_refused_unless_accepted(tmp_path, flag):
    vol = _us_volume(tmp_path, flag)
    with pytest.raises(BurnedInTextError, match="burned-in"):
        list(run_export(ExportRequest(vol, tmp_path / "refused", None, 2.0, "dicom", anonymize=True)))
    assert not (tmp_path / "refused").exists()
    for fmt in ("png", "nifti"):  # the pixels are the same in every format
        with pytest.raises(BurnedInTextError):
            list(run_export(ExportRequest(vol, tmp_path / fmt, None, 2.0, fmt, anonymize=True)))
    *_, last = run_export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", anonymize=True,
                                        accept_burned_in=True))
    ds = pydicom.dcmread(last.outputs[0])
    assert ds.BurnedInAnnotation == "YES"
    assert ds.PatientIdentityRemoved == "NO" and "DeidentificationMethodCodeSequence" not in ds
    assert "burned-in" in "\\".join(ds.DeidentificationMethod)
    # without de-identification nothing is refused, and the flag is not turned into NO
    *_, plain = run_export(ExportRequest(vol, tmp_path / "plain", None, 2.0, "dicom"))
    assert pydicom.dcmread(plain.outputs[0]).BurnedInAnnotation == "YES"


def test_mr_with_burned_in_yes_is_refused_and_kept_yes_when_accepted(tmp_path):
    paths = write_dicom_series(tmp_path / "src", n_slices=1)
    vol = volume_from_dicom(paths)
    vol.meta.dicom.headers[0].BurnedInAnnotation = "YES"
    with pytest.raises(BurnedInTextError):
        list(run_export(ExportRequest(vol, tmp_path / "no", None, 2.0, "dicom", anonymize=True)))
    *_, last = run_export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", anonymize=True, accept_burned_in=True))
    ds = pydicom.dcmread(last.outputs[0])
    assert ds.BurnedInAnnotation == "YES" and ds.PatientIdentityRemoved == "NO"


def test_mr_without_the_flag_is_not_refused(dicom_series, tmp_path):
    _, vol = dicom_series
    *_, last = run_export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", anonymize=True))
    assert pydicom.dcmread(last.outputs[0]).PatientIdentityRemoved == "YES"


def test_nifti_intent_name_is_cleared(tmp_path):
    import nibabel as nib

    from engine.io import load

    img = nib.Nifti1Image(np.random.default_rng(0).normal(size=(8, 9, 3)).astype(np.float32), np.eye(4))
    img.header.set_intent("none", (), name="Jane Doe scan")
    nib.save(img, str(tmp_path / "s.nii.gz"))
    vol = load(tmp_path / "s.nii.gz")
    for anonymize, name in ((True, b""), (False, b"Jane Doe scan")):
        *_, last = run_export(ExportRequest(vol, tmp_path / f"o{anonymize}", None, 2.0, "nifti", anonymize=anonymize))
        assert nib.load(str(last.outputs[0])).header["intent_name"].tobytes().rstrip(b"\0") == name
