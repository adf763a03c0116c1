"""NIfTI export: the affine is exact (FOV corners stay put), codes kept, voxels right."""

from __future__ import annotations

import json
from fractions import Fraction
from itertools import product

import nibabel as nib
import numpy as np
import pytest

from engine.export import ExportRequest, ExportRequestError, plan_export, run_export
from engine.export.nifti import scaled_affine
from engine.export.enlarge import enlarge
from engine.geometry import output_size


def _export(req):
    *_, last = run_export(req)
    assert last.finished
    return last.outputs


def _corners(affine, shape_ij, ks):
    """World coordinates of the in-plane FOV corners (voxel edges -0.5 and n-0.5)."""
    pts = [(i, j, k, 1.0) for i, j, k in product((-0.5, shape_ij[0] - 0.5), (-0.5, shape_ij[1] - 0.5), ks)]
    return (np.asarray(affine) @ np.array(pts).T)[:3].T


@pytest.mark.parametrize("scale", [2.0, 2.37, 3.3])
def test_fov_corners_stay_within_1e4_mm(nifti_volume, tmp_path, scale):
    vol = nifti_volume
    out = _export(ExportRequest(vol, tmp_path / "out.nii.gz", None, scale, "nifti"))[0]
    img = nib.load(str(out))
    I, J, K = vol.shape
    shape = img.shape
    assert shape == (output_size(I, scale), output_size(J, scale), K)
    want = _corners(vol.affine, (I, J), (0, K - 1))
    for affine in (img.get_sform(), img.get_qform()):
        got = _corners(affine, shape[:2], (0, K - 1))
        assert np.max(np.abs(got - want)) < 1e-4
    # codes of the source kept (sform 4 = MNI, qform 1 = scanner in the fixture)
    assert int(img.header["sform_code"]) == 4 and int(img.header["qform_code"]) == 1


def test_nibabel_rescale_affine_would_miss(nifti_volume):
    """Why we do not use nibabel's rescale_affine: it pins the centre, not the edges."""
    from nibabel.affines import rescale_affine

    vol = nifti_volume
    I, J, K = vol.shape
    new_shape = (output_size(I, 2.5), output_size(J, 2.5), K)
    zooms = np.array(vol.spacing) * np.array([I / new_shape[0], J / new_shape[1], 1])
    theirs = rescale_affine(vol.affine, vol.shape, zooms, new_shape)
    ours = scaled_affine(vol.affine, (Fraction(new_shape[0], I), Fraction(new_shape[1], J)))
    want = _corners(vol.affine, (I, J), (0,))
    assert np.max(np.abs(_corners(ours, new_shape[:2], (0,)) - want)) < 1e-9
    assert np.max(np.abs(_corners(theirs, new_shape[:2], (0,)) - want)) > 0.1


def test_voxels_are_the_enlarged_slices_and_range_shifts_the_affine(nifti_volume, tmp_path, small_upscaler):
    vol = nifti_volume
    outs = _export(
        ExportRequest(vol, tmp_path / "o.nii", small_upscaler, 2.0, "nifti", slices=(1, 3), include_bicubic=True)
    )
    sr, bic = (nib.load(str(p)) for p in outs)
    assert outs[1].name == "o_bicubic.nii"
    assert sr.shape == bic.shape == (48, 40, 2)
    data = np.asarray(sr.dataobj)
    from engine.export import volume_intensity_range

    rng = volume_intensity_range(small_upscaler, vol)
    for n, k in enumerate((1, 2)):
        np.testing.assert_allclose(data[:, :, n], enlarge(vol.voxels[:, :, k], 2.0, small_upscaler, rng), rtol=0, atol=1e-4)
        np.testing.assert_allclose(np.asarray(bic.dataobj)[:, :, n], enlarge(vol.voxels[:, :, k], 2.0), atol=1e-4)
    # slice n of the output is slice k = n + 1 of the source: same world position of the FOV corners
    I, J, _ = vol.shape
    assert np.max(np.abs(_corners(sr.affine, (48, 40), (0,)) - _corners(vol.affine, (I, J), (1,)))) < 1e-4
    # provenance travels in a header extension
    ext = [e for e in sr.header.extensions if e.get_code() == 6]
    assert ext and b'"method": "meta-srgan"' in ext[0].get_content()
    assert small_upscaler.info.sha256.encode() in ext[0].get_content()


