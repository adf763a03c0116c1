"""PNG (windowed 8-bit) and 16-bit TIFF exports along a plane, and what every export
promises: round(r n) pixels, the scale rules, progress, reproducible bytes."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest
import tifffile
from PIL import Image

from engine.export import ExportRequest, ExportRequestError, plan_export, run_export
from engine.export.enlarge import enlarge
from engine.geometry import output_size
from engine.io import display_slice, n_slices
from engine.io.volume import WindowPreset
from engine.render.bicubic import bicubic, resample

WHEN = datetime(2024, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


def _run(req):
    reports = list(run_export(req))
    assert reports[-1].finished
    return reports


def test_png_is_the_windowed_enlarged_display_slice(nifti_volume, tmp_path):
    vol = nifti_volume
    win = WindowPreset("test", 100.0, 60.0)
    reports = _run(ExportRequest(vol, tmp_path, None, 2.5, "png", plane="coronal", slices=(3, 5), window=win))
    outs = reports[-1].outputs
    assert [p.name for p in outs] == ["scan_x2.5_coronal_bicubic_0004.png", "scan_x2.5_coronal_bicubic_0005.png"]
    assert [(r.done, r.total) for r in reports] == [(0, 2), (1, 2), (2, 2), (2, 2)]
    assert [r.message for r in reports[1:3]] == ["slice 4", "slice 5"]  # counted from 1, as the overlay
    d = display_slice(vol, "coronal", 3)
    want = np.clip(np.rint((bicubic(d.pixels, 2.5).astype(np.float64) - 70.0) * 255 / 60), 0, 255)
    img = Image.open(outs[0])
    assert img.mode == "L"
    got = np.asarray(img)
    assert got.shape == (round(2.5 * d.pixels.shape[0]), round(2.5 * d.pixels.shape[1]))
    assert np.max(np.abs(got.astype(int) - want)) <= 1
    desc = json.loads(img.text["Description"])
    assert desc["window"]["center"] == 100.0 and desc["slice"]["plane"] == "coronal"
    assert desc["slice"]["letters"]["left"] == d.letters[2]
    # pHYs holds the true pixel size: source size / (n_out / n_in) per axis (3 rows -> 8, not 7.5)
    fy, fx = got.shape[0] / d.pixels.shape[0], got.shape[1] / d.pixels.shape[1]
    assert got.shape[0] == 8 and d.pixels.shape[0] == 3
    dpi = img.info["dpi"]
    assert dpi[0] == pytest.approx(25.4 / (d.spacing[1] / fx), rel=1e-3)
    assert dpi[1] == pytest.approx(25.4 / (d.spacing[0] / fy), rel=1e-3)


def test_tiff_keeps_the_full_range_and_records_the_mapping(dicom_series, tmp_path, small_upscaler):
    _, vol = dicom_series
    out = _run(ExportRequest(vol, tmp_path / "x.tif", small_upscaler, 2.0, "tiff", plane="axial", include_bicubic=True))[-1].outputs
    assert [p.name for p in out] == ["x.tif", "x_bicubic.tif"]
    with tifffile.TiffFile(out[1]) as tif:
        assert len(tif.pages) == n_slices(vol, "axial")
        page = tif.pages[1]
        data = page.asarray()
        desc = json.loads(page.description)
    assert data.dtype == np.uint16
    m = desc["value_mapping"]
    values = data * m["slope"] + m["intercept"]
    d = display_slice(vol, "axial", 1)
    want = np.clip(bicubic(d.pixels, 2.0), vol.voxels.min(), vol.voxels.max())
    np.testing.assert_allclose(values, want, atol=0.5 * m["slope"] + 1e-6)
    assert desc["window"]["center"] == float(vol.meta.windows[0].center)
    assert desc["method"] == "bicubic" and desc["slice"]["index"] == 1


def test_scale_above_4_is_sr_at_4_then_bicubic(nifti_volume, small_upscaler):
    img = nifti_volume.voxels[:, :, 0]
    rng = (50.0, 150.0)
    got = enlarge(img, 5.0, small_upscaler, rng)
    want = resample(small_upscaler.upscale(img, 4.0, rng), (120, 100))
    assert got.shape == (120, 100)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_requests_that_cannot_be_done_are_refused_before_any_work(nifti_volume, tmp_path, small_upscaler):
    v = nifti_volume
    cases = [
        (dict(upscaler=small_upscaler, scale=1.0), "Meta-SRGAN enlarges"),
        (dict(scale=-2), "positive"),
        (dict(format="nifti", plane="oblique"), "plane must be"),
        (dict(format="png", plane="oblique"), "plane must be"),
        (dict(slices=(2, 9)), "not inside the 3 slices"),
        (dict(format="jpeg"), "format must be"),
        (dict(format="png", slices=(0, 2), destination=tmp_path / "one.png"), "holds one slice"),
        (dict(scale=2000), "pixel limit"),
        (dict(format="png", window=WindowPreset("flat", 100.0, 0.0)), "positive width"),
        (dict(upscaler=small_upscaler, intensity_range=(5.0, 5.0)), "lo < hi"),
    ]
    for kwargs, message in cases:
        args = dict(volume=v, destination=tmp_path / "o", upscaler=None, scale=2.0, format="nifti") | kwargs
        with pytest.raises(ExportRequestError, match=message):
            plan_export(ExportRequest(**args))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.nii.gz"]


def test_bicubic_may_shrink(nifti_volume, tmp_path):
    out = _run(ExportRequest(nifti_volume, tmp_path / "s.nii", None, 0.5, "nifti"))[-1].outputs[0]
    import nibabel as nib

    assert nib.load(str(out)).shape == (12, 10, 3)


@pytest.mark.parametrize("fmt", ["png", "tiff", "nifti", "dicom"])
def test_same_request_same_bytes(dicom_series, tmp_path, small_upscaler, fmt):
    """What the GUI and the batch tool both rely on: identical requests give identical files."""
    _, vol = dicom_series
    blobs = []
    for run in ("a", "b"):
        req = ExportRequest(vol, tmp_path / run, small_upscaler, 2.0, fmt, slices=(0, 2), uid_seed="u", timestamp=WHEN)
        blobs.append([p.read_bytes() for p in _run(req)[-1].outputs])
    assert blobs[0] == blobs[1]


def test_value_mapping_covers_the_range():
    from engine.export.value_mapping import ValueMapping, VolumeStats

    ct = ValueMapping.for_stats(VolumeStats(-1024.0, 3071.0, True))
    assert (ct.slope, ct.intercept) == (1.0, -1024.0)
    mr = ValueMapping.for_stats(VolumeStats(0.0, 4095.0, True))
    assert (mr.slope, mr.intercept) == (1.0, 0.0)
    f = ValueMapping.for_stats(VolumeStats(-0.25, 1.75, False))
    stored = f.to_uint16(np.array([-1.0, -0.25, 0.5, 1.75, 9.0]))
    assert stored[0] == stored[1] == 0 and stored[-1] == stored[-2] <= 65535
    np.testing.assert_allclose(stored[2] * f.slope + f.intercept, 0.5, atol=f.slope)


def test_stored_index_maps_the_viewers_slice_to_k(dicom_series, nifti_volume):
    from engine.export import stored_index

    _, vol = dicom_series  # axial stack: axial display slice i is some stored k
    for i in range(n_slices(vol, "axial")):
        k = stored_index(vol, "axial", i)
        np.testing.assert_array_equal(np.sort(display_slice(vol, "axial", i).pixels, axis=None),
                                      np.sort(vol.voxels[:, :, k], axis=None))
    assert stored_index(vol, "coronal", 0) is None and stored_index(vol, "sagittal", 0) is None


def test_a_pair_of_scales_exports_each_axis_at_its_own_zoom(nifti_volume, tmp_path, small_upscaler):
    """(r_y, r_x): a reformat exported at its true aspect.  Each axis gets round(r n)
    pixels, the SR stream is the engine's per-axis render, and the provenance and file
    names carry both factors."""
    vol = nifti_volume
    reports = _run(ExportRequest(vol, tmp_path, small_upscaler, (5.5, 2.0), "png", plane="coronal", slices=3,
                                 include_bicubic=True, window=WindowPreset("w", 100.0, 60.0), timestamp=WHEN))
    outs = sorted(reports[-1].outputs)
    assert [p.name for p in outs] == ["scan_x5.5x2_coronal_bicubic_0004.png", "scan_x5.5x2_coronal_sr_0004.png"]
    d = display_slice(vol, "coronal", 3)
    want_shape = (output_size(d.pixels.shape[0], 5.5), 2 * d.pixels.shape[1])  # 3 rows -> 17 (16.5 rounds up)
    for p in outs:
        assert np.asarray(Image.open(p)).shape == want_shape
    desc = json.loads(Image.open(outs[1]).text["Description"])
    assert desc["scale"] == [5.5, 2.0] and desc["sr_scale"] == [4.0, 2.0]
    assert "x4 (rows) x 2 (columns) then bicubic to x5.5 (rows) x 2 (columns)" in desc["description"]
    assert enlarge(d.pixels, (5.5, 2.0), small_upscaler).shape == want_shape


@pytest.mark.parametrize("scale, sr, message", [
    ((3.0, 1.0), True, "bicubic method"),
    ((2.0, -1.0), False, "positive"),
    ((1, 2, 3), False, "pair"),
])
def test_bad_pairs_are_refused(nifti_volume, tmp_path, scale, sr, message, small_upscaler):
    with pytest.raises(ExportRequestError, match=message):
        plan_export(ExportRequest(nifti_volume, tmp_path, small_upscaler if sr else None, scale, "png", plane="coronal"))


@pytest.mark.parametrize("fmt", ["nifti", "dicom"])
def test_a_pair_for_stored_slices_is_refused(nifti_volume, tmp_path, fmt):
    with pytest.raises(ExportRequestError, match="one zoom factor"):
        plan_export(ExportRequest(nifti_volume, tmp_path, None, (3.0, 2.0), fmt))


def test_an_equal_pair_is_the_plain_zoom(nifti_volume, tmp_path):
    request = ExportRequest(nifti_volume, tmp_path, None, (2.5, 2.5), "png", plane="axial", slices=0)
    plan = plan_export(request)
    assert request.scale == (2.5, 2.5)  # the caller's request is left as it was
    assert plan.request.scale == 2.5 and [p.name for p in plan.files()] == ["scan_x2.5_axial_bicubic_0001.png"]
