"""The export dialog runs the engine's exporter: same files, byte for byte, as
``metazoom-upscale`` given the same choices; cancel leaves nothing."""

from __future__ import annotations

from datetime import datetime, timezone

import nibabel as nib
import numpy as np
import pytest

from .conftest import wait_frames
from .fakes import synthetic_volume

export = pytest.importorskip("engine.export", reason="the export engine (engine/export) is not in this checkout")
batch = pytest.importorskip("engine.batch", reason="metazoom-upscale (engine/batch.py) is not in this checkout")

FIXED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


class FixedClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED


@pytest.fixture
def scan_file(tmp_path):
    vol = synthetic_volume(shape=(48, 40, 5), spacing=(0.8, 0.8, 2.0))
    img = nib.Nifti1Image(vol.voxels, vol.affine)
    img.header["cal_min"], img.header["cal_max"] = 0.0, 900.0  # a header window both sides use
    path = tmp_path / "src" / "phantom.nii.gz"
    path.parent.mkdir()
    nib.save(img, str(path))
    return path


@pytest.fixture
def engine_window(make_window, qtbot, scan_file, monkeypatch):
    import engine.export.run as run_mod
    from engine import load_upscaler

    monkeypatch.setattr(run_mod, "datetime", FixedClock)
    win = make_window(load_upscaler(device="cpu"))
    with qtbot.waitSignal(win.opener.opened, timeout=20000):
        win.open_path(scan_file)
    wait_frames(qtbot, win.live, timeout=30000)
    return win


def run_dialog(qtbot, win, **choices):
    from viewer.widgets.export_dialog import ExportDialog

    dlg = ExportDialog(win)
    dlg.uid_seed = "seed-1"
    dlg.format.setCurrentIndex(dlg.format.findData(choices["format"]))
    {"current": dlg.current, "whole": dlg.whole, "range": dlg.range}[choices["slices"]].setChecked(True)
    dlg.typed.setChecked(True)
    dlg.scale.setValue(choices["scale"])
    dlg.bicubic.setChecked(choices.get("bicubic", False))
    dlg.destination.setText(str(choices["dest"]))
    dlg.run()
    qtbot.waitUntil(lambda: bool(dlg.outputs) or dlg.error is not None, timeout=60000)
    assert dlg.error is None, dlg.error
    return dlg


def same_files(a, b):
    fa = sorted(p.name for p in a.iterdir())
    fb = sorted(p.name for p in b.iterdir())
    assert fa == fb and fa
    for name in fa:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_nifti_export_matches_the_batch_tool(engine_window, qtbot, scan_file, tmp_path):
    run_dialog(qtbot, engine_window, format="nifti", slices="whole", scale=2.5, bicubic=True, dest=tmp_path / "gui")
    code = batch.main([str(scan_file), "--scale", "2.5", "-o", str(tmp_path / "cli"), "--format", "nifti",
                       "--include-bicubic", "--uid-seed", "seed-1", "--quiet"])
    assert code == 0
    same_files(tmp_path / "gui", tmp_path / "cli")
    out = nib.load(str(next((tmp_path / "gui").glob("*_sr.nii.gz"))))
    assert out.shape[:2] == (120, 100)


def test_png_of_the_current_slice_matches_the_batch_tool(engine_window, qtbot, scan_file, tmp_path):
    win = engine_window
    win.state.set_index(1)
    dlg = run_dialog(qtbot, win, format="png", slices="current", scale=3.0, dest=tmp_path / "gui")
    assert len(dlg.outputs) == 1
    code = batch.main([str(scan_file), "--scale", "3", "-o", str(tmp_path / "cli"), "--format", "png",
                       "--plane", "axial", "--slices", "1", "--uid-seed", "seed-1", "--quiet"])
    assert code == 0
    same_files(tmp_path / "gui", tmp_path / "cli")


def test_the_dialog_names_the_model_that_makes_the_images(engine_window):
    from viewer.widgets.export_dialog import ExportDialog

    dlg = ExportDialog(engine_window)  # the bundled weights
    assert dlg.sr.text() == "Meta-SRGAN fidelity"
    dlg.deleteLater()


def test_cancel_leaves_nothing(engine_window, qtbot, tmp_path, monkeypatch):
    from viewer.widgets.export_dialog import ExportDialog

    dlg = ExportDialog(engine_window)
    dlg.format.setCurrentIndex(dlg.format.findData("tiff"))
    dlg.whole.setChecked(True)
    dlg.destination.setText(str(tmp_path / "out"))
    dlg._cancel.set()  # as if Cancel was pressed right after the first slice
    monkeypatch.setattr(dlg._cancel, "clear", lambda: None)
    dlg.run()
    qtbot.waitUntil(lambda: not dlg._running, timeout=30000)
    assert dlg.status.text().startswith("Cancelled")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bad_requests_are_shown_not_raised(engine_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from viewer.widgets.export_dialog import ExportDialog

    shown = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *a, **k: shown.append(a[2])))
    dlg = ExportDialog(engine_window)
    dlg.typed.setChecked(True)
    dlg.scale.setValue(0.5)  # Meta-SRGAN needs more than x1
    dlg.destination.setText(str(tmp_path / "x"))
    dlg.run()
    assert len(shown) == 1 and dlg.error and not dlg._running
    # the source itself as the target
    dlg.scale.setValue(2.0)
    dlg.format.setCurrentIndex(dlg.format.findData("nifti"))
    dlg.whole.setChecked(True)
    dlg.destination.setText(str(engine_window.live.scan.path))
    dlg.overwrite.setChecked(True)
    dlg.run()
    assert len(shown) == 2 and "source" in shown[1]
    assert np.isfinite(engine_window.state.zoom)


