"""Display planes: radiological/neurological layout, letters, spacing, position, any storage order."""

from __future__ import annotations

import itertools

import nibabel as nib
import numpy as np
import pytest

import engine.io as eio
from engine.io import Volume, display_slice, n_slices
from tests.io.dicom_factory import write_series

SPACING = (0.5, 0.75, 2.0)  # x, y, z mm
ORIGIN = (-10.0, 20.0, -30.0)


@pytest.fixture
def ras_volume(rng):
    """RAS-stored (i -> R, j -> A, k -> S) random volume with anisotropic voxels."""
    data = rng.random((6, 5, 4)).astype(np.float32)
    affine = np.diag(SPACING + (1.0,))
    affine[:3, 3] = ORIGIN
    return Volume(voxels=data, affine=affine)


def reoriented(vol: Volume, codes: str) -> Volume:
    """The same image stored in another voxel order (nibabel's as_reoriented)."""
    img = nib.Nifti1Image(vol.voxels, vol.affine)
    target = nib.orientations.axcodes2ornt(tuple(codes))
    ornt = nib.orientations.ornt_transform(nib.orientations.io_orientation(vol.affine), target)
    out = img.as_reoriented(ornt)
    return Volume(voxels=np.asarray(out.dataobj, dtype=np.float32), affine=out.affine)


def test_axial_coronal_sagittal_from_ras_storage(ras_volume):
    v = ras_volume.voxels
    ax = display_slice(ras_volume, "axial", 1)
    np.testing.assert_array_equal(ax.pixels, v[:, :, 1].T[::-1, ::-1])  # rows A->P, columns R->L
    assert ax.letters == ("A", "P", "R", "L")
    assert ax.spacing == (0.75, 0.5)
    assert ax.position_mm == pytest.approx(ORIGIN[2] + 1 * SPACING[2])

    co = display_slice(ras_volume, "coronal", 2)
    np.testing.assert_array_equal(co.pixels, v[:, 2, :].T[::-1, ::-1])  # rows S->I, columns R->L
    assert co.letters == ("S", "I", "R", "L")
    assert co.spacing == (2.0, 0.5)
    assert co.position_mm == pytest.approx(ORIGIN[1] + 2 * SPACING[1])

    sa = display_slice(ras_volume, "sagittal", 3)
    np.testing.assert_array_equal(sa.pixels, v[3, :, :].T[::-1, ::-1])  # rows S->I, columns A->P
    assert sa.letters == ("S", "I", "A", "P")
    assert sa.spacing == (2.0, 0.75)
    assert sa.position_mm == pytest.approx(ORIGIN[0] + 3 * SPACING[0])

    assert [n_slices(ras_volume, p) for p in eio.PLANES] == [4, 5, 6]


def test_neurological_mirrors_axial_and_coronal_only(ras_volume):
    v = ras_volume.voxels
    ax = display_slice(ras_volume, "axial", 0, radiological=False)
    np.testing.assert_array_equal(ax.pixels, v[:, :, 0].T[::-1, :])
    assert ax.letters == ("A", "P", "L", "R")
    co = display_slice(ras_volume, "coronal", 0, radiological=False)
    assert co.letters == ("S", "I", "L", "R")
    sa_r, sa_n = display_slice(ras_volume, "sagittal", 2), display_slice(ras_volume, "sagittal", 2, radiological=False)
    np.testing.assert_array_equal(sa_r.pixels, sa_n.pixels)


@pytest.mark.parametrize("codes", ["LPS", "LAS", "RPI", "PSR", "SLA", "IRP"])
def test_every_storage_order_displays_identically(ras_volume, codes):
    other = reoriented(ras_volume, codes)
    assert nib.aff2axcodes(other.affine) == tuple(codes)
    for plane, radiological in itertools.product(eio.PLANES, (True, False)):
        assert n_slices(other, plane) == n_slices(ras_volume, plane)
        for index in range(n_slices(ras_volume, plane)):
            a = display_slice(ras_volume, plane, index, radiological)
            b = display_slice(other, plane, index, radiological)
            np.testing.assert_array_equal(a.pixels, b.pixels)
            assert (a.letters, a.spacing) == (b.letters, b.spacing)
            assert a.position_mm == pytest.approx(b.position_mm)


def test_oblique_volume_uses_nearest_axes(ras_volume):
    rot = np.eye(4)
    c, s = np.cos(np.deg2rad(15)), np.sin(np.deg2rad(15))
    rot[:2, :2] = [[c, -s], [s, c]]
    oblique = Volume(voxels=ras_volume.voxels, affine=rot @ ras_volume.affine)
    lps = reoriented(oblique, "LPS")
    for plane in eio.PLANES:
        np.testing.assert_array_equal(display_slice(oblique, plane, 1).pixels, display_slice(lps, plane, 1).pixels)
    assert display_slice(oblique, "axial", 0).letters == ("A", "P", "R", "L")


