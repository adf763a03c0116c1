"""Find, get, open, export, send against a real Orthanc, over DIMSE and DICOMweb."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from pydicom import dcmread

from engine.pacs import InstanceFolder, Query, connect, files_to_send

TRANSPORTS = ["dimse", "web"]


def _digest(files) -> dict:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_echo_and_find(pacs, transport):
    client = connect(pacs.server(transport))
    assert client.echo() < 5
    everything = client.find_studies(Query())
    assert [s.study_uid for s in everything.studies] == [pacs.study_uid]
    study = everything.studies[0]
    assert (study.patient_id, study.modalities, study.date) == ("VS-SEG-001", "MR", "19940904")
    assert study.n_instances == len(pacs.files) and not everything.truncated
    for q in (Query(patient="vs-seg"), Query(patient="VS-SEG-001"), Query(modality="MR"),
              Query(dates="19940101-19941231"), Query(dates="19940904-"), Query(study_uid=pacs.study_uid)):
        assert [s.study_uid for s in client.find_studies(q).studies] == [pacs.study_uid], q
    for q in (Query(patient="nobody"), Query(modality="CT"), Query(dates="20200101-20201231")):
        assert client.find_studies(q).studies == [], q
    series = client.find_series(pacs.study_uid)
    assert [(s.series_uid, s.modality, s.n_instances) for s in series] == [(pacs.series_uid, "MR", len(pacs.files))]


@pytest.mark.parametrize("transport", ["dimse", "move", "web"])
def test_retrieve_opens_as_from_disk(pacs, transport, tmp_path):
    from engine.io import load

    seen = []
    folder = InstanceFolder(tmp_path / "got", "test", on_file=seen.append)
    r = connect(pacs.server(transport)).retrieve(pacs.study_uid, pacs.series_uid, folder, progress=lambda d, t: None)
    assert len(r.received) == len(pacs.files) and r.missing == [] and not r.cancelled
    assert sorted(seen) == r.received
    (tmp_path / "disk").mkdir()
    for f in pacs.files:  # the same instances copied from disk: what the retrieve must equal
        (tmp_path / "disk" / f.name).write_bytes(f.read_bytes())
    got, source = load(tmp_path / "got"), load(tmp_path / "disk")
    assert got.shape == source.shape and got.shape[2] == len(pacs.files)
    assert np.array_equal(got.voxels, source.voxels)
    assert np.allclose(got.affine, source.affine)
    by_uid = {dcmread(f, stop_before_pixels=True).SOPInstanceUID: f for f in pacs.files}
    for f in r.received:  # the pixels are the server's, byte for byte
        src = dcmread(by_uid[f.stem])
        assert dcmread(f).PixelData == src.PixelData
        assert not (f.stat().st_mode & 0o222), "cached copies are read-only"
    assert not list((tmp_path / "got").glob(".*"))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_export_and_send_derived_series(pacs, transport, tmp_path):
    """Retrieve, open, export a derived DICOM series (bicubic x2), send it: Orthanc holds
    it with the right instance count and geometry, the source series is untouched, and
    so is the retrieved copy."""
    from engine.export import ExportRequest, run_export
    from engine.io import load

    client = connect(pacs.server(transport))
    client.retrieve(pacs.study_uid, pacs.series_uid, InstanceFolder(tmp_path / "cache", "test"))
    before = _digest(sorted((tmp_path / "cache").iterdir()))
    volume = load(tmp_path / "cache")
    out = tmp_path / "export"
    last = None
    for last in run_export(ExportRequest(volume=volume, destination=out, upscaler=None, scale=2.0, format="dicom",
                                         uid_seed=f"pacs-{transport}")):
        pass
    files = files_to_send(last.outputs)
    assert len(files) == len(pacs.files)
    derived_uid = str(dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
    assert derived_uid != pacs.series_uid

    result = client.store(files)
    assert len(result.sent) == len(files) and result.refused == []

    stored = pacs.orthanc.series_instances(derived_uid)
    assert len(stored) == len(files)
    local = {str(d.SOPInstanceUID): d for d in (dcmread(f, stop_before_pixels=True) for f in files)}
    src = dcmread(pacs.files[0], stop_before_pixels=True)
    for inst in stored:
        tags = pacs.orthanc.instance_tags(inst["ID"])
        mine = local[tags["SOPInstanceUID"]]
        assert (int(tags["Rows"]), int(tags["Columns"])) == (2 * src.Rows, 2 * src.Columns)
        spacing = [float(v) for v in tags["PixelSpacing"].split("\\")]
        assert spacing == pytest.approx([float(v) / 2 for v in src.PixelSpacing], rel=1e-4)
        assert [float(v) for v in tags["ImagePositionPatient"].split("\\")] == pytest.approx(
            [float(v) for v in mine.ImagePositionPatient], abs=1e-3)
        assert [float(v) for v in tags["ImageOrientationPatient"].split("\\")] == pytest.approx(
            [float(v) for v in src.ImageOrientationPatient], abs=1e-5)
        assert tags["StudyInstanceUID"] == pacs.study_uid  # beside the source, in its study
    assert len(pacs.orthanc.series_instances(pacs.series_uid)) == len(pacs.files)  # the source as it was
    assert _digest(sorted((tmp_path / "cache").iterdir())) == before  # and its retrieved copy
    pacs.orthanc.delete("series", pacs.orthanc.lookup(derived_uid)[0]["ID"])