def test_png_of_a_reformat_keeps_the_true_aspect_and_matches_the_batch_tool(engine_window, qtbot, scan_file, tmp_path):
    """A coronal slice of 0.8 mm pixels and 2 mm slices shows its rows 2.5x as zoomed as
    its columns; the PNG comes out so (as the batch tool's ``--scale ROWSxCOLS``)."""
    from PIL import Image

    win = engine_window
    win.state.set_plane("coronal")
    wait_frames(qtbot, win.live, timeout=30000)
    rows, cols = win.live.slice.shape
    index = win.state.index
    dlg = run_dialog(qtbot, win, format="png", slices="current", scale=2.0, dest=tmp_path / "gui")
    (png,) = [p for p in dlg.outputs]
    assert "x5x2" in png.name
    assert Image.open(png).size == (2 * cols, 5 * rows)  # (width, height)
    code = batch.main([str(scan_file), "--scale", "5x2", "-o", str(tmp_path / "cli"), "--format", "png",
                       "--plane", "coronal", "--slices", str(index), "--uid-seed", "seed-1", "--quiet"])
    assert code == 0
    same_files(tmp_path / "gui", tmp_path / "cli")


@pytest.mark.parametrize("fmt", ["nifti", "dicom"])
def test_coronal_slices_as_nifti_or_dicom_match_the_batch_tool(engine_window, qtbot, scan_file, tmp_path, fmt):
    win = engine_window
    win.state.set_plane("coronal")
    wait_frames(qtbot, win.live, timeout=30000)
    index = win.state.index
    dlg = run_dialog(qtbot, win, format=fmt, slices="current", scale=2.0, dest=tmp_path / "gui")
    assert "coronal slices" in dlg.note.text()
    name = "phantom_x2_coronal_sr.nii.gz" if fmt == "nifti" else f"phantom_x2_coronal_sr_{index + 1:04d}.dcm"
    assert [p.name for p in dlg.outputs] == [name]
    code = batch.main([str(scan_file), "--scale", "2", "-o", str(tmp_path / "cli"), "--format", fmt,
                       "--plane", "coronal", "--slices", str(index), "--uid-seed", "seed-1", "--quiet"])
    assert code == 0
    same_files(tmp_path / "gui", tmp_path / "cli")
    if fmt == "nifti":
        assert nib.load(str(dlg.outputs[0])).shape[2] == 1


def test_the_burned_in_checkbox_goes_with_de_identification(engine_window, tmp_path):
    from viewer.widgets.export_dialog import ExportDialog

    dlg = ExportDialog(engine_window)
    dlg.destination.setText(str(tmp_path / "out"))
    assert not dlg.burned_in.isEnabled() and not dlg.build_request().accept_burned_in
    dlg.deid.setChecked(True)
    assert dlg.burned_in.isEnabled()
    dlg.burned_in.setChecked(True)
    req = dlg.build_request()
    assert req.anonymize and req.accept_burned_in


def test_destination_is_proposed_outside_the_source_and_remembered_only_once_it_worked(make_window, qtbot, scan_file, tmp_path, monkeypatch):
    from pathlib import Path

    from PySide6.QtWidgets import QMessageBox

    from viewer.widgets.export_dialog import ExportDialog

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *a, **k: None))
    win = make_window()
    with qtbot.waitSignal(win.opener.opened, timeout=20000):
        win.open_path(scan_file)
    inside = scan_file.parent / "exports"
    win.settings.q.setValue("export/folder", str(inside))  # e.g. from an older version
    dlg = ExportDialog(win)
    assert not Path(dlg.destination.text()).resolve().is_relative_to(scan_file.parent.resolve())

    def export_to(dest):
        dlg.format.setCurrentIndex(dlg.format.findData("png"))
        dlg.sr.setChecked(False)
        dlg.current.setChecked(True)
        dlg.destination.setText(str(dest))
        dlg.run()
        qtbot.waitUntil(lambda: not dlg._running, timeout=30000)

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    export_to(blocker / "out")
    assert dlg.error and win.settings.q.value("export/folder") == str(inside)
    export_to(tmp_path / "good")
    assert dlg.outputs and win.settings.q.value("export/folder") == str(tmp_path / "good")