def test_dicom_and_nifti_of_one_object_display_alike(tmp_path, ras_volume):
    """A DICOM series (LPS rows/columns) and a RAS NIfTI of the same anatomy."""
    v = ras_volume.voxels
    X, Y, Z = v.shape
    lps_vox = v[::-1, ::-1, :]  # i -> L, j -> P
    origin_lps = (-(ORIGIN[0] + (X - 1) * SPACING[0]), -(ORIGIN[1] + (Y - 1) * SPACING[1]), ORIGIN[2])
    volume_kji = np.round(lps_vox * 1000).astype(np.int16).transpose(2, 1, 0)  # (slices, rows, columns)
    write_series(tmp_path / "dcm", volume_kji, spacing=(SPACING[1], SPACING[0]), gap=SPACING[2], origin=origin_lps)
    nib.save(nib.Nifti1Image(np.round(v * 1000).astype(np.int16), ras_volume.affine), tmp_path / "x.nii.gz")
    dcm, nii = eio.load(tmp_path / "dcm"), eio.load(tmp_path / "x.nii.gz")
    np.testing.assert_allclose(dcm.affine @ [0, 0, 0, 1], [ORIGIN[0] + (X - 1) * SPACING[0], ORIGIN[1] + (Y - 1) * SPACING[1], ORIGIN[2], 1])
    for plane in eio.PLANES:
        for index in range(n_slices(nii, plane)):
            a, b = display_slice(dcm, plane, index), display_slice(nii, plane, index)
            np.testing.assert_array_equal(a.pixels, b.pixels)
            assert (a.letters, a.spacing) == (b.letters, b.spacing)
            assert a.position_mm == pytest.approx(b.position_mm)


def test_bad_plane_and_index(ras_volume):
    with pytest.raises(ValueError):
        display_slice(ras_volume, "oblique", 0)
    with pytest.raises(IndexError):
        display_slice(ras_volume, "axial", 4)
    assert display_slice(ras_volume, "AXIAL", 3).plane == "axial"


def test_standard_axial_dicom_displays_as_stored(tmp_path, rng):
    """Row 0 of an axial DICOM (IOP 1,0,0,0,1,0) is anterior and column 0 patient right:
    the stored pixels are already the radiological view."""
    volume_kji = rng.integers(0, 1000, size=(3, 4, 5)).astype(np.int16)
    write_series(tmp_path, volume_kji, gap=-2.0)  # files written superior to inferior
    vol = eio.load(tmp_path)
    for index in range(3):
        sl = display_slice(vol, "axial", index)
        np.testing.assert_array_equal(sl.pixels, volume_kji[2 - index])  # index 0 = most inferior
        assert sl.letters == ("A", "P", "R", "L")


@pytest.mark.parametrize("codes", ["RAS", "LPS", "ASR", "IPL"])
def test_slice_geometry_matches_display_slice_without_reading_pixels(ras_volume, codes):
    """What the viewer's GUI thread asks for (shape, spacing, letters, position) is
    the display slice's, without cutting the slice out of the volume."""
    from engine.io.planes import slice_geometry

    vol = reoriented(ras_volume, codes)
    for plane, radiological in itertools.product(("axial", "coronal", "sagittal"), (True, False)):
        for index in range(n_slices(vol, plane)):
            ds = display_slice(vol, plane, index, radiological)
            g = slice_geometry(vol, plane, index, radiological)
            assert g.shape == ds.pixels.shape and g.spacing == ds.spacing and g.letters == ds.letters
            assert (g.plane, g.index) == (ds.plane, ds.index) and g.position_mm == pytest.approx(ds.position_mm)


def test_display_slice_of_a_fortran_ordered_volume_does_not_copy_the_volume():
    """A DICOM series is stored Fortran-ordered (columns, rows, slices); the slice is cut
    as a view (np.take made the whole volume C-ordered first: ~1 s a slice at 512x512x120)."""
    data = np.asfortranarray(np.random.default_rng(0).random((64, 48, 30), dtype=np.float32))
    vol = Volume(voxels=data, affine=np.diag((0.5, 0.5, 2.0, 1.0)))
    ds = display_slice(vol, "axial", 7)
    np.testing.assert_array_equal(ds.pixels, data[:, :, 7].T[::-1, ::-1])
    import tracemalloc

    tracemalloc.start()
    display_slice(vol, "axial", 8)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 64 * 48 * 4  # a few copies of one slice, not of the volume (64*48*30*4 bytes)
