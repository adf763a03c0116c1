"""Settings > Meta-SRGAN model: Fidelity / Perceptual (greyed out when not shipped) / a site's file."""

from __future__ import annotations

from engine import models

from .fakes import RecordingUpscaler
from .test_settings import _fake_engines


def test_perceptual_is_greyed_out_when_not_shipped_and_loads_when_it_is(make_window, monkeypatch, qtbot, tmp_path):
    _fake_engines(monkeypatch, lambda path, device: True)
    missing = tmp_path / "meta_srgan_perceptual.safetensors"
    monkeypatch.setitem(models.NAMED, "perceptual", missing)
    monkeypatch.setattr(models, "PERCEPTUAL", missing)
    win = make_window(RecordingUpscaler())
    a = win.menus.actions["model_perceptual"]
    win.menus._enable_shipped_models()
    assert not a.isEnabled() and missing.name in a.toolTip()
    missing.write_bytes(b"")  # shipped now (the fake engine loads any path)
    win.menus._enable_shipped_models()
    assert a.isEnabled()
    a.trigger()
    qtbot.waitUntil(lambda: getattr(win.live.upscaler, "asked", (None,))[0] == missing, timeout=5000)
    assert models.model_key(win.weights_path) == "perceptual"
