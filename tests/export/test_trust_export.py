"""What an independent probe broke in export: a backslash in SeriesDescription,
control characters copied into LO/SH values, the two image sets of one Philips file
sharing a file name (de-identified) or a series (plain), and staging folders of a
killed export left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pydicom
import pytest

from engine.export import ExportRequest, run_export
from engine.export.paths import OWNER, STAGING_PREFIX, AbandonedStagingWarning
from tests.conftest import shared_data

from .conftest import dciodvfy, volume_from_dicom, write_dicom_series


def test_backslash_and_control_characters_in_text(tmp_path):
    paths = write_dicom_series(tmp_path / "src", n_slices=2)
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.SeriesDescription = ["T1", "post contrast"]  # "T1\post contrast" on disk: legal, two values
        ds.StudyDescription = "brain\x01\x02 scan"
        ds.InstitutionName = "St\x07 Elsewhere"
        ds.StationName = "MR\x1f7"
        ds.ImageComments = "line one\r\nline two\x00"
        ds.save_as(p)
    vol = volume_from_dicom(paths)
    *_, last = run_export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom"))
    for out in last.outputs:
        ds = pydicom.dcmread(out)
        assert ds.SeriesDescription.startswith("T1 / post contrast") and "MetaZoom" in ds.SeriesDescription
        assert ds.StudyDescription == "brain scan" and ds.InstitutionName == "St Elsewhere" and ds.StationName == "MR7"
        assert ds.ImageComments == "line one\r\nline two"
        errors, _ = dciodvfy(out)
        assert errors == []
    # the reader shows the description as written, both values
    from engine.io import load

    assert load(paths[0]).meta.description == "T1\\post contrast"


def _philips():
    return shared_data("dicom", "dcm_qa_enh", "In", "Philips", "IM_0027_fMAP.dcm")


@pytest.mark.data
def test_anonymised_export_of_a_file_holding_two_series(tmp_path):
    from engine.batch import main

    src = _philips()
    rc = main([str(src), "--scale", "1.5", "--method", "bicubic", "--format", "dicom", "--anonymize", "--quiet",
               "-o", str(tmp_path / "out"), "--slices", "0:2"])
    assert rc == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    bases = {n.split("_x")[0] for n in names}
    assert len(names) == 4 and len(bases) == 2 and all(b.startswith("deid-") for b in bases)
    uids = {pydicom.dcmread(tmp_path / "out" / n).SeriesInstanceUID for n in names}
    assert len(uids) == 2


@pytest.mark.data
def test_each_image_set_of_a_source_series_gets_its_own_series(tmp_path):
    import engine.io as eio

    sets = eio.open_scan(_philips())
    assert len(sets) == 2
    series = []
    for n, info in enumerate(sets):
        vol = eio.load(info)
        *_, last = run_export(ExportRequest(vol, tmp_path / f"out{n}", None, 1.5, "dicom", slices=(0, 1), uid_seed="s"))
        ds = pydicom.dcmread(last.outputs[0])
        series.append((ds.SeriesInstanceUID, int(ds.SeriesNumber), str(ds.SeriesDescription)))
        assert last.outputs[0].name.startswith("IM_0027_fMAP_")  # the image set is in the file name too
    (u0, n0, d0), (u1, n1, d1) = series
    assert u0 != u1 and n0 != n1 and d0 != d1
    assert "FIELD_MAP" in d0 + d1


def _kill_an_export(dest):
    """A child process starts an export into ``dest`` and is SIGKILLed while it runs."""
    code = f"""
import os, signal, sys
sys.path.insert(0, {os.getcwd()!r})
from tests.export.conftest import make_nifti
from engine.export import ExportRequest, run_export
from pathlib import Path
vol = make_nifti(Path({str(dest)!r}).parent / "scan.nii.gz")
for p in run_export(ExportRequest(vol, Path({str(dest)!r}), None, 2.0, "png")):
    if p.done == 1:
        os.kill(os.getpid(), signal.SIGKILL)
"""
    subprocess.run([sys.executable, "-c", code], timeout=300, cwd=os.getcwd())


@pytest.mark.skipif(not hasattr(os, "kill") or sys.platform == "win32", reason="needs POSIX signals")
def test_the_next_export_removes_staging_folders_of_a_killed_export(tmp_path, nifti_volume):
    dest = tmp_path / "out"
    _kill_an_export(dest)
    left = [p for p in dest.iterdir() if p.name.startswith(STAGING_PREFIX)]
    assert len(left) == 1 and any(left[0].glob("*.png"))  # the killed export's slices, with nobody to remove them
    owner = json.loads((left[0] / OWNER).read_text())
    assert owner["pid"] != os.getpid()
    foreign = dest / f"{STAGING_PREFIX}not-ours.part"  # no owner record: not ours, left alone
    foreign.mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        progress = list(run_export(ExportRequest(nifti_volume, dest, None, 2.0, "png", slices=(0, 1))))
    assert not left[0].exists() and foreign.exists()
    assert any("killed" in p.message and left[0].name in p.message for p in progress)
    assert any(issubclass(w.category, AbandonedStagingWarning) for w in caught)
    assert [p for p in dest.iterdir() if p.name.startswith(STAGING_PREFIX)] == [foreign]


def test_the_batch_tool_refuses_burned_in_text_unless_accepted(tmp_path, capsys):
    from engine.batch import main

    paths = write_dicom_series(tmp_path / "src", n_slices=2)
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.Modality = "US"
        ds.BurnedInAnnotation = "YES"
        ds.save_as(p)
    args = [str(tmp_path / "src"), "--scale", "2", "--method", "bicubic", "--format", "dicom", "--anonymize", "--quiet"]
    assert main(args + ["-o", str(tmp_path / "refused")]) != 0
    assert "burned-in" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())
    assert main(args + ["--accept-burned-in", "-o", str(tmp_path / "out")]) == 0
    outs = sorted((tmp_path / "out").iterdir())
    assert len(outs) == 2
    ds = pydicom.dcmread(outs[0])
    assert ds.BurnedInAnnotation == "YES" and ds.PatientIdentityRemoved == "NO"
