"""The reading tools in the real window (offscreen): each action exists and does its job."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from viewer.model import measure
from viewer.model.crosshair import from_voxel, voxel_index

from .conftest import wait_frames
from .fakes import synthetic_volume


def drag(qtbot, pane, start, end, button=Qt.LeftButton):
    vp = pane.viewport()
    qtbot.mousePress(vp, button, pos=QPoint(*start))
    qtbot.mouseMove(vp, QPoint(*end))
    qtbot.mouseRelease(vp, button, pos=QPoint(*end))


def test_ruler_measures_mm_on_the_native_grid(window, qtbot):
    tools, pane = window.tools, window.view.right
    window.tools.actions["tool_ruler"].trigger()
    assert tools.measure.mode == "ruler"
    vp = window.live.viewport(pane)
    with qtbot.waitSignal(tools.measure.measured) as got:
        drag(qtbot, pane, (100, 100), (220, 190))
    m = tools.measure.items[-1]
    assert (m.shape, m.plane, m.index) == ("ruler", "axial", window.state.index)
    assert m.p0 == pytest.approx(vp.to_slice(100, 100)) and m.p1 == pytest.approx(vp.to_slice(220, 190))
    d = measure.distance_mm(m.p0, m.p1, window.live.slice.spacing)
    assert got.args[0][0].startswith(f"{d:.1f} mm")
    # drawn on both panes, and only on its own slice
    drawn = [i for items in tools.measure._graphics[window.view.left].values() for i in items]
    assert any(getattr(i, "textItem", None) is not None for i in drawn)
    window.state.step_slice(1)
    assert tools.measure.visible() == []
    window.state.step_slice(-1)
    assert len(tools.measure.visible()) == 1
    qtbot.keyClick(pane, Qt.Key_Delete)
    assert tools.measure.items == []
    # Esc in the middle of a drag drops the half-drawn ruler
    vpw = pane.viewport()
    qtbot.mousePress(vpw, Qt.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(vpw, QPoint(200, 200))
    assert len(tools.measure._graphics[pane]) == 1  # the preview
    qtbot.keyClick(pane, Qt.Key_Escape)
    assert tools.measure.mode == "navigate"
    assert tools.measure._graphics[pane] == {} and tools.measure.items == []
    qtbot.mouseRelease(vpw, Qt.LeftButton, pos=QPoint(200, 200))
    assert tools.measure.items == []


def test_ellipse_roi_has_native_and_sr_statistics(window, qtbot):
    tools, pane = window.tools, window.view.right
    window.tools.actions["tool_ellipse"].trigger()
    drag(qtbot, pane, (150, 120), (260, 230))
    m = tools.measure.items[-1]
    wait_frames(qtbot, window.live)
    lines = tools.measure.describe(m)
    native = measure.region_stats("ellipse", m.box, window.live.source.pixels())
    assert native.n > 100
    assert lines[1] == measure.stats_text(native)
    # the fake engine's SR is bicubic + 1: over the same region the SR mean is 1 above bicubic's
    live = window.live
    bic = live.bicubic
    req = bic.request
    bic_stats = measure.frame_region_stats("ellipse", m.box, bic.pixels, req.region, req.grid_shape, req.pixels.shape).stats
    sr_stats = measure.frame_region_stats("ellipse", m.box, live.sr.pixels, req.region, req.grid_shape, req.pixels.shape).stats
    assert sr_stats.mean == pytest.approx(bic_stats.mean + 1.0, rel=1e-5)
    assert lines[2] == "SR " + measure.stats_text(sr_stats)
    area = measure.area_mm2("ellipse", m.box, live.slice.spacing)
    assert lines[0].startswith(f"area {area:.1f} mm²")


def test_click_then_plane_key_lands_on_the_point(window, qtbot):
    pane, s, vol = window.view.right, window.state, window.live.scan.volume
    with qtbot.waitSignal(window.tools.crosshair.pointed) as said:
        qtbot.mouseClick(pane.viewport(), Qt.LeftButton, pos=QPoint(180, 140))
    e = window.tools.crosshair.point
    assert said.args[0].startswith("Point: voxel [")
    assert e is not None
    clicked = voxel_index(vol, e)
    assert window.tools.crosshair._marks[pane]  # the mark is drawn
    qtbot.keyClick(pane, Qt.Key_2)
    assert s.plane == "coronal"
    index, u, v = from_voxel(vol, "coronal", e, s.radiological)
    assert s.index == index and s.center == pytest.approx((u, v))
    sl = window.live.slice
    assert window.live.source.pixels()[int(v), int(u)] == vol.voxels[clicked]
    qtbot.keyClick(pane, Qt.Key_3)
    assert s.plane == "sagittal"
    index, u, v = from_voxel(vol, "sagittal", e, s.radiological)
    assert window.live.source.pixels()[int(v), int(u)] == vol.voxels[clicked]
    qtbot.keyClick(pane, Qt.Key_1)
    assert s.plane == "axial" and voxel_index(vol, window.tools.crosshair.point) == clicked
    qtbot.keyClick(pane, Qt.Key_X)  # off: the point is forgotten, 1/2/3 behave as before
    assert window.tools.crosshair.point is None


def test_cine_plays_and_stops(window, qtbot):
    cine, s = window.tools.cine, window.state
    start = s.index
    window.tools.actions["cine_faster"].trigger()
    assert cine.cine.fps == 10
    window.tools.actions["cine"].trigger()
    assert cine.playing
    qtbot.waitUntil(lambda: s.index != start, timeout=3000)
    window.tools.actions["cine"].trigger()
    assert not cine.playing


def test_stepping_time_points_keeps_the_view(make_window, qtbot, tmp_path):
    import nibabel as nib

    from engine import io as reader
    from viewer.scan.scan import Scan

    rng = np.random.default_rng(0)
    data = rng.normal(100, 10, (40, 36, 6, 3)).astype(np.float32)
    data[..., 1] += 1000  # volume 2 is told apart by its values
    path = tmp_path / "fmri.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 3.0, 1.0])), str(path))
    info = reader.open_scan(path)[0]
    win = make_window()
    win.show_scan(Scan(reader.load(info, 0), path, series=info))
    s = win.state
    s.set_index(2)
    win.live.zoom_by(2.0)
    before = (s.plane, s.index, s.zoom, s.center, s.window)
    assert win.tools.time_label.text() == "Volume 1/3"
    win.tools.actions["next_volume"].trigger()
    qtbot.waitUntil(lambda: win.tools.time_label.text() == "Volume 2/3", timeout=10000)
    assert (s.plane, s.index, s.zoom, s.center, s.window) == before
    assert win.live.source.pixels().mean() > 900
    win.tools.actions["prev_volume"].trigger()  # kept: no reload
    assert win.tools.time_label.text() == "Volume 1/3" and win.live.source.pixels().mean() < 200


def test_opening_one_file_lands_on_it_and_tags_show_its_header(make_window, qtbot, tmp_path):
    from ..io.dicom_factory import write_series

    vol = np.arange(7 * 20 * 24, dtype=np.int16).reshape(7, 20, 24)
    paths, _ = write_series(tmp_path / "series", vol, description="seven slices")
    order = np.random.default_rng(3).permutation(7)  # write_series' file order
    n = 2
    win = make_window()
    with qtbot.waitSignal(win.scan_shown, timeout=20000):
        win.open_path(paths[n])
    assert (win.state.plane, win.state.index) == ("axial", order[n])
    np.testing.assert_array_equal(win.live.source.pixels(), vol[order[n]])
    dlg = win.tools.tag_browser()
    assert str(paths[n]) in dlg.where.text()
    dlg.filter.setText("InstanceNumber")
    assert dlg.tree.topLevelItemCount() == 1
    assert dlg.tree.topLevelItem(0).text(3) == str(order[n] + 1)
    dlg.filter.setText("")
    assert dlg.tree.topLevelItemCount() > 20
    win.state.step_slice(1)  # the browser follows the slice (once the slices stop)
    qtbot.waitUntil(lambda: f"Image {order[n] + 2} of 7" in dlg.where.text(), timeout=3000)
    dlg.filter.setText("InstanceNumber")
    assert dlg.tree.topLevelItem(0).text(3) == str(order[n] + 2)
    assert dlg.where.text().startswith(f"Image {order[n] + 2} of 7: ")
    win.state.set_plane("coronal")  # a reformat: the stored image through the middle of the view
    qtbot.waitUntil(lambda: "reformatted view" in dlg.where.text(), timeout=3000)
    dlg.close()


def test_loupe_renders_sr_at_twice_the_zoom(window, qtbot, fake_upscaler):
    pane, live = window.view.right, window.live
    loupe = window.tools.loupe
    zoom, center = window.state.zoom, window.state.center
    qtbot.mouseMove(pane.viewport(), QPoint(200, 180))
    with qtbot.waitSignal(loupe.shown, timeout=10000, check_params_cb=lambda kind, _s: kind == "sr"):
        qtbot.keyPress(pane, Qt.Key_M)
    kind, scale, region = loupe.last
    from viewer.model.viewport import axis_scales

    assert scale == pytest.approx(axis_scales(2 * zoom, live.slice.spacing))
    assert region[2] <= 260 and region[3] <= 260
    assert loupe.widgets[pane].isVisible()
    assert (window.state.zoom, window.state.center) == (zoom, center)  # the view stays put
    # a held key on an X server without detectable autorepeat: release/press pairs
    gen = loupe._gen
    for _ in range(3):
        qtbot.keyRelease(pane, Qt.Key_M)
        qtbot.keyPress(pane, Qt.Key_M)
    assert loupe._gen == gen and loupe.active and loupe.widgets[pane].isVisible()
    qtbot.keyRelease(pane, Qt.Key_M)  # let go
    qtbot.waitUntil(lambda: not loupe.widgets[pane].isVisible(), timeout=2000)
    assert not loupe.active


def test_mr_presets_in_the_window_menu(window, qtbot):
    mr = window.tools.mr
    qtbot.waitUntil(lambda: len(mr.actions) == 4, timeout=5000)
    labels = [a.text() for a in window.menus.window_menu.actions()]
    assert any(t.startswith("MR T1 (W ") for t in labels)
    t2 = next(a for a in mr.actions if a.text().startswith("MR T2"))
    t2.trigger()
    p = next(p for p in mr.presets if p.name == "MR T2")
    assert window.state.window == pytest.approx((p.center, p.width))


def test_tools_on_the_bundled_sample(make_window, qtbot):
    from viewer.resources import SAMPLE_SCAN

    win = make_window()
    with qtbot.waitSignal(win.scan_shown, timeout=30000):
        win.open_sample()
    wait_frames(qtbot, win.live)
    names = {"tool_ruler", "tool_rectangle", "tool_ellipse", "crosshair", "cine", "next_volume", "tags"}
    assert names <= set(win.tools.actions)
    win.tools.actions["tool_rectangle"].trigger()
    drag(qtbot, win.view.right, (300, 200), (360, 260))
    m = win.tools.measure.items[-1]
    sl = win.live.slice
    native = measure.region_stats("rectangle", m.box, win.live.source.pixels())
    assert native is not None and native.n > 10
    dlg = win.tools.tag_browser()
    assert "NIfTI header" in dlg.where.text() and SAMPLE_SCAN.name in dlg.where.text()
    dlg.filter.setText("pixdim")
    assert dlg.tree.topLevelItemCount() == 1
    dlg.close()


def test_empty_window_prompts_to_open(make_window, qtbot):
    win = make_window()
    assert win.prompt.isVisible()
    win.opener.cancelled.emit()
    assert win.prompt.isVisible()
    from viewer.scan.scan import Scan

    win.show_scan(Scan(synthetic_volume(), label="phantom"))
    assert not win.prompt.isVisible()


def test_series_picker_lists_number_date_maker_and_sorts(qtbot, tmp_path):
    from engine import io as reader
    from viewer.widgets.series_picker import SeriesPicker

    from ..io.dicom_factory import write_series

    import pydicom

    vol = np.zeros((3, 8, 8), np.int16)
    for number, desc, maker in ((10, "T2 late", "SIEMENS"), (9, "T1 early", "GE")):
        paths, _ = write_series(tmp_path / f"s{number}", vol, series_number=number, description=desc)
        for p in paths:
            ds = pydicom.dcmread(p)
            ds.Manufacturer = maker
            ds.save_as(p)
    series = reader.open_scan(tmp_path)
    picker = SeriesPicker(series, str(tmp_path))
    qtbot.addWidget(picker)
    t = picker.table
    header = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    assert header[:5] == ["No.", "Description", "Modality", "Date / time", "Manufacturer"]
    assert [t.item(r, 0).text() for r in range(2)] == ["9", "10"]  # by number, as numbers
    assert [t.item(r, 4).text() for r in range(2)] == ["GE", "SIEMENS"]
    assert t.item(0, 3).text().startswith("2024-01-02")
    t.sortItems(0, Qt.DescendingOrder)
    assert t.item(0, 0).text() == "10"
    t.selectRow(0)
    assert picker.chosen().description == "T2 late"


def test_about_lineage_is_text(make_window):
    from engine.weights import BUNDLED, read_info
    from viewer.widgets.about_dialog import AboutDialog

    win = make_window()
    win.live.renderer.upscaler.info = read_info(BUNDLED)
    text = AboutDialog(win).text.toPlainText()
    assert "started from" in text and '{"' not in text and '"name"' not in text


def test_toolbar_fits_1000_px_and_dark_theme_marks_indicators(make_window, qtbot):
    from PySide6.QtWidgets import QApplication

    from viewer.theme import INDICATOR_BORDER, STYLESHEET, apply_dark_theme, indicator_rules

    app = QApplication.instance()
    sheet, palette, style = app.styleSheet(), app.palette(), app.style().name()
    apply_dark_theme(app)
    try:
        win = make_window(size=(1000, 650))
        tb = win.menus.toolbar
        button = tb.widgetForAction(win.menus.actions["screenshot"])
        qtbot.waitUntil(lambda: button.isVisible(), timeout=3000)
        assert button.geometry().right() <= tb.width()
    finally:
        app.setStyleSheet(sheet)
        app.setPalette(palette)
        app.setStyle(style)
    rules = indicator_rules()
    assert f"border: 1px solid {INDICATOR_BORDER}" in rules and "QRadioButton::indicator" in rules and "QCheckBox::indicator" in rules
    assert "QMenu::item:disabled" in STYLESHEET


def test_cancelling_the_first_picker_leaves_the_prompt(make_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QDialog

    from viewer.widgets.series_picker import SeriesPicker

    from .fakes import write_nifti

    write_nifti(tmp_path / "a.nii.gz", synthetic_volume(shape=(32, 30, 4)))
    write_nifti(tmp_path / "b.nii.gz", synthetic_volume(shape=(40, 36, 6)))
    monkeypatch.setattr(SeriesPicker, "exec", lambda self: QDialog.Rejected)
    win = make_window()
    with qtbot.waitSignal(win.opener.cancelled, timeout=20000):
        win.open_path(tmp_path)
    assert win.live.scan is None and win.prompt.isVisible()
    assert "No scan is open" in win.prompt.findChild(type(win.banner)).text()
