"""DICOM reading: sorting, geometry, rescale, series grouping, 4D, multi-frame, mosaics, codecs."""

from __future__ import annotations

import gzip
import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import engine.io as eio
from engine.io.dicom_file import read_file
from engine.io.dicom_pixels import _read_native, _read_with_pydicom
from engine.io.dicom_series import LPS_TO_RAS
from tests.conftest import shared_data
from tests.io.dicom_factory import AXIAL, write_enhanced, write_series, write_slice
from tests.io.geometry import corner_error, to_reference_order

NIBABEL_NICOM = Path(__import__("nibabel").__file__).parent / "nicom" / "tests" / "data"


def expected_affine(origin, orientation, spacing, gap):
    o = np.asarray(orientation, float)
    a = np.eye(4)
    a[:3, 0] = o[:3] * spacing[1]
    a[:3, 1] = o[3:] * spacing[0]
    a[:3, 2] = np.cross(o[:3], o[3:]) * gap
    a[:3, 3] = origin
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ a


@pytest.fixture
def volume_kji(rng):
    return rng.integers(-1000, 3000, size=(6, 5, 7)).astype(np.int16)  # (slices, rows, columns)


def test_series_sorted_by_position_with_affine_in_ras(tmp_path, volume_kji):
    write_series(tmp_path, volume_kji, spacing=(0.8, 0.7), gap=2.0, origin=(-10, -20, 30))
    (info,) = eio.open_scan(tmp_path)
    assert info.kind == "dicom" and info.shape == (7, 5, 6) and info.n_files == 6
    vol = eio.load(tmp_path)
    assert vol.voxels.dtype == np.float32 and vol.shape == (7, 5, 6)
    np.testing.assert_array_equal(vol.voxels, volume_kji.transpose(2, 1, 0))
    np.testing.assert_allclose(vol.affine, expected_affine((-10, -20, 30), AXIAL, (0.8, 0.7), 2.0), atol=1e-9)
    assert vol.spacing == pytest.approx((0.7, 0.8, 2.0))
    assert vol.meta.warnings == []


def test_oblique_descending_series(tmp_path, volume_kji):
    # a coronal-ish oblique stack written so that file order runs against the normal
    c, s = np.cos(0.3), np.sin(0.3)
    ori = (1.0, 0.0, 0.0, 0.0, s, -c)
    write_series(tmp_path, volume_kji, orientation=ori, gap=1.5, origin=(5, 6, 7))
    vol = eio.load(tmp_path)
    np.testing.assert_array_equal(vol.voxels, volume_kji.transpose(2, 1, 0))
    np.testing.assert_allclose(vol.affine, expected_affine((5, 6, 7), ori, (0.8, 0.7), 1.5), atol=1e-9)


def test_rescale_is_per_slice_and_windows_are_read(tmp_path, rng):
    uid = pydicom.uid.generate_uid()
    px = rng.integers(0, 100, size=(2, 4, 4)).astype(np.int16)
    write_slice(tmp_path / "a.dcm", px[0], position=(0, 0, 0), series_uid=uid, instance=1, slope=2.0, intercept=-5, window=(40, 400))
    write_slice(tmp_path / "b.dcm", px[1], position=(0, 0, 1), series_uid=uid, instance=2, slope=0.5, intercept=10, window=(40, 400))
    vol = eio.load(tmp_path)
    np.testing.assert_allclose(vol.voxels[:, :, 0], px[0].T * 2.0 - 5)
    np.testing.assert_allclose(vol.voxels[:, :, 1], px[1].T * 0.5 + 10)
    assert [(w.center, w.width) for w in vol.meta.windows] == [(40.0, 400.0)]


