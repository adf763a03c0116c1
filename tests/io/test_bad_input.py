"""Bad input: a typed error naming the file and the reason, before any large allocation."""

from __future__ import annotations

import gzip
import shutil
import tracemalloc
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import engine.io as eio
from engine.errors import MetaZoomError
from tests.io.dicom_factory import write_series, write_slice


def shipped(name: str) -> Path:
    return Path(get_testdata_file(name, download=False))


def assert_typed(err: eio.ScanError, path: Path, *words: str) -> None:
    assert isinstance(err, MetaZoomError)
    assert err.path == Path(path)
    assert str(path) in str(err) and err.reason in str(err)
    for w in words:
        assert w in err.reason.lower(), err.reason


def copy(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copy(shipped(name), dst)
    return dst


# --- paths and folders ----------------------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(eio.ScanNotFoundError) as e:
        eio.open_scan(tmp_path / "nope.nii.gz")
    assert_typed(e.value, tmp_path / "nope.nii.gz", "no such")
    with pytest.raises(eio.ScanNotFoundError):
        eio.load(tmp_path / "nope")


def test_folder_without_scans(tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.bin").write_bytes(b"\x01\x02" * 100)
    with pytest.raises(eio.ScanNotFoundError) as e:
        eio.open_scan(tmp_path)
    assert_typed(e.value, tmp_path, "no dicom or nifti")


def test_folder_of_non_images(tmp_path):
    for name in ("rtplan.dcm", "test-SR.dcm", "rtstruct.dcm"):
        copy(name, tmp_path)
    with pytest.raises(eio.UnsupportedScanError) as e:
        eio.open_scan(tmp_path)
    assert_typed(e.value, tmp_path, "no images", "rt plan", "sr")


@pytest.mark.parametrize(
    "name, words",
    [
        ("rtplan.dcm", ("rt plan", "no image")),
        ("test-SR.dcm", ("sr storage", "no image")),
        ("rtstruct.dcm", ("structure set",)),
        ("waveform_ecg.dcm", ("waveform",)),
    ],
)
def test_non_image_objects(name, words):
    with pytest.raises(eio.UnsupportedScanError) as e:
        eio.load(shipped(name))
    assert_typed(e.value, shipped(name), *words)


def test_dicomdir_alone(tmp_path):
    shutil.copy(shipped("DICOMDIR"), tmp_path / "DICOMDIR")
    with pytest.raises(eio.UnsupportedScanError) as e:
        eio.open_scan(tmp_path / "DICOMDIR")
    assert_typed(e.value, tmp_path / "DICOMDIR", "dicomdir")
    shutil.copy(shipped("DICOMDIR"), tmp_path / "index.dcm")
    with pytest.raises(eio.UnsupportedScanError, match="DICOMDIR"):
        eio.open_scan(tmp_path / "index.dcm")


def test_dicomdir_beside_images_lists_the_images(tmp_path, rng):
    write_series(tmp_path, rng.integers(0, 9, (3, 4, 4)).astype(np.int16))
    shutil.copy(shipped("DICOMDIR"), tmp_path / "DICOMDIR")
    (info,) = eio.open_scan(tmp_path / "DICOMDIR")
    assert info.n_files == 3


# --- broken DICOM ---------------------------------------------------------------


def test_truncated_dicom_files(tmp_path):
    with pytest.raises(eio.CorruptScanError) as e:
        eio.load(shipped("MR_truncated.dcm"))
    assert_typed(e.value, shipped("MR_truncated.dcm"), "truncated")
    raw = shipped("CT_small.dcm").read_bytes()
    for cut in (len(raw) - 1000, len(raw) // 2, 400, 140):
        p = tmp_path / f"cut{cut}.dcm"
        p.write_bytes(raw[:cut])
        with pytest.raises(eio.CorruptScanError) as e:
            eio.load(p)
        assert e.value.path == p


def test_missing_pixel_data(tmp_path):
    ds = pydicom.dcmread(shipped("CT_small.dcm"))
    del ds.PixelData
    ds.save_as(tmp_path / "nopix.dcm")
    with pytest.raises(eio.CorruptScanError) as e:
        eio.load(tmp_path / "nopix.dcm")
    assert_typed(e.value, tmp_path / "nopix.dcm", "without pixel data")


def test_corrupt_compressed_pixels():
    path = shipped("JPEG2000-embedded-sequence-delimiter.dcm")
    with pytest.raises(eio.CorruptScanError) as e:
        eio.load(path)
    assert_typed(e.value, path, "cannot decode", "jpeg 2000")


@pytest.mark.parametrize("rows, cols, frames, error", [(0, 64, 1, eio.CorruptScanError), (64, 64, 70000, eio.ScanTooLargeError), (65535, 65535, 1000, eio.ScanTooLargeError)])
def test_bad_dimensions_are_refused_before_allocating(tmp_path, rows, cols, frames, error):
    ds = pydicom.dcmread(shipped("MR_small.dcm"))
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, frames
    ds.save_as(tmp_path / "dims.dcm")
    tracemalloc.start()
    try:
        with pytest.raises(error):
            eio.load(tmp_path / "dims.dcm")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20


def test_declared_size_larger_than_the_file(tmp_path):
    ds = pydicom.dcmread(shipped("MR_small.dcm"))
    ds.Rows = ds.Columns = 4096
    ds.save_as(tmp_path / "big.dcm")
    with pytest.raises(eio.CorruptScanError, match="need"):
        eio.load(tmp_path / "big.dcm")


def test_nan_in_dicom_geometry(tmp_path):
    write_slice(tmp_path / "nan.dcm", np.zeros((4, 4)), series_uid="1.2.3", orientation=(1, 0, 0, 0, float("nan"), 0))
    with pytest.raises(eio.CorruptScanError, match="NaN"):
        eio.load(tmp_path / "nan.dcm")


def test_colour_and_palette_become_luminance():
    rgb = eio.load(shipped("SC_rgb_rle.dcm"))
    ds = pydicom.dcmread(shipped("SC_rgb_rle.dcm"))
    lum = ds.pixel_array.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(rgb.voxels[:, :, 0], lum.T, rtol=1e-5)
    assert any("luminance" in w for w in rgb.meta.warnings)
    pal = eio.load(shipped("examples_palette.dcm"))
    assert pal.voxels.ndim == 3 and np.ptp(pal.voxels) > 0
    assert any("palette" in w for w in pal.meta.warnings)


def test_a_broken_file_in_a_series_is_skipped_with_a_notice(tmp_path, rng):
    paths, _ = write_series(tmp_path, rng.integers(0, 9, (5, 4, 4)).astype(np.int16), shuffle=False)
    paths[2].write_bytes(paths[2].read_bytes()[:-10])
    (info,) = eio.open_scan(tmp_path)
    vol = eio.load(info)
    assert vol.shape == (4, 4, 4)
    assert any(paths[2].name in w and "truncated" in w for w in vol.meta.warnings)
    assert any("missing" in w for w in vol.meta.warnings)


# --- broken NIfTI ---------------------------------------------------------------


def nifti_bytes(tmp_path, shape=(8, 8, 8), dtype=np.int16, name="ok.nii") -> Path:
    img = nib.Nifti1Image(np.ones(shape, dtype), np.eye(4))
    nib.save(img, tmp_path / name)
    return tmp_path / name


def patch_header(path: Path, **fields) -> Path:
    """Rewrite header fields in place (nibabel would refuse to save them)."""
    raw = bytearray(path.read_bytes())
    hdr = nib.Nifti1Header.from_fileobj(__import__("io").BytesIO(bytes(raw[:348])), check=False)
    for k, v in fields.items():
        hdr[k] = v
    raw[:348] = hdr.binaryblock
    path.write_bytes(bytes(raw))
    return path


def test_truncated_nifti(tmp_path):
    p = nifti_bytes(tmp_path)
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(eio.CorruptScanError) as e:
        eio.open_scan(p)
    assert_typed(e.value, p, "truncated")
    gz = tmp_path / "cut.nii.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    with pytest.raises(eio.CorruptScanError, match="truncated"):
        eio.load(gz)
    # a gzip stream cut short
    full = gzip.compress(nifti_bytes(tmp_path, (40, 40, 40), np.float32, "f.nii").read_bytes())
    (tmp_path / "short.nii.gz").write_bytes(full[: len(full) // 2])
    with pytest.raises(eio.CorruptScanError):
        eio.load(tmp_path / "short.nii.gz")


def test_not_a_nifti(tmp_path):
    (tmp_path / "junk.nii").write_bytes(b"hello" * 100)
    with pytest.raises(eio.CorruptScanError):
        eio.open_scan(tmp_path / "junk.nii")
    (tmp_path / "junk.nii.gz").write_bytes(b"\x1f\x8b" + b"junk" * 50)
    with pytest.raises(eio.CorruptScanError):
        eio.open_scan(tmp_path / "junk.nii.gz")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff" + b"0" * 50)
    with pytest.raises(eio.UnsupportedScanError):
        eio.open_scan(tmp_path / "photo.jpg")


@pytest.mark.parametrize(
    "dim, error",
    [
        ([3, 8, 0, 8, 1, 1, 1, 1], eio.CorruptScanError),
        ([3, 8, -8, 8, 1, 1, 1, 1], eio.CorruptScanError),
        ([9, 8, 8, 8, 1, 1, 1, 1], eio.CorruptScanError),
        ([3, 32767, 32767, 32767, 1, 1, 1, 1], eio.ScanTooLargeError),
        ([3, 2048, 2048, 600, 1, 1, 1, 1], eio.ScanTooLargeError),
    ],
)
def test_bad_nifti_dimensions(tmp_path, dim, error):
    p = patch_header(nifti_bytes(tmp_path), dim=dim)
    tracemalloc.start()
    try:
        with pytest.raises(error):
            eio.load(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20


def test_declared_volume_beyond_the_file_is_refused_early(tmp_path):
    p = patch_header(nifti_bytes(tmp_path), dim=[3, 1024, 1024, 512, 1, 1, 1, 1])
    with pytest.raises(eio.CorruptScanError, match="truncated"):
        eio.load(p)
    gz = tmp_path / "big.nii.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    with pytest.raises(eio.CorruptScanError, match="gzip"):
        eio.load(gz)


def test_nan_in_the_affine(tmp_path):
    p = patch_header(nifti_bytes(tmp_path), sform_code=1, srow_x=[np.nan, 0, 0, 0])
    with pytest.raises(eio.CorruptScanError) as e:
        eio.load(p)
    assert_typed(e.value, p, "nan")
    p = patch_header(nifti_bytes(tmp_path, name="zero.nii"), sform_code=1, srow_x=[0, 0, 0, 0])
    with pytest.raises(eio.CorruptScanError, match="degenerate"):
        eio.load(p)


def test_compressed_file_declaring_a_huge_image_is_refused_early(tmp_path):
    ds = pydicom.dcmread(shipped("MR_small_RLE.dcm"))
    ds.Rows = ds.Columns = 30000
    ds.NumberOfFrames = 2
    ds.save_as(tmp_path / "liar.dcm")
    tracemalloc.start()
    try:
        with pytest.raises(eio.CorruptScanError, match="compressed"):
            eio.load(tmp_path / "liar.dcm")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20


PYDICOM_FILES = sorted(p.name for p in shipped("CT_small.dcm").parent.glob("*") if p.is_file())
NIBABEL_FILES = sorted(p for p in (Path(nib.__file__).parent / "tests" / "data").glob("*") if p.is_file())


@pytest.mark.parametrize("name", PYDICOM_FILES)
def test_every_pydicom_test_file_loads_or_says_why(name):
    path = shipped("CT_small.dcm").parent / name
    try:
        for info in eio.open_scan(path):
            vol = eio.load(info)
            assert vol.voxels.dtype == np.float32 and np.isfinite(vol.voxels).all()
    except eio.ScanError as e:
        assert e.path == path and e.reason


@pytest.mark.parametrize("path", NIBABEL_FILES, ids=lambda p: p.name)
def test_every_nibabel_test_file_loads_or_says_why(path):
    try:
        for info in eio.open_scan(path):
            assert np.isfinite(eio.load(info).voxels).all()
    except eio.ScanError as e:
        assert e.path == path and e.reason


def test_unknown_transfer_syntax(tmp_path):
    ds = pydicom.dcmread(shipped("MR_small.dcm"))
    ds.file_meta.TransferSyntaxUID = "1.2.840.113619.5.2"  # GE private implicit big endian
    ds.save_as(tmp_path / "ge.dcm", enforce_file_format=False)
    with pytest.raises(eio.UnsupportedScanError, match="transfer syntax"):
        eio.load(tmp_path / "ge.dcm")


def test_a_folder_with_too_many_files_is_refused(tmp_path, monkeypatch):
    from engine.io import limits

    monkeypatch.setattr(limits, "MAX_FILES", 3)
    for n in range(5):
        (tmp_path / f"{n}.txt").write_text("x")
    with pytest.raises(eio.ScanTooLargeError, match="more than 3 files"):
        eio.open_scan(tmp_path)
