"""Viewer fixtures: a main window on a temporary settings file and a fake engine."""

from __future__ import annotations

import pytest

from .fakes import RecordingUpscaler, synthetic_volume


@pytest.fixture
def qsettings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "metazoom.ini"), QSettings.IniFormat)


@pytest.fixture
def settings(qsettings):
    from viewer.settings import Settings

    return Settings(qsettings)


@pytest.fixture
def fake_upscaler():
    return RecordingUpscaler()


@pytest.fixture
def phantom_scan():
    from viewer.scan.scan import Scan

    return Scan(synthetic_volume(), label="phantom")


@pytest.fixture
def make_window(qtbot, settings):
    """``make_window(upscaler=..., size=(w, h))`` -> a shown MainWindow."""
    made = []

    def make(upscaler=None, size=(1000, 560)):
        from viewer.widgets.main_window import MainWindow

        win = MainWindow(settings, upscaler=upscaler or RecordingUpscaler())
        qtbot.addWidget(win)
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        made.append(win)
        return win

    yield make
    for win in made:
        win.live.shutdown()


def wait_frames(qtbot, live, timeout=10000):
    """Until the current request's bicubic frame and (if wanted) SR frame are shown."""
    qtbot.waitUntil(lambda: live.request is not None and live._current(live.bicubic) and not live.sr_pending(), timeout=timeout)


@pytest.fixture
def window(make_window, phantom_scan, qtbot):
    win = make_window()
    win.show_scan(phantom_scan)
    wait_frames(qtbot, win.live)
    return win
