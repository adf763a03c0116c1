"""Settings persist between runs (a temporary INI file stands in for the user's)."""

from __future__ import annotations

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


def test_device_choice_is_remembered(make_window, settings, monkeypatch):
    from viewer.widgets.main_window import MainWindow

    loads = []
    monkeypatch.setattr(MainWindow, "load_engine", lambda self: loads.append(self.device))
    win = make_window(RecordingUpscaler())
    win.menus.actions["device_cpu"].trigger()
    assert loads == ["cpu"] and settings.device == "cpu"
