"""Property: whatever bytes or header values we are given, the readers raise only ScanError.

Mutated header values, flipped bytes and truncations are thrown at both readers;
each case also runs under an alarm, so a hang fails the test instead of stalling it.
"""

from __future__ import annotations

import gzip
import io
import os
import signal
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

import engine.io as eio

SEEDS = ["MR_small.dcm", "CT_small.dcm", "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "rtdose.dcm", "SC_rgb_rle_2frame.dcm", "liver_1frame.dcm"]
SEED_BYTES = {n: Path(get_testdata_file(n, download=False)).read_bytes() for n in SEEDS}

#: METAZOOM_FUZZ_EXAMPLES=2000 for a longer hunt (random seeds then); the suite runs 60, reproducibly
_EXAMPLES = int(os.environ.get("METAZOOM_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=_EXAMPLES <= 60)

ints = st.one_of(st.integers(-3, 70000), st.sampled_from([0, 1, 2**15, 2**16 - 1, 2**31 - 1, -1]))


@contextmanager
def no_hang(seconds: int = 10):
    def boom(*_):
        raise TimeoutError("reader hung")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def read_everything(path: Path) -> None:
    """open_scan + load every series; only ScanError may escape."""
    with no_hang():
        try:
            for info in eio.open_scan(path):
                vol = eio.load(info)
                assert vol.voxels.dtype == np.float32 and np.isfinite(vol.voxels).all()
                eio.display_slice(vol, "axial", 0)
        except eio.ScanError as e:
            assert e.path is not None and e.reason


def write(data: bytes, suffix: str) -> Path:
    f = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)
    f.write(data)
    f.close()
    return Path(f.name)


@FUZZ
@given(seed=st.sampled_from(SEEDS), cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6))
def test_dicom_bytes(seed, cut, flips):
    raw = bytearray(SEED_BYTES[seed])
    header_end = min(len(raw), 2000)
    for where, value in flips:
        raw[int(where * (header_end - 1))] = value
    raw = raw[: max(1, int(len(raw) * cut))] if cut < 0.999 else raw
    p = write(bytes(raw), ".dcm")
    try:
        read_everything(p)
    finally:
        p.unlink()


DICOM_FIELDS = ["Rows", "Columns", "BitsAllocated", "BitsStored", "SamplesPerPixel", "PixelRepresentation", "NumberOfFrames", "HighBit", "PlanarConfiguration"]


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    changes=st.dictionaries(st.sampled_from(DICOM_FIELDS), ints, max_size=3),
    photometric=st.sampled_from([None, "MONOCHROME1", "RGB", "PALETTE COLOR", "YBR_FULL_422", "BOGUS"]),
    geometry=st.sampled_from([None, "nan", "zero", "short"]),
)
def test_dicom_header_values(seed, changes, photometric, geometry):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom rightly complains about the values we set
        p = _mutated_dicom(seed, changes, photometric, geometry)
    if p is None:
        return
    try:
        read_everything(p)
    finally:
        p.unlink()


def _mutated_dicom(seed, changes, photometric, geometry) -> Path | None:
    ds = pydicom.dcmread(io.BytesIO(SEED_BYTES[seed]))
    for k, v in changes.items():
        try:
            setattr(ds, k, v)
        except (ValueError, OverflowError, TypeError):
            pass
    if photometric:
        ds.PhotometricInterpretation = photometric
    if geometry == "nan":
        ds.ImagePositionPatient = ["nan", 0, 0]
    elif geometry == "zero":
        ds.ImageOrientationPatient = [0, 0, 0, 0, 0, 0]
        ds.PixelSpacing = [0, 0]
    elif geometry == "short":
        ds.ImageOrientationPatient = [1, 0]
    buf = io.BytesIO()
    try:
        ds.save_as(buf, enforce_file_format=False)
    except Exception:  # pydicom refused to write this combination: nothing to read
        return None
    return write(buf.getvalue(), ".dcm")


def nifti_seed(ndim: int) -> bytes:
    shape = (6, 5, 4) if ndim == 3 else (6, 5, 4, 3)
    img = nib.Nifti1Image(np.arange(np.prod(shape), dtype=np.int16).reshape(shape), np.diag([1.0, 2.0, 3.0, 1.0]))
    bio = io.BytesIO()
    img.to_file_map({"image": nib.FileHolder(fileobj=bio), "header": nib.FileHolder(fileobj=bio)})
    return bio.getvalue()


NIFTI_SEEDS = {3: nifti_seed(3), 4: nifti_seed(4)}
NIFTI_FIELDS = {
    "dim": st.lists(st.integers(-2, 40000), min_size=8, max_size=8),
    "datatype": st.sampled_from([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 77]),
    "bitpix": st.integers(-8, 256),
    "vox_offset": st.one_of(st.floats(-100, 1e6), st.just(float("nan"))),
    "scl_slope": st.floats(allow_nan=True, allow_infinity=True, width=32),
    "scl_inter": st.floats(allow_nan=True, allow_infinity=True, width=32),
    "pixdim": st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=8, max_size=8),
    "sform_code": st.integers(-1, 5),
    "qform_code": st.integers(-1, 5),
    "srow_x": st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=4, max_size=4),
    "quatern_b": st.floats(allow_nan=True, width=32),
    "sizeof_hdr": st.integers(0, 1000),
}


@FUZZ
@given(
    ndim=st.sampled_from([3, 4]),
    changes=st.fixed_dictionaries({}, optional=NIFTI_FIELDS),
    cut=st.floats(0, 1),
    gz=st.booleans(),
)
def test_nifti_header_values_and_truncation(ndim, changes, cut, gz):
    raw = bytearray(NIFTI_SEEDS[ndim])
    hdr = nib.Nifti1Header.from_fileobj(io.BytesIO(bytes(raw[:348])), check=False)
    for k, v in changes.items():
        try:
            hdr[k] = v
        except (ValueError, OverflowError, TypeError):
            pass
    raw[:348] = hdr.binaryblock[:348]
    if cut < 0.95:
        raw = raw[: int(len(raw) * cut)]
    data = gzip.compress(bytes(raw), compresslevel=1) if gz else bytes(raw)
    p = write(data, ".nii.gz" if gz else ".nii")
    try:
        read_everything(p)
    finally:
        p.unlink()


@pytest.mark.parametrize("name", SEEDS)
def test_seeds_themselves_load(name):
    p = write(SEED_BYTES[name], ".dcm")
    try:
        for info in eio.open_scan(p):
            assert eio.load(info).voxels.size > 0
    finally:
        p.unlink()