def test_dicom_source_gets_scanner_codes_and_exact_affine(dicom_series, tmp_path):
    _, vol = dicom_series
    out = _export(ExportRequest(vol, tmp_path, None, 1.5, "nifti"))[0]
    img = nib.load(str(out))
    assert out.name == "src_x1.5_bicubic.nii.gz"
    assert int(img.header["sform_code"]) == 1 and int(img.header["qform_code"]) == 1
    I, J, K = vol.shape
    got = _corners(img.affine, img.shape[:2], (0, K - 1))
    assert np.max(np.abs(got - _corners(vol.affine, (I, J), (0, K - 1)))) < 1e-4


def test_gz_bytes_depend_only_on_content(nifti_volume, tmp_path):
    from datetime import datetime, timezone

    when = datetime(2024, 1, 2, tzinfo=timezone.utc)
    a = _export(ExportRequest(nifti_volume, tmp_path / "a" / "x.nii.gz", None, 2.0, "nifti", timestamp=when))[0]
    b = _export(ExportRequest(nifti_volume, tmp_path / "b" / "x.nii.gz", None, 2.0, "nifti", timestamp=when))[0]
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("plane", ["axial", "coronal", "sagittal"])
def test_nifti_of_a_plane_holds_its_slices_where_they_were(nifti_volume, tmp_path, plane):
    """NIfTI of coronal (or sagittal) slices: stored slice k of the file is display slice
    k of the plane, enlarged, and every voxel sits where the source put it in the world."""
    from engine.io.planes import display_slice, n_slices, reoriented
    from engine.render.bicubic import bicubic

    vol = nifti_volume
    re = reoriented(vol, plane)
    for k in (0, n_slices(vol, plane) - 1):
        np.testing.assert_array_equal(re.voxels[:, :, k].T, display_slice(vol, plane, k).pixels)
    # same world position for a voxel and its image
    old = np.argwhere(np.ones(vol.shape, bool))[::7]
    world_old = old @ vol.affine[:3, :3].T + vol.affine[:3, 3]
    new_of_old = np.linalg.solve(re.affine, np.c_[world_old, np.ones(len(old))].T).T[:, :3]
    idx = np.rint(new_of_old).astype(int)
    np.testing.assert_allclose(new_of_old, idx, atol=1e-6)
    np.testing.assert_array_equal(re.voxels[tuple(idx.T)], vol.voxels[tuple(old.T)])

    if plane == "axial":  # the stored plane: test_the_stored_plane_keeps_the_acquired_slices
        return
    reports = list(run_export(ExportRequest(vol, tmp_path, None, 2.0, "nifti", plane=plane, slices=(1, 3))))
    (out,) = reports[-1].outputs
    assert out.name == f"scan_x2_{plane}_bicubic.nii.gz"
    img = nib.load(str(out))
    data = np.asarray(img.dataobj)
    assert data.shape[2] == 2
    np.testing.assert_allclose(data[:, :, 0].T, bicubic(display_slice(vol, plane, 1).pixels, 2.0), atol=1e-3)
    # the enlarged voxel (0.5, 0.5) of slice 0 is a quarter voxel inside the corner of plane slice 1
    want = re.affine @ np.array([-0.25, -0.25, 1.0, 1.0])
    np.testing.assert_allclose(img.affine @ np.array([0.0, 0.0, 0.0, 1.0]), want, atol=1e-6)
    record = json.loads(img.header.extensions[0].get_content())
    assert record["slices"]["plane"] == plane



