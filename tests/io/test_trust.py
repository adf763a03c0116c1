"""What an independent probe broke in the readers: a named pipe hanging a folder scan,
impossible geometry loading and then failing untyped, pixel data longer than declared
loading silently, a small .nii.gz asking for more memory than there is.  Plus a
property run of mutated real headers over the geometry fields."""

from __future__ import annotations

import io
import os
import threading
import warnings

import nibabel as nib
import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

import engine.io as eio
from engine.io import limits

from .dicom_factory import write_series, write_slice

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")


def _in_thread(fn, seconds=60):
    """fn() in a daemon thread; fails (instead of hanging the suite) if it does not return."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still blocked after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


@needs_fifo
def test_a_named_pipe_does_not_hang_a_folder_scan(tmp_path):
    write_series(tmp_path / "scan", np.zeros((3, 6, 5), np.int16))
    os.mkfifo(tmp_path / "scan" / "pipe.dcm")
    os.mkfifo(tmp_path / "scan" / "pipe.nii.gz")
    found = _in_thread(lambda: eio.open_scan(tmp_path / "scan"))
    assert len(found) == 1 and found[0].shape == (5, 6, 3)
    assert eio.load(found[0]).shape == (5, 6, 3)
    with pytest.raises(eio.UnsupportedScanError, match="not a regular file"):
        _in_thread(lambda: eio.open_scan(tmp_path / "scan" / "pipe.dcm"))
    with pytest.raises(eio.UnsupportedScanError, match="not a regular file"):
        _in_thread(lambda: eio.open_scan(tmp_path / "scan" / "pipe.nii.gz"))


@needs_fifo
def test_the_batch_tool_skips_a_named_pipe(tmp_path):
    from engine.batch import main

    write_series(tmp_path / "scan", np.arange(3 * 6 * 5, dtype=np.int16).reshape(3, 6, 5))
    os.mkfifo(tmp_path / "scan" / "pipe")
    rc = _in_thread(lambda: main([str(tmp_path / "scan"), "--scale", "2", "--method", "bicubic",
                                  "-o", str(tmp_path / "out"), "--format", "nifti", "--quiet"]))
    assert rc == 0 and len(list((tmp_path / "out").glob("*.nii.gz"))) == 1


def _one_slice(tmp_path, **kw):
    return write_slice(tmp_path / "s.dcm", np.zeros((6, 5), np.int16), series_uid="1.2.3.4", **kw)


@pytest.mark.parametrize(
    "kw, words",
    [
        (dict(spacing=(1e308, 1.0)), "PixelSpacing"),
        (dict(spacing=(1e-30, 1.0)), "PixelSpacing"),
        (dict(thickness=1e-308), "SliceThickness"),
        (dict(orientation=(1e308, 0, 0, 0, 1, 0)), "ImageOrientationPatient"),
        (dict(position=(0, 0, -1e300)), "ImagePositionPatient"),
    ],
)
def test_impossible_geometry_is_a_typed_error(tmp_path, kw, words):
    p = _one_slice(tmp_path, **kw)
    with pytest.raises(eio.CorruptScanError, match=words):
        eio.load(eio.open_scan(p)[0])


def test_spacing_between_slices_of_1e_minus_308_is_refused(tmp_path):
    p = _one_slice(tmp_path)
    ds = pydicom.dcmread(p)
    ds.SpacingBetweenSlices = "1e-308"
    ds.save_as(p)
    with pytest.raises(eio.CorruptScanError, match="SpacingBetweenSlices"):
        eio.open_scan(p)


def test_one_slice_at_minus_1e300_is_left_out_with_a_warning(tmp_path):
    paths, _ = write_series(tmp_path / "scan", np.ones((5, 6, 5), np.int16), gap=2.0)
    ds = pydicom.dcmread(paths[0])
    ds.ImagePositionPatient = [0.0, 0.0, -1e300]
    ds.save_as(paths[0])
    (info,) = eio.open_scan(tmp_path / "scan")
    vol = eio.load(info)
    assert vol.shape == (5, 6, 4)
    assert any(paths[0].name in w and "skipped" in w for w in vol.meta.warnings)
    assert not any("missing" in w for w in vol.meta.warnings)
    d = eio.display_slice(vol, "coronal", 2)
    assert np.isfinite(d.pixels).all()


def test_a_far_slice_within_bounds_is_left_out_not_counted_as_missing(tmp_path):
    paths, _ = write_series(tmp_path / "scan", np.ones((6, 6, 5), np.int16), gap=2.0, shuffle=False)
    ds = pydicom.dcmread(paths[-1])
    ds.ImagePositionPatient = [-10.0, -20.0, 90000.0]
    ds.save_as(paths[-1])
    vol = eio.load(eio.open_scan(tmp_path / "scan")[0])
    assert vol.shape[2] == 5
    assert any("beyond the rest of the stack" in w and paths[-1].name in w for w in vol.meta.warnings)
    assert np.allclose(np.linalg.norm(vol.affine[:3, 2]), 2.0)
    missing = [w for w in vol.meta.warnings if "missing" in w]
    assert missing == []


@pytest.mark.parametrize("zoom", [1e-38, 1e30])
def test_nifti_voxel_sizes_that_are_not_a_scans(tmp_path, zoom):
    img = nib.Nifti1Image(np.zeros((4, 4, 3), np.float32), np.diag([zoom, 1.0, 1.0, 1.0]))
    nib.save(img, str(tmp_path / "s.nii"))
    with pytest.raises(eio.CorruptScanError, match="voxel size"):
        eio.load(tmp_path / "s.nii")


def test_pixel_data_longer_than_declared_warns(tmp_path):
    p = _one_slice(tmp_path)
    ds = pydicom.dcmread(p)
    ds.PixelData = ds.PixelData + b"\x00" * 40
    ds.save_as(p)
    vol = eio.load(p)
    assert vol.shape == (5, 6, 1)
    assert any("40 bytes longer" in w for w in vol.meta.warnings)
    clean = eio.load(write_slice(tmp_path / "clean.dcm", np.zeros((6, 5), np.int16), series_uid="1.2.3.5"))
    assert not any("longer" in w for w in clean.meta.warnings)


def test_a_nifti_larger_than_memory_allows_is_refused(tmp_path, monkeypatch):
    img = nib.Nifti1Image(np.zeros((64, 64, 16), np.float32), np.eye(4))
    nib.save(img, str(tmp_path / "s.nii.gz"))  # a few kB on disk, 256 KiB of voxels
    assert eio.load(tmp_path / "s.nii.gz").shape == (64, 64, 16)
    monkeypatch.setattr(limits, "available_memory", lambda: 100_000)
    with pytest.raises(eio.ScanTooLargeError, match="available"):
        eio.load(tmp_path / "s.nii.gz")
    monkeypatch.setattr(limits, "available_memory", lambda: None)
    monkeypatch.setenv(limits.MAX_LOAD_GB_ENV, "0.0001")  # 100 kB
    with pytest.raises(eio.ScanTooLargeError, match=limits.MAX_LOAD_GB_ENV):
        eio.load(tmp_path / "s.nii.gz")


# -- property: mutated real headers over the geometry fields ------------------------------------

_REAL = ["MR_small.dcm", "CT_small.dcm"]
_REAL_BYTES = {n: open(get_testdata_file(n, download=False), "rb").read() for n in _REAL}
_EXTREME = st.sampled_from([0.0, -0.0, 1e-308, 1e-38, 1e-5, 1e5, 1e30, 1e300, 1e308, -1e300, float("nan"), float("inf")])
_NUMBER = st.one_of(_EXTREME, st.floats(-1e6, 1e6, allow_nan=False))
_GEOMETRY = {
    "PixelSpacing": st.lists(_NUMBER, min_size=2, max_size=2),
    "SpacingBetweenSlices": _NUMBER,
    "SliceThickness": _NUMBER,
    "ImageOrientationPatient": st.lists(_NUMBER, min_size=6, max_size=6),
    "ImagePositionPatient": st.lists(_NUMBER, min_size=3, max_size=3),
}


def _ds_text(x: float) -> str:
    return f"{x:.10g}"[:16]


@settings(max_examples=36, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                                                                   HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(_REAL), changes=st.fixed_dictionaries({}, optional=_GEOMETRY), second=_NUMBER)
def test_mutated_geometry_loads_sanely_or_fails_typed(tmp_path, seed, changes, second):
    """A three-slice series from a real header with geometry fields replaced (the third
    slice's z by ``second`` as well): either a ScanError, or a volume whose affine is
    finite with a sane determinant, whose three planes display, and whose NIfTI export works."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(dir=tmp_path)) / "scan"  # hypothesis replays examples into one tmp_path
    folder.mkdir()
    base = pydicom.dcmread(io.BytesIO(_REAL_BYTES[seed]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom rightly complains about the values we set
        for k in range(3):
            ds = base.copy()
            ds.SOPInstanceUID = f"{base.SOPInstanceUID}.{k}"
            ds.ImagePositionPatient = ["0", "0", str(2 * k)]
            for kw, v in changes.items():
                setattr(ds, kw, [_ds_text(x) for x in v] if isinstance(v, list) else _ds_text(v))
            if k == 2:
                ipp = list(ds.ImagePositionPatient)
                ds.ImagePositionPatient = [ipp[0], ipp[1], _ds_text(second)]
            ds.save_as(folder / f"{k}.dcm")
    try:
        vol = eio.load(eio.open_scan(folder, whole_series=False)[0])
    except eio.ScanError as e:
        assert e.reason
        return
    a = vol.affine
    assert np.isfinite(a).all()
    norms = np.linalg.norm(a[:3, :3], axis=0)
    assert (norms >= limits.MIN_SPACING_MM).all() and (norms <= limits.MAX_SPACING_MM).all()
    assert abs(np.linalg.det(a[:3, :3] / norms)) > 1e-6
    for w in vol.meta.warnings:
        assert "about -" not in w
    for plane in ("axial", "coronal", "sagittal"):
        d = eio.display_slice(vol, plane, 0)
        assert np.isfinite(d.pixels).all()
    from engine.export import ExportRequest, run_export

    *_, last = run_export(ExportRequest(vol, folder.with_name(folder.name + "_out"), None, 1.5, "nifti"))
    assert nib.load(str(last.outputs[0])).shape[2] == vol.shape[2]
