"""The reading tools' plain-Python policy: measurements, MR windows, cine, the
crosshair's plane mapping, the tag tree, where a file lands, the series picker's rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.io import display_slice
from engine.io.volume import PLANES, SeriesInfo, Volume
from viewer.model import measure
from viewer.model.cine import Cine
from viewer.model.crosshair import from_voxel, to_voxel, voxel_index
from viewer.model.mr_windows import MR_PERCENTILES, foreground, mr_presets
from viewer.model.series_rows import date_time, series_row, sorted_rows


# -- measurements -------------------------------------------------------------------
def test_distance_uses_each_axis_spacing():
    # 3 columns of 0.5 mm and 4 rows of 1.5 mm (a coronal reformat): sqrt(1.5² + 6²)
    assert measure.distance_mm((1, 1), (4, 5), (1.5, 0.5)) == pytest.approx(math.sqrt(1.5**2 + 6.0**2))
    assert measure.distance_mm((0, 0), (10, 0), (2.0, 0.25)) == pytest.approx(2.5)


def test_areas_are_the_shapes_own():
    box = (0.0, 0.0, 4.0, 2.0)  # 4 columns x 2 rows
    assert measure.area_mm2("rectangle", box, (1.5, 0.5)) == pytest.approx(4 * 0.5 * 2 * 1.5)
    assert measure.area_mm2("ellipse", box, (1.5, 0.5)) == pytest.approx(math.pi * 1.0 * 1.5)


def test_rectangle_stats_over_the_pixels_whose_centres_are_inside():
    px = np.arange(20, dtype=np.float32).reshape(4, 5)
    # box covers centres of rows 1-2, columns 1-3: values 6,7,8,11,12,13
    s = measure.region_stats("rectangle", (1.0, 1.0, 4.0, 3.0), px)
    vals = np.array([6, 7, 8, 11, 12, 13], float)
    assert s.n == 6 and s.mean == pytest.approx(vals.mean()) and s.sd == pytest.approx(vals.std())
    assert (s.min, s.max) == (6, 13)
    # a box that misses every centre
    assert measure.region_stats("rectangle", (1.6, 1.6, 2.4, 2.4), px) is None


def test_ellipse_stats_by_hand():
    px = np.zeros((5, 5), np.float32)
    px[2, 2] = 10.0
    px[0, 0] = 99.0  # the corner is outside the inscribed ellipse
    s = measure.region_stats("ellipse", (0.0, 0.0, 5.0, 5.0), px)
    # centres inside the circle of radius 2.5 about (2.5, 2.5): 21 of 25 (the 4 corners out)
    assert s.n == 21
    assert s.max == 10.0 and s.min == 0.0
    assert s.mean == pytest.approx(10.0 / 21)


def test_frame_stats_on_a_zoomed_grid_match_the_native_ones_for_a_constant_zoom():
    # a frame that is the native slice repeated 2x: its statistics equal the native ones
    px = np.arange(36, dtype=np.float32).reshape(6, 6)
    big = np.repeat(np.repeat(px, 2, 0), 2, 1)
    box = (1.0, 2.0, 4.0, 5.0)
    whole = measure.frame_region_stats("rectangle", box, big, (0, 0, 12, 12), (12, 12), (6, 6))
    native = measure.region_stats("rectangle", box, px)
    assert whole.complete and whole.stats.mean == pytest.approx(native.mean) and whole.stats.n == 4 * native.n
    # a frame of part of the grid: only the part it holds, and it says so
    part = measure.frame_region_stats("rectangle", box, big[:6, :], (0, 0, 6, 12), (12, 12), (6, 6))
    assert not part.complete and part.stats.n < whole.stats.n


def test_measurement_follows_the_mirror_and_stays_on_its_slice():
    m = measure.Measurement("ruler", (10.0, 5.0), (30.0, 5.0), "axial", 3, True, 100)
    assert m.on("axial", 4, True) is None
    n = m.on("axial", 3, False)
    assert (n.p0, n.p1) == ((90.0, 5.0), (70.0, 5.0))
    s = measure.Measurement("ruler", (10.0, 5.0), (30.0, 5.0), "sagittal", 3, True, 100)
    assert s.on("sagittal", 3, False).p0 == (10.0, 5.0)


def test_describe_says_mm_units_and_sr():
    px = np.full((8, 8), 100.0, np.float32)
    ruler = measure.Measurement("ruler", (0, 0), (3, 4), "axial", 0, True, 8)
    assert measure.describe(ruler, px, (1.0, 1.0)) == ["5.0 mm (5.0 px)"]
    roi = measure.Measurement("rectangle", (0, 0), (2, 2), "axial", 0, True, 8)
    sr = measure.FrameStats(measure.Stats(101.0, 2.0, 97.0, 105.0, 16), True)
    lines = measure.describe(roi, px, (0.5, 0.5), "HU", sr)
    assert lines[0] == "area 1.0 mm² · 4 px"
    assert lines[1] == "mean 100.0 HU ± 0 · min 100.0 max 100.0"
    assert lines[2] == "SR mean 101.0 HU ± 2.0 · min 97.0 max 105.0"
    assert measure.stats_text(measure.Stats(0.00081, 0.00012, 0.0005, 1234.4, 3)) == "mean 0.00081 ± 0.00012 · min 0.0005 max 1234"


# -- MR windows ---------------------------------------------------------------------
def test_mr_presets_are_percentiles_of_the_foreground():
    rng = np.random.default_rng(0)
    air = rng.normal(5, 2, 50000)
    tissue = np.linspace(200, 1200, 50000)
    vox = np.concatenate([air, tissue]).astype(np.float32)
    fg = foreground(vox)
    assert 20 < fg.threshold < 200  # the robust threshold splits air from tissue
    assert fg.values.size == 50000
    presets = {p.name: p for p in mr_presets(vox)}
    assert list(presets) == list(MR_PERCENTILES)
    t1 = presets["MR T1"]
    lo, hi = t1.center - t1.width / 2, t1.center + t1.width / 2
    assert lo == pytest.approx(200 + 1000 * 0.01, abs=1) and hi == pytest.approx(200 + 1000 * 0.995, abs=1)
    flair = presets["MR FLAIR"]
    assert flair.center - flair.width / 2 == pytest.approx(250, abs=1)


def test_mr_presets_of_a_constant_image_are_finite():
    p = mr_presets(np.full((4, 4, 4), 7.0, np.float32))
    assert all(np.isfinite(w.center) and w.width > 0 for w in p)


# -- cine -------------------------------------------------------------------------
def test_cine_loops_and_steps_fps():
    c = Cine(fps=10)
    assert c.interval_ms == 100
    assert [c.next_index(i, 3) for i in range(3)] == [1, 2, 0]
    assert c.faster() == 12 and c.slower() == 10 and c.slower() == 8
    c.fps = 30
    assert c.faster() == 30
    c.fps = 1
    assert c.slower() == 1


# -- crosshair --------------------------------------------------------------------
def _volume(affine):
    vox = np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7)
    return Volume(vox, affine)


@pytest.mark.parametrize("affine", [
    np.diag([0.5, 0.7, 1.5, 1.0]),
    np.diag([-0.5, 0.7, -1.5, 1.0]),
    np.array([[0, 0, 1.5, 0], [0.5, 0, 0, 0], [0, -0.7, 0, 0], [0, 0, 0, 1.0]]),  # a sagittal-stored scan
])
@pytest.mark.parametrize("radiological", [True, False])
def test_crosshair_maps_pixels_to_the_same_voxel_in_every_plane(affine, radiological):
    vol = _volume(affine)
    for plane in PLANES:
        n = vol.shape[[0, 1, 2][0]]  # any slice
        sl = display_slice(vol, plane, 1, radiological)
        rows, cols = sl.pixels.shape
        r, c = rows - 2, 1
        e = to_voxel(vol, plane, 1, c + 0.5, r + 0.5, radiological)
        ijk = voxel_index(vol, e)
        assert vol.voxels[ijk] == sl.pixels[r, c]
        for other in PLANES:  # the same voxel is under the point on the other planes' slices
            index, u, v = from_voxel(vol, other, e, radiological)
            osl = display_slice(vol, other, index, radiological)
            assert osl.pixels[int(v), int(u)] == vol.voxels[ijk]
        assert from_voxel(vol, plane, e, radiological) == pytest.approx((1, c + 0.5, r + 0.5))
        del n


def test_point_text_names_voxel_value_and_world_mm():
    from viewer.model.crosshair import point_text

    vol = _volume(np.diag([0.5, 0.7, 1.5, 1.0]))
    vol.affine[:3, 3] = (10, 20, 30)
    # the middle of voxel [1, 2, 3]
    assert point_text(vol, (1.5, 2.5, 3.5)) == (
        f"Point: voxel [1, 2, 3] = {vol.voxels[1, 2, 3]:.5g} · RAS (10.5, 21.4, 34.5) mm")


# -- tag tree --------------------------------------------------------------------
def test_tag_tree_shows_sequences_and_filters():
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    from viewer.model.dicom_tree import count, dataset_nodes, filtered

    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ds.Modality = "MR"
    item = Dataset()
    item.CodeMeaning = "Multiplanar reformatting"
    ds.DerivationCodeSequence = Sequence([item])
    nodes = dataset_nodes(ds)
    assert [n.keyword for n in nodes] == ["Modality", "DerivationCodeSequence", "PatientName"]  # tag order
    nodes = [nodes[2], nodes[0], nodes[1]]
    assert nodes[0].tag == "(0010,0010)" and nodes[0].vr == "PN" and nodes[0].value == "Doe^Jane"
    seq = nodes[2]
    assert seq.value == "1 item(s)" and seq.children[0].tag == "Item 1"
    assert seq.children[0].children[0].value == "Multiplanar reformatting"
    assert count(nodes) == 5
    hit = filtered(nodes, "reformat")
    assert [n.keyword for n in hit] == ["DerivationCodeSequence"] and count(hit) == 3
    assert [n.keyword for n in filtered(nodes, "0010,0010")] == ["PatientName"]
    assert filtered(nodes, "nothing like this") == []


# -- series picker rows -------------------------------------------------------------
class _Series:
    def __init__(self, number, date, time, maker):
        from pydicom.dataset import Dataset

        ds = Dataset()
        ds.SeriesDate, ds.SeriesTime, ds.Manufacturer = date, time, maker
        self.number = number
        self.first = type("S", (), {"file": type("F", (), {"header": ds})()})()


def test_series_rows_have_number_date_maker_and_sort():
    a = SeriesInfo("dicom", [], "T2 ax", "MR", (256, 256, 20), 20, key=_Series(5, "20240131", "142233.5", "SIEMENS"))
    b = SeriesInfo("dicom", [], "T1 ax", "MR", (256, 256, 20), 20, key=_Series(3, "20240131", "141000", "SIEMENS"))
    c = SeriesInfo("nifti", [], "vol", "", (10, 10, 4), 1)
    ra = series_row(a)
    assert ra.cells() == ("5", "T2 ax", "MR", "2024-01-31 14:22:33", "SIEMENS", "256x256x20", "20 / 20")
    assert [i for i, _ in sorted_rows([a, b, c])] == [2, 1, 0]  # undated first, then by time
    assert date_time("20240131", "") == "2024-01-31"


# -- About: lineage in words ------------------------------------------------------------
def test_lineage_reads_as_text_not_json():
    from viewer.model.readable import readable

    stages = [{"init": "w4.safetensors", "sha256": "043ad33777c981c0", "updates": 34600,
               "stages": [{"name": "pretrain", "updates": 600, "data": ["skimage:skimage.data"],
                           "losses": {"l1": 1.0, "adversarial": 0.0}, "batch": 8, "anisotropic": 0.3, "lr": 0.0001}]},
              {"name": "mri", "updates": 6000, "losses": {"l1": 1.0}, "ema": 0.999}]
    out = readable(stages)
    assert "{" not in out and '"' not in out
    assert "started from <b>w4.safetensors</b> (sha256 043ad33777c9…), 34600 updates, made by:" in out
    assert "<b>pretrain</b>: 600 updates, batch 8, learning rate 0.0001, per-axis zooms 30%, loss l1 1<br>data: skimage:skimage.data" in out
    assert "<b>mri</b>: 6000 updates, running average 0.999, loss l1 1" in out
    assert readable({"channels": 64, "neck": True}) == "channels 64, neck yes"


# -- where one file of a series lands ---------------------------------------------------
@pytest.mark.data
def test_one_file_of_a_real_series_lands_on_its_image():
    import pydicom

    from engine.io import load, open_scan
    from tests.conftest import shared_data
    from viewer.model.landing import landing_slice

    folder = shared_data("dicom", "vs-seg-001-t1")
    picked = sorted(folder.glob("*.dcm"))[37]
    vol = load(open_scan(picked, whole_series=True)[0])
    plane, index = landing_slice(vol, picked)
    ds = pydicom.dcmread(picked)
    shown = display_slice(vol, plane, index).pixels
    stored = ds.pixel_array * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    assert plane == "axial"
    np.testing.assert_allclose(shown, stored, atol=1e-3)
    assert landing_slice(vol, folder) is None  # a folder: the middle slice, as before