def test_missing_slice_and_uneven_spacing_warn(tmp_path, volume_kji):
    paths, _ = write_series(tmp_path / "gap", volume_kji, shuffle=False)
    paths[3].unlink()
    vol = eio.load(tmp_path / "gap")
    assert vol.shape[2] == 5
    assert any("missing" in w for w in vol.meta.warnings)
    assert vol.spacing[2] == pytest.approx(2.0)  # the regular spacing, not the gap

    uid = pydicom.uid.generate_uid()
    (tmp_path / "uneven").mkdir()
    for k, z in enumerate([0.0, 1.0, 2.0, 3.4]):
        write_slice(tmp_path / "uneven" / f"{k}.dcm", volume_kji[k], position=(0, 0, z), series_uid=uid, instance=k + 1)
    vol = eio.load(tmp_path / "uneven")
    assert any("uneven" in w for w in vol.meta.warnings)


def test_no_position_sorts_by_instance_number(tmp_path, volume_kji):
    uid = pydicom.uid.generate_uid()
    for k in (2, 0, 1):
        write_slice(tmp_path / f"f{k}.dcm", volume_kji[k], position=None, orientation=None, series_uid=uid, instance=k + 1)
    vol = eio.load(tmp_path)
    np.testing.assert_array_equal(vol.voxels, volume_kji[:3].transpose(2, 1, 0))
    assert any("InstanceNumber" in w for w in vol.meta.warnings)


def test_folder_with_several_series_lists_them_all(tmp_path, volume_kji):
    write_series(tmp_path / "a", volume_kji, description="T1 axial", series_number=2)
    write_series(tmp_path / "b" / "deep", volume_kji[:3], description="T2 axial", series_number=3)
    # one series UID holding two echoes and a second orientation -> three series
    uid = pydicom.uid.generate_uid()
    write_series(tmp_path / "c", volume_kji[:2], series_uid=uid, echo=1, prefix="e1", description="ME", series_number=4)
    write_series(tmp_path / "c", volume_kji[:2], series_uid=uid, echo=2, prefix="e2", description="ME", series_number=4)
    write_series(tmp_path / "c", volume_kji[:2], series_uid=uid, echo=1, prefix="sag", description="ME", series_number=4, orientation=(0, 1, 0, 0, 0, -1))
    (tmp_path / "notes.txt").write_text("not dicom")
    found = eio.open_scan(tmp_path)
    labels = [s.label for s in found]
    assert len(found) == 5, labels
    assert [s.description for s in found[:2]] == ["T1 axial", "T2 axial"]
    assert sum("echo 2" in s.description for s in found) == 1
    assert sum("orientation" in s.description for s in found) == 2
    with pytest.raises(eio.MultipleSeriesError) as err:
        eio.load(tmp_path)
    assert len(err.value.series) == 5 and "T2 axial" in err.value.reason
    vol = eio.load(found[1])
    assert vol.shape == (7, 5, 3) and vol.meta.description == "T2 axial"


def test_repeated_positions_make_a_4d_series(tmp_path, rng):
    uid = pydicom.uid.generate_uid()
    data = rng.integers(0, 500, size=(3, 4, 5, 6)).astype(np.int16)  # (time, slices, rows, cols)
    n = 0
    for t in (2, 0, 1):
        for k in range(4):
            write_slice(tmp_path / f"x{n:03d}.dcm", data[t, k], position=(0, 0, 3.0 * k), series_uid=uid, instance=t * 4 + k + 1, acquisition=t + 1)
            n += 1
    (info,) = eio.open_scan(tmp_path)
    assert info.shape == (6, 5, 4, 3) and info.n_volumes == 3
    for t in range(3):
        vol = eio.load(info, volume_index=t)
        np.testing.assert_array_equal(vol.voxels, data[t].transpose(2, 1, 0))
        assert vol.meta.volume_index == t and vol.meta.n_volumes == 3
    with pytest.raises(eio.VolumeIndexError):
        eio.load(info, volume_index=3)


