"""Closing the main window while a background job runs: the job is asked to stop and
waited for, nothing is left half-written, and no thread reports to a deleted window."""

from __future__ import annotations

import threading
import time

import nibabel as nib
import pytest

from .fakes import synthetic_volume


@pytest.fixture
def scan_file(tmp_path):
    vol = synthetic_volume(shape=(48, 40, 6), spacing=(0.8, 0.8, 2.0))
    path = tmp_path / "src" / "phantom.nii.gz"
    path.parent.mkdir()
    nib.save(nib.Nifti1Image(vol.voxels, vol.affine), str(path))
    return path


def _threads(name: str) -> list:
    return [t for t in threading.enumerate() if t.name == name]


@pytest.fixture(autouse=True)
def _no_dialogs(monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    for kind in ("critical", "warning", "information", "question"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(lambda *a, kind=kind, **k: pytest.fail(f"a {kind} box: {a[1:3]}")))


def test_closing_mid_export_stops_it_and_leaves_no_files(make_window, qtbot, scan_file, tmp_path):
    from viewer.widgets.background import running_jobs
    from viewer.widgets.export_dialog import ExportDialog

    from engine import load_upscaler

    up = load_upscaler(device="cpu")
    encode = up.encode

    def slow_encode(*a, **k):  # each slice's encode takes 0.4 s more: the close comes mid-export
        time.sleep(0.4)
        return encode(*a, **k)

    up.encode = slow_encode
    win = make_window(up)
    with qtbot.waitSignal(win.opener.opened, timeout=20000):
        win.open_path(scan_file)
    dlg = ExportDialog(win)
    dlg.format.setCurrentIndex(dlg.format.findData("tiff"))
    dlg.whole.setChecked(True)
    out = tmp_path / "out"
    dlg.destination.setText(str(out))
    dlg.show()
    dlg.run()
    assert dlg._running and "metazoom-export" in running_jobs()
    qtbot.waitUntil(lambda: dlg.progress.value() >= 1, timeout=20000)  # a slice done, more to come
    assert any(out.iterdir())  # the export has staged something

    win.close()  # waits for the export to stop after the slice under way

    assert not _threads("metazoom-export") and "metazoom-export" not in running_jobs()
    assert not dlg.outputs and dlg.error is None
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.rglob("*"))


def test_closing_mid_retrieve_cancels_it(make_window, qtbot, tmp_path):
    from engine.pacs import Server, ServerStore
    from engine.pacs.cache import RetrieveCache
    from engine.pacs.records import RetrieveResult, Series
    from viewer.widgets.background import running_jobs
    from viewer.widgets.pacs_dialog import OpenFromPacsDialog

    started, stopped = threading.Event(), threading.Event()

    class SlowClient:  # one image a second until cancelled
        def retrieve(self, study_uid, series_uid, target, cancel, progress):
            started.set()
            while not cancel.wait(1.0):
                progress(0, 100)
            stopped.set()
            return RetrieveResult(tmp_path / "cache", cancelled=True)  # as the real clients do

    win = make_window()
    dlg = OpenFromPacsDialog(win, store=ServerStore(), cache=RetrieveCache(tmp_path / "cache", max_mb=16))
    dlg._server, dlg._client = Server(name="slow", address="dicom://SLOW@127.0.0.1:1"), SlowClient()
    dlg.selected_series = lambda: Series(study_uid="1.2.3", series_uid="1.2.3.4")
    dlg.show()
    dlg.start_retrieve()
    assert started.wait(10) and dlg._retrieving

    win.close()

    assert stopped.is_set() and "metazoom-pacs-retrieve" not in running_jobs()
    assert not _threads("metazoom-pacs-retrieve")
    assert not any((tmp_path / "cache").rglob("*.dcm"))
