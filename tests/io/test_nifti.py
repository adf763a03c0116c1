"""NIfTI reading: affine choice, scaling, 3D/4D, NaN/Inf, refusals, nibabel's own files."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import engine.io as eio
from tests.conftest import shared_data

NIBABEL_DATA = Path(nib.__file__).parent / "tests" / "data"


def save(tmp_path, data, affine=None, name="x.nii.gz", **hdr) -> Path:
    img = nib.Nifti1Image(data, np.diag([0.9, 1.1, 2.0, 1.0]) if affine is None else affine)
    for k, v in hdr.items():
        img.header[k] = v
    path = tmp_path / name
    nib.save(img, path)
    return path


@pytest.mark.parametrize("name", ["x.nii", "x.nii.gz"])
def test_int16_with_slope_and_intercept(tmp_path, rng, name):
    raw = rng.integers(-2000, 2000, size=(9, 8, 7)).astype(np.int16)
    img = nib.Nifti1Image(raw, np.diag([0.9, 1.1, 2.0, 1.0]))
    img.header.set_data_dtype(np.int16)
    img.header.set_slope_inter(0.25, -3.0)
    nib.save(img, tmp_path / name)
    vol = eio.load(tmp_path / name)
    assert vol.kind == "nifti" and vol.voxels.dtype == np.float32 and vol.shape == (9, 8, 7)
    expected = nib.load(tmp_path / name).get_fdata()
    np.testing.assert_allclose(vol.voxels, expected, rtol=1e-6)
    assert vol.spacing == pytest.approx((0.9, 1.1, 2.0))


def test_sform_is_preferred_then_qform(tmp_path, rng):
    data = rng.random((4, 5, 6)).astype(np.float32)
    img = nib.Nifti1Image(data, None)
    q = np.diag([2.0, 2.0, 2.0, 1.0])
    q[:3, 3] = (1, 2, 3)
    s = np.array([[0, -1.5, 0, 10], [1.5, 0, 0, -4], [0, 0, 3, 7], [0, 0, 0, 1.0]])
    img.set_qform(q, code=1)
    img.set_sform(s, code=2)
    nib.save(img, tmp_path / "both.nii")
    np.testing.assert_allclose(eio.load(tmp_path / "both.nii").affine, s)
    img.set_sform(s, code=0)
    nib.save(img, tmp_path / "qonly.nii")
    vol = eio.load(tmp_path / "qonly.nii")
    np.testing.assert_allclose(vol.affine, q, atol=1e-6)
    assert vol.meta.nifti.qform_code == 1 and vol.meta.nifti.sform_code == 0


def test_4d_picks_a_volume(tmp_path, rng):
    data = rng.random((3, 4, 5, 6)).astype(np.float32)
    path = save(tmp_path, data)
    (info,) = eio.open_scan(path)
    assert info.shape == (3, 4, 5, 6) and info.n_volumes == 6
    for t in (0, 5):
        vol = eio.load(path, volume_index=t)
        np.testing.assert_array_equal(vol.voxels, data[..., t])
        assert vol.meta.volume_index == t and vol.meta.n_volumes == 6
    with pytest.raises(eio.VolumeIndexError):
        eio.load(path, volume_index=6)


def test_5d_offers_every_volume_beyond_the_third_dimension(tmp_path, rng):
    """dims 4 and up are numbered together in the file's (Fortran) order: volume
    t + 2u of a (3, 3, 3, 2, 2) file is data[..., t, u]."""
    data = rng.random((3, 3, 3, 2, 2)).astype(np.float32)
    path = save(tmp_path, data, name="five.nii")
    (info,) = eio.open_scan(path)
    assert info.shape == (3, 3, 3, 4) and info.n_volumes == 4
    for t, u in ((0, 0), (1, 0), (0, 1), (1, 1)):
        vol = eio.load(path, volume_index=t + 2 * u)
        np.testing.assert_array_equal(vol.voxels, data[..., t, u])
    assert any("showing volume 4 of 4 (index (2, 2) along dimensions 4-5, from 1)" in w for w in vol.meta.warnings)
    # vectors stored as dim 5 after a time dim of 1 (e.g. a deformation field)
    field = rng.random((3, 3, 3, 1, 3)).astype(np.float32)
    (info,) = eio.open_scan(save(tmp_path, field, name="field.nii"))
    assert info.n_volumes == 3
    np.testing.assert_array_equal(eio.load(info, volume_index=2).voxels, field[..., 0, 2])


def test_rgb_and_complex_are_refused(tmp_path, rng):
    rgb = np.zeros((3, 3, 3), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    with pytest.raises(eio.UnsupportedScanError, match="RGB"):
        eio.open_scan(save(tmp_path, rgb, name="rgb.nii"))
    with pytest.raises(eio.UnsupportedScanError, match="complex"):
        eio.load(save(tmp_path, np.ones((3, 3, 3), np.complex64), name="c.nii"))
    # a trailing singleton 5th dimension is still 3D
    vol = eio.load(save(tmp_path, np.ones((3, 3, 3, 1, 1), np.float32), name="ones.nii"))
    assert vol.shape == (3, 3, 3)


def test_nan_and_inf_are_replaced_with_a_warning(tmp_path, rng):
    data = rng.random((5, 5, 5)).astype(np.float32) * 10
    data[0, 0, 0], data[1, 1, 1], data[2, 2, 2] = np.nan, np.inf, -np.inf
    vol = eio.load(save(tmp_path, data))
    assert np.isfinite(vol.voxels).all()
    assert vol.voxels[0, 0, 0] == 0
    finite = data[np.isfinite(data)]
    assert vol.voxels[1, 1, 1] == finite.max() and vol.voxels[2, 2, 2] == finite.min()
    (note,) = vol.meta.warnings
    assert "1 NaN" in note and "2 infinite" in note


def test_cal_min_max_become_a_window(tmp_path):
    vol = eio.load(save(tmp_path, np.ones((2, 2, 2), np.float32), cal_min=10.0, cal_max=110.0))
    assert [(w.center, w.width) for w in vol.meta.windows] == [(60.0, 100.0)]


def test_big_endian_and_float64(tmp_path, rng):
    data = rng.random((4, 3, 2))
    img = nib.Nifti1Image(data.astype(">f8"), np.eye(4))
    nib.save(img, tmp_path / "be.nii")
    np.testing.assert_allclose(eio.load(tmp_path / "be.nii").voxels, data, rtol=1e-6)


def test_2d_image_is_one_slice(tmp_path):
    vol = eio.load(save(tmp_path, np.arange(12, dtype=np.float32).reshape(4, 3)))
    assert vol.shape == (4, 3, 1)


@pytest.mark.parametrize("name", ["anatomical.nii", "example4d.nii.gz", "example_nifti2.nii.gz", "standard.nii.gz", "functional.nii"])
def test_nibabel_shipped_files_match_get_fdata(name):
    path = NIBABEL_DATA / name
    img = nib.load(path)
    vol = eio.load(path)
    ref = img.get_fdata()
    ref = ref[..., 0] if ref.ndim == 4 else ref
    np.testing.assert_allclose(vol.voxels, np.nan_to_num(ref), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(vol.affine, img.affine)


@pytest.mark.data
def test_real_volume():
    vol = eio.load(shared_data("volumes", "MR_Gd.nii.gz"))
    assert vol.shape == (176, 188, 144)
    assert vol.meta.warnings == []
    assert vol.voxels.max() > 0