def test_enhanced_multiframe_per_frame_geometry_and_rescale(tmp_path, rng):
    frames = rng.integers(0, 1000, size=(6, 4, 5)).astype(np.int16)
    order = [3, 0, 5, 1, 4, 2]  # frames stored out of spatial order
    positions = [(1.0, 2.0, 2.5 * k) for k in order]
    slopes = [1.0 + k for k in order]
    types = ["M"] * 6
    write_enhanced(tmp_path / "enh.dcm", frames, positions, slopes=slopes, frame_types=types, spacing=(0.5, 0.6))
    (info,) = eio.open_scan(tmp_path / "enh.dcm")
    vol = eio.load(info)
    for f, k in enumerate(order):
        np.testing.assert_allclose(vol.voxels[:, :, k], frames[f].T * (1.0 + k))
    np.testing.assert_allclose(vol.affine, expected_affine((1, 2, 0), AXIAL, (0.5, 0.6), 2.5), atol=1e-9)
    assert vol.meta.dicom.images[0] == (str(tmp_path / "enh.dcm"), 2, None)  # frame 2 (1-based) is k=0


def test_enhanced_file_with_two_image_types_gives_two_series(tmp_path, rng):
    frames = rng.integers(0, 1000, size=(4, 3, 3)).astype(np.int16)
    positions = [(0, 0, 0), (0, 0, 1), (0, 0, 0), (0, 0, 1)]
    write_enhanced(tmp_path / "fmap.dcm", frames, positions, frame_types=["M", "M", "FIELD_MAP", "FIELD_MAP"])
    found = eio.open_scan(tmp_path / "fmap.dcm")
    assert sorted(s.description for s in found) == ["synthetic [FIELD_MAP]", "synthetic [M]"]
    fmap = next(s for s in found if "FIELD_MAP" in s.description)
    np.testing.assert_array_equal(eio.load(fmap).voxels, frames[2:].transpose(2, 1, 0))


def test_metadata_for_export(tmp_path, volume_kji):
    paths, uid = write_series(tmp_path, volume_kji, patient_id="P-42", patient_name="Doe^Jane")
    vol = eio.load(tmp_path)
    m = vol.meta
    assert (m.patient_id, m.patient_name, m.series_uid, m.modality) == ("P-42", "Doe^Jane", uid, "MR")
    assert m.study_uid == "1.2.826.0.1.3680043.8.498.1" and m.frame_of_reference_uid == "1.2.826.0.1.3680043.8.498.2"
    headers = m.dicom.headers
    assert len(headers) == vol.shape[2] == len(m.dicom.sop_instance_uids)
    assert m.dicom.sop_class_uid == pydicom.uid.MRImageStorage and not m.dicom.irregular_stack
    for k, h in enumerate(headers):
        assert "PixelData" not in h
        assert float(h.ImagePositionPatient[2]) == pytest.approx(30 + 2.0 * k)  # aligned with voxel axis k
        assert h.SOPInstanceUID == m.dicom.sop_instance_uids[k]
    assert np.allclose((LPS_TO_RAS @ vol.affine)[:3, 3], (-10, -20, 30))  # voxel 0 at its LPS position


def test_transfer_syntaxes_shipped_by_pydicom_give_the_same_pixels():
    names = [
        "MR_small.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_expb.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_padded.dcm",
    ]
    ref = pydicom.dcmread(get_testdata_file("MR_small.dcm", download=False)).pixel_array.T
    for name in names:
        vol = eio.load(get_testdata_file(name, download=False))
        np.testing.assert_array_equal(vol.voxels[:, :, 0], ref, err_msg=name)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small_bigendian.dcm", "rtdose.dcm", "JPEG2000.dcm", "SC_rgb_rle_2frame.dcm"])
def test_fast_native_read_matches_pydicom(name):
    f = read_file(Path(get_testdata_file(name, download=False)))
    frames = list(range(f.pixels.frames))
    slow, _ = _read_with_pydicom(f, frames)
    if f.pixels.native and f.pixels.samples == 1:
        fast = _read_native(f, frames)
        for fr in frames:
            np.testing.assert_array_equal(fast[fr], slow[fr])
    assert slow[0].shape == (f.pixels.rows, f.pixels.cols)


