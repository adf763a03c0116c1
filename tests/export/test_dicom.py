"""DICOM export: a valid derived series (dciodvfy), exact geometry, provenance, UIDs."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pydicom
import pytest

from engine.export import ExportRequest, run_export
from engine.export.dicom import MR_IMAGE, SECONDARY_CAPTURE
from engine.export.dicom_geometry import affine_from_planes, plane_from_header
from engine.export.nifti import scaled_affine
from engine.render.bicubic import bicubic

from .conftest import dciodvfy, make_nifti, volume_from_dicom, write_dicom_series
from .test_nifti import _corners


def _export(req):
    *_, last = run_export(req)
    assert last.finished
    return [pydicom.dcmread(p) for p in last.outputs], last.outputs


def _no_errors(paths):
    for p in paths:
        errors, _ = dciodvfy(p)
        assert errors == [], f"{p.name}: {errors}"


def test_derived_mr_series_from_dicom_source(dicom_series, tmp_path, small_upscaler):
    paths, vol = dicom_series
    src = [pydicom.dcmread(p) for p in paths]
    dss, outs = _export(ExportRequest(vol, tmp_path / "out", small_upscaler, 2.0, "dicom", include_bicubic=True))
    assert len(dss) == 6  # 3 SR + 3 bicubic
    _no_errors(outs)
    sr, bic = dss[:3], dss[3:]
    for series in (sr, bic):
        assert len({d.SeriesInstanceUID for d in series}) == 1
        assert series[0].SeriesInstanceUID != src[0].SeriesInstanceUID
    assert sr[0].SeriesInstanceUID != bic[0].SeriesInstanceUID
    for d, s in zip(sr, src):
        assert d.SOPClassUID == MR_IMAGE
        assert list(d.ImageType[:2]) == ["DERIVED", "SECONDARY"]
        assert d.SOPInstanceUID != s.SOPInstanceUID
        assert d.StudyInstanceUID == s.StudyInstanceUID
        assert d.FrameOfReferenceUID == s.FrameOfReferenceUID
        assert d.PatientName == s.PatientName and d.PatientID == s.PatientID
        ref = d.SourceImageSequence[0]
        assert ref.ReferencedSOPClassUID == s.SOPClassUID and ref.ReferencedSOPInstanceUID == s.SOPInstanceUID
        assert d.DerivationCodeSequence[0].CodeValue == "113085"
        assert "Meta-SRGAN" in d.DerivationDescription and small_upscaler.info.sha256 in d.DerivationDescription
        assert (d.Rows, d.Columns) == (40, 48)
        assert f"rows {s.Rows} to 40, columns {s.Columns} to 48 pixels" in d.DerivationDescription
        assert d.BitsAllocated == 16 and d.PixelRepresentation == 0 and d.PhotometricInterpretation == "MONOCHROME2"
        # geometry: orientation kept, spacing halved, first pixel centre moved by (1/f - 1)/2 pixels
        assert [float(v) for v in d.ImageOrientationPatient] == [float(v) for v in s.ImageOrientationPatient]
        np.testing.assert_allclose([float(v) for v in d.PixelSpacing], [0.4, 0.35], atol=1e-9)
        ipp, row, col, (dr, dc) = plane_from_header(s)
        want = ipp + (0.5 - 1) / 2 * (dc * row + dr * col)
        np.testing.assert_allclose([float(v) for v in d.ImagePositionPatient], want, atol=1e-4)
        assert float(d.WindowCenter) == float(s.WindowCenter)
        assert "PRIVATE" not in str(d) and not any(e.tag.is_private for e in d)
    # bicubic pixels: the source image zoomed (same result whatever the storage order),
    # clipped to the source's range (ringing is not signal) and rounded
    lo, hi = vol.voxels.min(), vol.voxels.max()
    for d, s in zip(bic, src):
        want = np.clip(np.rint(bicubic(s.pixel_array.astype(np.float32), 2.0)), lo, hi)
        np.testing.assert_allclose(d.pixel_array.astype(float), want, atol=1)


def test_reader_storage_order_does_not_change_the_files(tmp_path):
    paths = write_dicom_series(tmp_path / "src", iop=(0.8, 0.6, 0, -0.6, 0.8, 0))  # oblique in-plane
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    got = []
    for flip in (False, True):
        vol = volume_from_dicom(paths, flip_j=flip)
        dss, outs = _export(ExportRequest(vol, tmp_path / f"o{flip}", None, 2.5, "dicom", uid_seed="s", timestamp=when))
        got.append(dss)
    _no_errors(outs)
    for a, b in zip(*got):
        assert a.ImagePositionPatient == b.ImagePositionPatient
        assert a.ImageOrientationPatient == b.ImageOrientationPatient
        np.testing.assert_array_equal(a.pixel_array, b.pixel_array)


def test_round_trip_through_the_reader(dicom_series, tmp_path):
    from engine.io import load

    _, vol = dicom_series
    _, outs = _export(ExportRequest(vol, tmp_path / "out", None, 3.0, "dicom", slices=(0, 3)))
    back = load(outs[0].parent)
    assert back.shape == (72, 60, 3)
    want = scaled_affine(vol.affine, (3, 3))
    assert np.max(np.abs(_corners(back.affine, (72, 60), (0, 2)) - _corners(want, (72, 60), (0, 2)))) < 1e-4
    want_vox = np.rint(bicubic(vol.voxels[:, :, 1], 3.0)).clip(vol.voxels.min(), vol.voxels.max())
    np.testing.assert_allclose(back.voxels[:, :, 1], want_vox, atol=1)


def test_values_with_rescale_keep_their_units(tmp_path):
    """A source with RescaleSlope 0.5 / intercept -100 (non-integral values): the export
    keeps a slope/intercept that covers the range and round-trips the values."""
    paths = write_dicom_series(tmp_path / "src", slope=(0.5, -100.0))
    vol = volume_from_dicom(paths)
    dss, outs = _export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom"))
    _no_errors(outs[:1])
    d = dss[0]
    assert (float(d.RescaleSlope), float(d.RescaleIntercept)) == (0.5, -100.0)  # the source's own, it covers the range
    values = d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
    want = np.clip(bicubic(vol.voxels[:, :, 0], 2.0), vol.voxels.min(), vol.voxels.max()).T
    np.testing.assert_allclose(values, want, atol=float(d.RescaleSlope))


def test_fine_values_without_a_header_rescale_keep_their_precision(tmp_path):
    """An enhanced multi-frame source keeps its rescale (here 0.01 steps) in per-frame
    groups, not in the top-level header: the export must not round to whole numbers."""
    paths = write_dicom_series(tmp_path / "src")
    vol = volume_from_dicom(paths)
    for h in vol.meta.dicom.headers:
        for kw in ("RescaleSlope", "RescaleIntercept"):
            if kw in h:
                delattr(h, kw)
    vol.voxels[...] = np.round(vol.voxels / 100.0, 2)  # 1.00 .. 35.00 in 0.01 steps
    dss, _ = _export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", slices=0))
    d = dss[0]
    values = d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
    want = np.clip(bicubic(vol.voxels[:, :, 0], 2.0), vol.voxels.min(), vol.voxels.max()).T
    np.testing.assert_allclose(values, want, atol=1e-3)


def test_secondary_capture_from_nifti_keeps_geometry(tmp_path):
    vol = make_nifti(tmp_path / "scan.nii.gz")
    dss, outs = _export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", slices=(0, 2)))
    _no_errors(outs)
    assert all(d.SOPClassUID == SECONDARY_CAPTURE for d in dss)
    assert len({d.StudyInstanceUID for d in dss}) == 1 and len({d.FrameOfReferenceUID for d in dss}) == 1
    affine = affine_from_planes([plane_from_header(d) for d in dss])
    want = scaled_affine(vol.affine, (2, 2))
    # the rebuilt affine may store the slice in another order: compare world corners as sets
    corners_back = _corners(affine, (dss[0].Columns, dss[0].Rows), (0, 1))
    corners_want = _corners(want, (48, 40), (0, 1))
    d = np.linalg.norm(corners_back[:, None, :] - corners_want[None, :, :], axis=2)
    assert np.max(np.min(d, axis=1)) < 1e-4


@pytest.mark.data
def test_real_series_one_slice(tmp_path):
    from tests.conftest import shared_data

    from engine.io import load

    vol = load(shared_data("dicom", "vs-seg-001-t1"))
    dss, outs = _export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", slices=(60, 61)))
    _no_errors(outs)
    src = vol.meta.dicom.headers[60]
    d = dss[0]
    assert (d.Rows, d.Columns) == (1024, 1024)
    assert d.SourceImageSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    ipp, row, col, (dr, dc) = plane_from_header(src)
    np.testing.assert_allclose([float(v) for v in d.ImagePositionPatient], ipp - 0.25 * (dc * row + dr * col), atol=1e-4)


@pytest.mark.parametrize("plane", ["coronal", "sagittal"])
def test_dicom_of_a_reformatted_plane(tmp_path, plane):
    """Coronal or sagittal slices of an axial series as a derived DICOM series: each image
    is the plane's display slice enlarged, placed where it lies in the patient, marked as a
    multiplanar reformat and referencing every source image it was cut from."""
    from engine.io import load
    from engine.io.planes import display_slice, reoriented

    paths = write_dicom_series(tmp_path / "src", n_slices=5)
    vol = volume_from_dicom(paths)
    src = [pydicom.dcmread(p) for p in paths]
    dss, outs = _export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", plane=plane, slices=(2, 4)))
    _no_errors(outs)
    assert [p.name for p in outs] == [f"src_x2_{plane}_bicubic_{k:04d}.dcm" for k in (3, 4)]
    re = reoriented(vol, plane)
    lo, hi = vol.voxels.min(), vol.voxels.max()
    src_uids = [s.SOPInstanceUID for s in src]
    for index, d in zip((2, 3), dss):
        assert d.SOPClassUID == MR_IMAGE and d.PatientID == src[0].PatientID
        assert d.FrameOfReferenceUID == src[0].FrameOfReferenceUID
        assert [c.CodeValue for c in d.DerivationCodeSequence] == ["113085", "113072"]
        assert [r.ReferencedSOPInstanceUID for r in d.SourceImageSequence] == src_uids
        assert "SliceLocation" not in d and plane in d.SeriesDescription
        # the standard orientation of the plane, which is the radiological display
        want_iop = [1, 0, 0, 0, 0, -1] if plane == "coronal" else [0, 1, 0, 0, 0, -1]
        np.testing.assert_allclose([float(v) for v in d.ImageOrientationPatient], want_iop, atol=1e-9)
        shown = display_slice(vol, plane, index).pixels
        assert d.pixel_array.shape == (d.Rows, d.Columns) == (2 * shown.shape[0], 2 * shown.shape[1])
        # the image's own rows and columns, as pixel counts (not fractions, reduced or not)
        assert f"rows {shown.shape[0]} to {d.Rows}, columns {shown.shape[1]} to {d.Columns} pixels" in d.DerivationDescription
        want = np.clip(np.rint(bicubic(shown, 2.0)), lo, hi)
        np.testing.assert_allclose(d.pixel_array.astype(float), want, atol=1)
        # the first pixel's centre is a quarter source pixel inside the plane slice's corner
        corner = re.affine @ np.array([-0.25, -0.25, index, 1.0])
        np.testing.assert_allclose([float(v) for v in d.ImagePositionPatient], corner[:3] * [-1, -1, 1], atol=1e-4)
        # thickness: the source's pixel size along the new normal
        normal_mm = 0.8 if plane == "coronal" else 0.7
        assert float(d.SliceThickness) == pytest.approx(normal_mm)
    # read back, the two images are slices of one volume one source pixel apart
    back = load(outs[0].parent)
    assert back.shape[2] == 2
    assert np.linalg.norm(back.affine[:3, 2]) == pytest.approx(normal_mm, abs=1e-4)
    # a seeded re-export of another plane is another series
    axial, _ = _export(ExportRequest(vol, tmp_path / "ax", None, 2.0, "dicom", slices=(0, 1), uid_seed="s"))
    other, _ = _export(ExportRequest(vol, tmp_path / "re", None, 2.0, "dicom", plane=plane, slices=(0, 1), uid_seed="s"))
    assert axial[0].SeriesInstanceUID != other[0].SeriesInstanceUID


def test_reformat_without_headers_is_secondary_capture(tmp_path):
    vol = make_nifti(tmp_path / "scan.nii.gz", shape=(24, 20, 6))
    dss, outs = _export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", plane="coronal", slices=(0, 2)))
    _no_errors(outs)
    assert all(d.SOPClassUID == SECONDARY_CAPTURE and "SourceImageSequence" not in d for d in dss)
    assert [c.CodeValue for c in dss[0].DerivationCodeSequence] == ["113085", "113072"]


def test_reformat_of_an_enhanced_multiframe_file_references_each_frame(tmp_path, rng):
    """An enhanced MR file (one file, per-frame geometry) reformatted: Secondary Capture
    images, each referencing the source file once per frame it was cut from."""
    from engine import io as eio
    from tests.io.dicom_factory import write_enhanced

    frames = rng.integers(0, 1000, size=(4, 6, 5)).astype(np.int16)
    (tmp_path / "src").mkdir()
    write_enhanced(tmp_path / "src" / "enh.dcm", frames, [(1.0, 2.0, 2.5 * k) for k in range(4)], spacing=(0.5, 0.6))
    (info,) = eio.open_scan(tmp_path / "src" / "enh.dcm")
    vol = eio.load(info)
    dss, outs = _export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", plane="sagittal", slices=(0, 2)))
    _no_errors(outs)
    for d in dss:
        assert d.SOPClassUID == SECONDARY_CAPTURE
        refs = d.SourceImageSequence
        assert sorted(int(r.ReferencedFrameNumber) for r in refs) == [1, 2, 3, 4]
        assert {r.ReferencedSOPInstanceUID for r in refs} == {vol.meta.dicom.sop_instance_uids[0]}
        assert (d.Rows, d.Columns) == (8, 12)  # 4 slices x 2 down (S -> I), 6 rows x 2 across (A -> P)


def test_reformat_of_a_ct_series_drops_what_described_each_axial_image(tmp_path):
    """CT: ImageType's "AXIAL" becomes "REFORMATTED", and the source images' own
    PatientOrientation and exposure values are not copied onto the reformat; the series
    number says the plane; de-identified, the source references are replaced too."""
    from engine.export.dicom import CT_IMAGE

    paths = write_dicom_series(tmp_path / "src", n_slices=4)
    vol = volume_from_dicom(paths)
    for h in vol.meta.dicom.headers:
        h.SOPClassUID, h.Modality, h.ImageType = CT_IMAGE, "CT", ["ORIGINAL", "PRIMARY", "AXIAL"]
        h.PatientOrientation, h.XRayTubeCurrent, h.KVP = ["L", "P"], 200, 120
    src_uids = {str(h.SOPInstanceUID) for h in vol.meta.dicom.headers}
    series_number = int(vol.meta.dicom.headers[0].SeriesNumber)
    dss, _ = _export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", plane="coronal", slices=(0, 1)))
    d = dss[0]
    assert d.SOPClassUID == CT_IMAGE and list(d.ImageType) == ["DERIVED", "SECONDARY", "REFORMATTED"]
    assert "PatientOrientation" not in d and "XRayTubeCurrent" not in d and int(d.KVP) == 120
    assert int(d.SeriesNumber) == series_number + 1100
    anon, _ = _export(ExportRequest(vol, tmp_path / "anon", None, 2.0, "dicom", plane="coronal", slices=(0, 1),
                                    anonymize=True))
    refs = {r.ReferencedSOPInstanceUID for r in anon[0].SourceImageSequence}
    assert len(refs) == 4 and not refs & src_uids


def test_a_stack_with_missing_slices_is_not_reformatted(tmp_path):
    from engine.export import ExportRequestError, plan_export

    import engine.io as eio

    paths = write_dicom_series(tmp_path / "src", n_slices=5)
    paths[2].unlink()
    vol = eio.load(tmp_path / "src")  # the reader sees the gap and says so
    assert vol.meta.dicom.irregular_stack and any("missing" in w for w in vol.meta.warnings)
    with pytest.raises(ExportRequestError, match="not evenly spaced"):
        plan_export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", plane="coronal"))
    plan_export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom", plane="axial"))  # the stored plane is fine