@pytest.mark.parametrize("fmt", ["nifti", "dicom"])
def test_the_stored_plane_keeps_the_acquired_slices(nifti_volume, tmp_path, fmt):
    """Asking NIfTI/DICOM for the plane the scan was acquired in exports its stored slices
    (the range mapped from display numbering, which counts from the inferior end) exactly
    as an export of those stored slices would: not a reformat."""
    from engine.export.reformat import stored_range

    vol = nifti_volume
    ks = stored_range(vol, "axial", [1, 2])
    assert ks is not None and stored_range(vol, "coronal", [1, 2]) is None
    when = __import__("datetime").datetime(2024, 1, 2)
    a = _export(ExportRequest(vol, tmp_path / "plane", None, 2.0, fmt, plane="axial", slices=(1, 3), timestamp=when,
                              uid_seed="s"))
    b = _export(ExportRequest(vol, tmp_path / "stored", None, 2.0, fmt, slices=ks, timestamp=when, uid_seed="s"))
    assert [p.name for p in a] == [p.name for p in b] and "axial" not in a[0].name
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_stored_range_counts_display_slices_from_the_inferior_end(tmp_path):
    """Stored slices running superior to inferior: display slice 0 (the most inferior)
    is the last stored one."""
    from engine.export.reformat import stored_range
    from engine.io.planes import display_slice

    from .conftest import make_nifti

    affine = np.diag([0.9, 1.1, -2.5, 1.0])
    vol = make_nifti(tmp_path / "down.nii.gz", shape=(12, 10, 5), affine=affine)
    assert stored_range(vol, "axial", [0]) == (4, 5)
    assert stored_range(vol, "axial", [1, 2]) == (2, 4)
    # the same pixels (flipped for the display)
    np.testing.assert_array_equal(np.sort(display_slice(vol, "axial", 0).pixels.ravel()), np.sort(vol.voxels[:, :, 4].ravel()))


def test_float_source_is_written_as_float32(nifti_volume, tmp_path):
    out = _export(ExportRequest(nifti_volume, tmp_path / "f.nii.gz", None, 2.0, "nifti"))[0]
    img = nib.load(str(out))
    assert img.get_data_dtype() == np.float32 and (img.dataobj.slope, img.dataobj.inter) == (1.0, 0.0)


def test_integer_nifti_keeps_its_type_and_scaling(tmp_path):
    """An int16 source with scl_slope 0.5, scl_inter 10 comes out int16 with the same
    scaling: the enlarged values clipped to the source's range and rounded to its step."""
    from engine.io import load

    rng = np.random.default_rng(3)
    stored = rng.integers(0, 400, size=(20, 18, 3)).astype(np.int16)
    img = nib.Nifti1Image(stored, np.diag([0.9, 0.9, 2.0, 1.0]))
    img.header.set_slope_inter(0.5, 10.0)
    nib.save(img, str(tmp_path / "int.nii.gz"))
    vol = load(tmp_path / "int.nii.gz")
    out = _export(ExportRequest(vol, tmp_path / "o.nii.gz", None, 2.5, "nifti"))[0]
    back = nib.load(str(out))
    assert back.get_data_dtype() == np.int16 and (back.dataobj.slope, back.dataobj.inter) == (0.5, 10.0)
    got = np.asarray(back.dataobj.get_unscaled())
    lo, hi = float(vol.voxels.min()), float(vol.voxels.max())
    for k in range(3):
        want = np.clip(enlarge(vol.voxels[:, :, k], 2.5, None, None).astype(np.float64), lo, hi)
        np.testing.assert_array_equal(got[:, :, k], np.rint((want - 10.0) / 0.5))
    values = back.get_fdata()
    assert values.min() >= lo and values.max() <= hi


def test_integer_dicom_series_is_written_in_an_integer_type_with_its_rescale(tmp_path):
    from tests.export.conftest import volume_from_dicom, write_dicom_series

    paths = write_dicom_series(tmp_path / "src", slope=(2.0, -1024.0))
    vol = volume_from_dicom(paths)
    out = _export(ExportRequest(vol, tmp_path / "o.nii.gz", None, 2.0, "nifti"))[0]
    back = nib.load(str(out))
    assert back.get_data_dtype().kind in "iu" and (back.dataobj.slope, back.dataobj.inter) == (2.0, -1024.0)
    want = np.clip(enlarge(vol.voxels[:, :, 0], 2.0, None, None), vol.voxels.min(), vol.voxels.max())
    assert np.abs(back.get_fdata()[:, :, 0] - want).max() <= 1.0 + 1e-6  # half of the source's step of 2