def test_ct_hounsfield_and_rtdose_grid(tmp_path):
    ct = eio.load(get_testdata_file("CT_small.dcm", download=False))
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm", download=False))
    np.testing.assert_allclose(ct.voxels[:, :, 0], (ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)).T)
    assert ct.meta.units == "HU" and ct.meta.modality == "CT"

    dose_path = get_testdata_file("rtdose.dcm", download=False)
    dose = eio.load(dose_path)
    ds = pydicom.dcmread(dose_path)
    offsets = np.array([float(v) for v in ds.GridFrameOffsetVector])
    assert dose.shape == (ds.Columns, ds.Rows, int(ds.NumberOfFrames))
    assert dose.spacing[2] == pytest.approx(abs(offsets[1] - offsets[0]))
    np.testing.assert_allclose(dose.voxels[:, :, 0], ds.pixel_array[np.argmin(offsets)].T * float(ds.DoseGridScaling), rtol=1e-6)


def _gunzip(src: Path, dst: Path) -> Path:
    with gzip.open(src) as fi, open(dst, "wb") as fo:
        shutil.copyfileobj(fi, fo)
    return dst


def test_siemens_mosaic_matches_nibabel(tmp_path):
    """nibabel's DWI mosaic; its expected affine was checked against SPM's conversion."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nibabel.nicom import dicomreaders, dicomwrappers
    path = _gunzip(NIBABEL_NICOM / "siemens_dwi_1000.dcm.gz", tmp_path / "dwi.dcm")
    vol = eio.load(path)
    assert vol.shape == (128, 128, 48)
    expected_affine = np.array(
        [[-1.796875, 0, 0, 115], [0, -1.79684984, -0.01570896, 135.028779], [0, -0.00940843750, 2.99995887, -78.710481], [0, 0, 0, 1]]
    )[:, [1, 0, 2, 3]]
    assert corner_error(vol.shape, vol.affine, (128, 128, 48), expected_affine) < 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrapper = dicomwrappers.wrapper_from_file(str(path))
        ref = wrapper.get_data()
        ref_affine = dicomreaders.DPCS_TO_TAL @ wrapper.affine
    np.testing.assert_array_equal(to_reference_order(vol.voxels, vol.affine, ref_affine), ref)


def test_philips_enhanced_matches_nibabel(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nibabel.nicom import dicomreaders, dicomwrappers
    path = _gunzip(NIBABEL_NICOM / "philips_mprage.dcm.gz", tmp_path / "mprage.dcm")
    vol = eio.load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrapper = dicomwrappers.wrapper_from_file(str(path))
        ref, ref_affine = wrapper.get_data(), dicomreaders.DPCS_TO_TAL @ wrapper.affine
    assert corner_error(vol.shape, vol.affine, ref.shape, ref_affine) < 1e-2
    np.testing.assert_array_equal(to_reference_order(vol.voxels, vol.affine, ref_affine), ref)


# --- real scans (../shared/data) ------------------------------------------------


@pytest.mark.data
def test_every_transfer_syntax_in_dcm_qa_ts_matches_dcm2niix():
    import nibabel as nib

    root = shared_data("dicom", "dcm_qa_ts")
    files = sorted((root / "In").glob("*.dcm"))
    assert len(files) == 9
    for f in files:
        vol = eio.load(f)  # a mosaic: 35 slices of 64x64
        ref = nib.load(root / "Ref" / f"{f.stem}.nii")
        assert vol.shape == ref.shape
        assert corner_error(vol.shape, vol.affine, ref.shape, ref.affine) < 1e-3, f.name
        np.testing.assert_array_equal(to_reference_order(vol.voxels, vol.affine, ref.affine), np.asanyarray(ref.dataobj), err_msg=f.name)


@pytest.mark.data
def test_dcm_qa_enh_multiframe_matches_dcm2niix():
    import nibabel as nib

    root = shared_data("dicom", "dcm_qa_enh")
    found = {s.description: s for s in eio.open_scan(root / "In")}
    siemens = found["REST1 w SMS PF7-8"]
    assert siemens.shape == (64, 64, 6, 4)
    ref = nib.load(root / "Ref" / "Siemens_REST1_w_SMS_PF7-8_6.nii")
    data = np.asanyarray(ref.dataobj)
    for t in range(4):
        vol = eio.load(siemens, volume_index=t)
        assert corner_error(vol.shape, vol.affine, ref.shape, ref.affine) < 1e-3
        np.testing.assert_array_equal(to_reference_order(vol.voxels, vol.affine, ref.affine), data[..., t])

    fmap = next(s for d, s in found.items() if "FIELD_MAP" in d)
    ref = nib.load(root / "Ref" / "Philips_WIP_B0_NS_801_e2_fieldmaphz.nii")
    vol = eio.load(fmap)
    assert corner_error(vol.shape, vol.affine, ref.shape, ref.affine) < 1e-3
    # dcm2niix re-quantises the field map (int16 with its own scl_slope): equal within one of its steps
    np.testing.assert_allclose(
        to_reference_order(vol.voxels, vol.affine, ref.affine), np.asanyarray(ref.dataobj), atol=float(ref.dataobj.slope)
    )

    mag = next(s for d, s in found.items() if "[TE 1.52" in d)
    ref = nib.load(root / "Ref" / "Philips_WIP_B0_NS_801_e1.nii")
    vol = eio.load(mag)
    assert corner_error(vol.shape, vol.affine, ref.shape, ref.affine) < 1e-3
    # dcm2niix applies Philips' private floating-point scale: the same pixels up to one factor
    ours = to_reference_order(vol.voxels, vol.affine, ref.affine).ravel().astype(np.float64)
    theirs = np.asanyarray(ref.dataobj).ravel().astype(np.float64)
    factor = theirs @ ours / (ours @ ours)
    np.testing.assert_allclose(ours * factor, theirs, atol=1e-6 * theirs.max())


@pytest.mark.data
def test_vs_seg_series_geometry_and_metadata():
    folder = shared_data("dicom", "vs-seg-001-t1")
    vol = eio.load(folder)
    assert vol.shape == (512, 512, 120)
    assert vol.spacing == pytest.approx((0.41015625, 0.41015625, 1.5))
    assert vol.meta.warnings == []
    assert vol.meta.patient_id == "VS-SEG-001" and vol.meta.modality == "MR"
    first = pydicom.dcmread(folder / "1-001.dcm", stop_before_pixels=True)
    last = pydicom.dcmread(folder / "1-120.dcm")
    # slice 0 is the most inferior; the last file is the most superior, pixels unchanged
    z = [float(h.ImagePositionPatient[2]) for h in vol.meta.dicom.headers]
    assert z == sorted(z) and z[0] == pytest.approx(min(float(first.ImagePositionPatient[2]), float(last.ImagePositionPatient[2])))
    k_last = vol.meta.dicom.sop_instance_uids.index(last.SOPInstanceUID)
    np.testing.assert_array_equal(vol.voxels[:, :, k_last], last.pixel_array.T)
    # an axial DICOM is stored in radiological view: display == stored pixels
    sl = eio.display_slice(vol, "axial", k_last)
    np.testing.assert_array_equal(sl.pixels, last.pixel_array)
    assert sl.position_mm == pytest.approx(float(last.ImagePositionPatient[2]))


@pytest.mark.data
def test_dcm_qa_nih_tree_lists_every_series_including_4d_and_mosaics():
    found = eio.open_scan(shared_data("dicom", "dcm_qa_nih", "In"))
    shapes = sorted(s.shape for s in found)
    assert len(found) == 8
    assert shapes.count((64, 64, 15, 10)) == 4  # GE fMRI: 15 slices x 10 volumes, one file per slice
    assert shapes.count((72, 72, 5, 2)) == 4  # Siemens mosaics: 5 slices, 2 volumes
    vol = eio.load(next(s for s in found if s.shape == (72, 72, 5, 2)), volume_index=1)
    assert vol.spacing == pytest.approx((3.0, 3.0, 12.0))


def test_compressed_transfer_syntax_decoders_are_installed():
    import libjpeg  # noqa: F401  pylibjpeg-libjpeg: JPEG baseline/extended/lossless, JPEG-LS
    import openjpeg  # noqa: F401  pylibjpeg-openjpeg: JPEG 2000
    import rle  # noqa: F401  pylibjpeg-rle: RLE
    from pydicom.pixels.decoders.base import get_decoder
    from pydicom.uid import (
        JPEG2000,
        JPEG2000Lossless,
        JPEGBaseline8Bit,
        JPEGExtended12Bit,
        JPEGLosslessSV1,
        JPEGLSLossless,
        JPEGLSNearLossless,
        RLELossless,
    )

    for uid in (JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLosslessSV1, JPEGLSLossless, JPEGLSNearLossless, JPEG2000Lossless, JPEG2000, RLELossless):
        assert get_decoder(uid).is_available, uid.name


@pytest.mark.parametrize("name", ["SC_rgb_jpeg_dcmtk.dcm", "JPGExtended.dcm", "JPEGLSNearLossless_16.dcm", "JPEG2000.dcm", "SC_rgb_rle_16bit.dcm", "image_dfl.dcm"])
def test_other_codecs_match_pydicom(name):
    path = get_testdata_file(name, download=False)
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array.astype(np.float32)
    if arr.ndim == 3:
        arr = arr @ np.array([0.299, 0.587, 0.114], np.float32)
    if "RescaleSlope" in ds:
        arr = arr * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(eio.load(path).voxels[:, :, 0], arr.T, rtol=1e-6)


def test_a_picked_file_opens_its_whole_series(tmp_path, volume_kji, rng):
    """File > Open on one slice of a classic series opens the series it belongs to: the
    files beside it with its SeriesInstanceUID, not another series in the same folder,
    not a copy of one of its instances, not files in subfolders."""
    paths, _ = write_series(tmp_path, volume_kji)
    write_series(tmp_path, rng.integers(0, 100, size=(3, 5, 7)).astype(np.int16), prefix="other")
    shutil.copy(paths[0], tmp_path / "copy_of_one.dcm")  # same SOPInstanceUID, another file
    (tmp_path / "sub").mkdir()
    shutil.copy(paths[1], tmp_path / "sub" / "elsewhere.dcm")
    (info,) = eio.open_scan(paths[2], whole_series=True)
    assert info.shape == (7, 5, 6) and info.n_files == 6
    assert (tmp_path / "copy_of_one.dcm" in info.paths) != (paths[0] in info.paths)  # one copy of the instance
    vol = eio.load(info)
    np.testing.assert_array_equal(vol.voxels, volume_kji.transpose(2, 1, 0))
    # without whole_series (a batch tool given *.dcm) a file is itself
    (one,) = eio.open_scan(paths[2])
    assert one.n_files == 1 and eio.load(paths[2]).shape == (7, 5, 1)
    # a link to one of the files is the same file, not a second instance
    (tmp_path / "link.dcm").symlink_to(paths[3])
    (info,) = eio.open_scan(paths[2], whole_series=True)
    assert info.n_files == 6 and not any("unequal" in w for w in info.warnings)


def test_a_picked_file_alone_in_its_series_is_one_slice(tmp_path, volume_kji):
    paths, _ = write_series(tmp_path, volume_kji[:1])
    write_series(tmp_path, volume_kji[1:], prefix="other")  # another series beside it
    (info,) = eio.open_scan(paths[0], whole_series=True)
    assert info.shape == (7, 5, 1) and info.n_files == 1
