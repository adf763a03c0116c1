"""Opening: bad files give a dialog naming the file and the reason and the app goes
on; several series give a picker; the command line opens what it is given."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog, QMessageBox

from viewer.app import parse_args
from viewer.widgets import scan_opener
from viewer.widgets.series_picker import SeriesPicker

from .conftest import wait_frames
from .fakes import synthetic_volume, write_nifti


@pytest.fixture
def dialogs(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda parent, title, text, *a, **k: shown.append((title, text))))
    return shown


def open_and_wait(qtbot, win, path, signal="opened"):
    with qtbot.waitSignal(getattr(win.opener, signal), timeout=20000):
        win.open_path(path)


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.nii", b"", None),
        ("noise.dcm", b"\x00" * 64 + b"not a dicom at all" * 10, None),
        ("truncated.nii.gz", b"\x1f\x8b\x08\x00garbage", None),
    ],
)
def test_bad_files_show_a_dialog_and_the_app_goes_on(make_window, qtbot, tmp_path, dialogs, name, content, reason):
    win = make_window()
    bad = tmp_path / name
    bad.write_bytes(content)
    open_and_wait(qtbot, win, bad, "failed")
    assert len(dialogs) == 1
    title, text = dialogs[0]
    assert title == "Cannot open scan" and name in text
    assert len(text.split("\n\n", 1)[1]) > 5  # a reason, not just the name
    # still usable: a good scan opens and renders afterwards
    good = write_nifti(tmp_path / "good.nii.gz")
    open_and_wait(qtbot, win, good)
    wait_frames(qtbot, win.live)
    assert win.live.scan is not None and "good.nii.gz" in win.settings.recent_files[0]


def test_missing_path_and_empty_folder(make_window, qtbot, tmp_path, dialogs):
    win = make_window()
    open_and_wait(qtbot, win, tmp_path / "nope.nii.gz", "failed")
    (tmp_path / "empty").mkdir()
    open_and_wait(qtbot, win, tmp_path / "empty", "failed")
    assert [d[0] for d in dialogs] == ["Cannot open scan"] * 2
    assert "nope.nii.gz" in dialogs[0][1] and "empty" in dialogs[1][1]


def test_a_folder_with_several_series_shows_the_picker(make_window, qtbot, tmp_path, monkeypatch, dialogs):
    folder = tmp_path / "study"
    folder.mkdir()
    write_nifti(folder / "a.nii.gz", synthetic_volume(shape=(32, 30, 4)))
    write_nifti(folder / "b.nii.gz", synthetic_volume(shape=(40, 36, 6)))
    offered = []

    def fake_exec(self):
        offered.append([s.shape for s in self.series])
        self.table.selectRow(1)
        return QDialog.Accepted

    monkeypatch.setattr(SeriesPicker, "exec", fake_exec)
    win = make_window()
    open_and_wait(qtbot, win, folder)
    assert len(offered) == 1 and len(offered[0]) == 2
    assert win.live.scan.volume.shape == tuple(offered[0][1][:3])
    assert not dialogs


def test_loading_runs_off_the_gui_thread(make_window, qtbot, tmp_path, monkeypatch):
    import threading

    seen = []
    real = scan_opener.load

    def spy(*a, **k):
        seen.append(threading.current_thread() is threading.main_thread())
        return real(*a, **k)

    monkeypatch.setattr(scan_opener, "load", spy)
    win = make_window()
    open_and_wait(qtbot, win, write_nifti(tmp_path / "x.nii.gz"))
    assert seen == [False]


def test_command_line():
    a = parse_args(["scan.nii.gz", "--plane", "coronal", "--slice", "7", "--zoom", "2.5", "--screenshot", "out.png"])
    assert (a.path, a.plane, a.slice, a.zoom, str(a.screenshot)) == ("scan.nii.gz", "coronal", 7, 2.5, "out.png")
    assert parse_args([]).path is None  # -> the bundled sample
    with pytest.raises(SystemExit):
        parse_args(["--size", "big"])


def test_the_4d_prompt_counts_volumes_from_1(make_window, qtbot, tmp_path, monkeypatch):
    import nibabel as nib
    import numpy as np

    vox = np.stack([np.full((20, 18, 4), 10.0 * (t + 1), np.float32) for t in range(3)], axis=-1)
    path = tmp_path / "series.nii.gz"
    nib.save(nib.Nifti1Image(vox, np.eye(4)), str(path))
    asked = []

    def get_int(parent, title, label, value, low, high):
        asked.append((value, low, high))
        return 2, True  # the second volume, as the user reads it

    monkeypatch.setattr(scan_opener.QInputDialog, "getInt", staticmethod(get_int))
    win = make_window()
    open_and_wait(qtbot, win, path)
    assert asked == [(1, 1, 3)]
    assert float(win.live.scan.volume.voxels.mean()) == 20.0
