"""Settings persist between runs (a temporary INI file stands in for the user's)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from PySide6.QtCore import QSettings

from viewer.settings import Settings

from .fakes import RecordingUpscaler


def test_settings_round_trip(tmp_path):
    path = str(tmp_path / "s.ini")
    s = Settings(QSettings(path, QSettings.IniFormat))
    assert (s.wheel_convention, s.radiological, s.device, s.compare_mode) == ("zoom", True, "auto", "side_by_side")
    s.wheel_convention = "slice"
    s.radiological = False
    s.device = "cpu"
    s.cache_mb = 1024
    s.last_folder = tmp_path
    for name in ("a.nii", "b.nii", "a.nii"):
        s.add_recent(tmp_path / name)
    s.sync()
    t = Settings(QSettings(path, QSettings.IniFormat))
    assert (t.wheel_convention, t.radiological, t.device, t.cache_mb) == ("slice", False, "cpu", 1024)
    assert t.last_folder == str(tmp_path)
    assert [p.rsplit("/", 1)[1] for p in t.recent_files] == ["a.nii", "b.nii"]


def test_window_applies_and_saves_settings(make_window, qtbot, tmp_path, settings):
    settings.wheel_convention = "slice"
    settings.radiological = False
    settings.cache_mb = 256
    settings.compare_mode = "difference"
    win = make_window()
    assert win.live.interpreter.convention == "slice"
    assert win.state.radiological is False and win.state.compare == "difference"
    assert win.live.renderer.cache.max_bytes == 256 * 2**20
    assert win.menus.actions["wheel_slice"].isChecked()
    # change them through the menus, as a user would
    win.menus.actions["wheel_zoom"].trigger()
    win.menus.actions["radiological"].trigger()
    win.menus.actions["compare_swipe"].trigger()
    win.close()
    again = Settings(QSettings(settings.q.fileName(), QSettings.IniFormat))
    assert (again.wheel_convention, again.radiological, again.compare_mode) == ("zoom", True, "swipe")
    assert again.geometry() is not None


def _fake_engines(monkeypatch, works, slow=None, release=None):
    """``engine.load_upscaler`` that gives a RecordingUpscaler where ``works(path, device)``
    and raises the engine's own error elsewhere; returns the list of (path, device) asked.
    Loads for which ``slow(path, device)`` first wait for the event ``release``."""
    import engine

    asked = []

    def load_upscaler(path=None, device="auto"):
        asked.append((path, device))
        if slow is not None and slow(path, device):
            release.wait(5)
        if not works(path, device):
            raise ValueError(f"device {device!r} was asked for but is not available")
        up = RecordingUpscaler()
        up.asked = (path, device)
        return up

    monkeypatch.setattr(engine, "load_upscaler", load_upscaler)
    return asked


@contextmanager
def started_window(qtbot, settings, headless: bool = False):
    """A window that starts its own engine (through the fakes above), shut down after use."""
    from viewer.widgets.main_window import MainWindow

    win = MainWindow(settings)
    win.headless = headless
    qtbot.addWidget(win)
    try:
        yield win
    finally:
        win.live.shutdown()


def test_device_choice_is_remembered_once_it_works(make_window, settings, monkeypatch, qtbot):
    from PySide6.QtWidgets import QMessageBox

    warned = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text, *a, **k: warned.append(text)))
    _fake_engines(monkeypatch, lambda path, device: device != "cuda")
    win = make_window(RecordingUpscaler())
    win.menus.actions["device_cpu"].trigger()
    qtbot.waitUntil(lambda: getattr(win.live.upscaler, "asked", (None, None))[1] == "cpu", timeout=5000)
    assert settings.device == "cpu" and win.device == "cpu"
    cpu_engine = win.live.upscaler
    # a device this machine lacks: the engine in use stays, and so do the setting and the menu
    win.menus.actions["device_cuda"].trigger()
    qtbot.waitUntil(lambda: bool(warned), timeout=5000)
    assert "stays" in warned[0] and "cpu" in warned[0]
    assert settings.device == "cpu" and win.device == "cpu"
    assert win.menus.actions["device_cpu"].isChecked() and not win.menus.actions["device_cuda"].isChecked()
    assert win.live.upscaler is cpu_engine and not win.banner.isVisible()


def test_a_saved_device_that_is_gone_falls_back_to_auto(qtbot, settings, monkeypatch):
    settings.device = "cuda"
    asked = _fake_engines(monkeypatch, lambda path, device: device != "cuda")
    with started_window(qtbot, settings) as win:
        qtbot.waitUntil(lambda: win.live.upscaler is not None, timeout=5000)
        assert [d for _, d in asked] == ["cuda", "auto"]
        assert win.device == "auto" and settings.device == "cuda"  # not overwritten by a fallback
        assert not win.banner.isVisible()


def test_weights_choice_is_remembered_and_bundled_again(make_window, settings, monkeypatch, qtbot, tmp_path):
    from engine.weights import BUNDLED

    _fake_engines(monkeypatch, lambda path, device: True)
    win = make_window(RecordingUpscaler())
    mine = tmp_path / "site.safetensors"
    win.set_weights(mine)
    qtbot.waitUntil(lambda: getattr(win.live.upscaler, "asked", (None,))[0] == mine, timeout=5000)
    assert settings.weights == str(mine)
    win.menus.actions["weights_bundled"].trigger()
    qtbot.waitUntil(lambda: getattr(win.live.upscaler, "asked", (None,))[0] == BUNDLED, timeout=5000)
    assert settings.weights == ""
    # the next start opens with the remembered choice
    settings.weights = str(mine)
    from viewer.widgets.main_window import MainWindow

    again = MainWindow(settings, upscaler=RecordingUpscaler())
    qtbot.addWidget(again)
    assert again.weights_path == mine
    again.live.shutdown()


def test_without_an_engine_the_sr_pane_says_it_shows_bicubic(qtbot, settings, monkeypatch, phantom_scan):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda parent, title, text, *a, **k: shown.append(text)))
    _fake_engines(monkeypatch, lambda path, device: False)
    with started_window(qtbot, settings) as win:
        win.resize(1000, 560)
        win.show()
        qtbot.waitUntil(lambda: bool(shown), timeout=5000)
        win.show_scan(phantom_scan)
        qtbot.waitUntil(lambda: win.live.request is not None and win.live._current(win.live.bicubic), timeout=5000)
        sr = win.view.right
        assert "showing bicubic" in sr.overlay.corners["top_left"].text()
        assert "Meta-SRGAN unavailable" in sr.overlay.corners["top_right"].text()
        assert "showing bicubic" not in win.view.left.overlay.corners["top_left"].text()
        assert win.banner.isVisible()


def test_headless_errors_go_to_stderr_not_to_a_dialog(qtbot, settings, monkeypatch, capsys):
    """--screenshot has no one to click a dialog away: an engine that cannot start is a
    line on stderr, and the window goes on (bicubic only)."""
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *a, **k: pytest.fail("a modal dialog in headless mode")))
    _fake_engines(monkeypatch, lambda path, device: False)
    with started_window(qtbot, settings, headless=True) as win:
        qtbot.waitUntil(lambda: win.engine_error is not None, timeout=5000)
        err = capsys.readouterr().err
        assert "metazoom: Cannot start Meta-SRGAN:" in err and "bicubic only" in err


def test_the_newest_engine_choice_wins_over_a_slower_older_one(make_window, settings, monkeypatch, qtbot):
    # the older choice finishes last
    release_slow = _slow_engines(monkeypatch, lambda path, device: True, lambda path, device: device == "mps")
    win = make_window(RecordingUpscaler())
    win.set_device("mps")
    win.set_device("cpu")
    qtbot.waitUntil(lambda: getattr(win.live.upscaler, "asked", (None, None))[1] == "cpu", timeout=5000)
    release_slow.set()
    qtbot.wait(300)
    assert win.live.upscaler.asked[1] == "cpu" and win.device == "cpu" and settings.device == "cpu"
    assert win.menus.actions["device_cpu"].isChecked()


def test_weights_given_on_the_command_line_are_not_remembered(qtbot, settings, monkeypatch, tmp_path):
    from viewer.widgets.main_window import MainWindow

    _fake_engines(monkeypatch, lambda path, device: True)
    mine = tmp_path / "once.safetensors"
    win = MainWindow(settings, weights=mine)
    qtbot.addWidget(win)
    try:
        qtbot.waitUntil(lambda: win.live.upscaler is not None, timeout=5000)
        win.set_device("cpu")
        qtbot.waitUntil(lambda: settings.device == "cpu", timeout=5000)
        assert settings.weights == ""  # a device switch saves the device only
    finally:
        win.live.shutdown()


def test_remembered_weights_that_are_gone_fall_back_to_the_bundled_ones(qtbot, settings, monkeypatch, tmp_path):
    from engine.weights import BUNDLED

    settings.weights = str(tmp_path / "moved.safetensors")
    asked = _fake_engines(monkeypatch, lambda path, device: path == BUNDLED)
    with started_window(qtbot, settings) as win:
        qtbot.waitUntil(lambda: win.live.upscaler is not None, timeout=5000)
        assert [p for p, _ in asked] == [tmp_path / "moved.safetensors", BUNDLED]
        assert win.weights_path == BUNDLED and not win.banner.isVisible()


def _slow_engines(monkeypatch, works, slow):
    """``_fake_engines`` whose loads for which ``slow(path, device)`` wait for the returned event."""
    import threading

    release = threading.Event()
    _fake_engines(monkeypatch, works, slow=slow, release=release)
    return release


def test_when_every_start_fails_the_menu_shows_the_device_last_tried(qtbot, settings, monkeypatch):
    settings.device = "cpu"
    _fake_engines(monkeypatch, lambda path, device: False)
    with started_window(qtbot, settings, headless=True) as win:
        qtbot.waitUntil(lambda: win.engine_error is not None, timeout=5000)
        assert win.device == "auto" and win.menus.actions["device_auto"].isChecked()
        assert not win.menus.actions["device_cpu"].isChecked()


def test_a_device_choice_overtaken_by_a_weights_choice_is_still_saved(make_window, settings, monkeypatch, qtbot, tmp_path):
    mine = tmp_path / "w.safetensors"
    release = _slow_engines(monkeypatch, lambda path, device: True, lambda path, device: path != mine)
    win = make_window(RecordingUpscaler())
    win.set_device("cpu")
    win.set_weights(mine)
    qtbot.waitUntil(lambda: getattr(win.live.upscaler, "asked", (None,))[0] == mine, timeout=5000)
    release.set()
    qtbot.wait(200)
    assert win.live.upscaler.asked == (mine, "cpu")
    assert settings.device == "cpu" and settings.weights == str(mine.resolve())


def test_a_working_start_up_engine_is_kept_when_a_choice_made_meanwhile_fails(qtbot, settings, monkeypatch, tmp_path):
    from engine.weights import BUNDLED

    bad = tmp_path / "bad.safetensors"
    release = _slow_engines(monkeypatch, lambda path, device: path == BUNDLED, lambda path, device: path == BUNDLED)
    with started_window(qtbot, settings, headless=True) as win:
        win.set_weights(bad)  # while the bundled weights are still loading
        qtbot.waitUntil(lambda: win.engine_error is not None, timeout=5000)
        release.set()
        qtbot.waitUntil(lambda: win.live.upscaler is not None, timeout=5000)
        assert win.live.upscaler.asked[0] == BUNDLED and win.weights_path == BUNDLED
        assert win.engine_error is None and not win.banner.isVisible() and win.live.engine_note is None
        assert settings.weights == ""  # the failed choice was not saved
