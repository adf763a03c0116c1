"""The panes show 8-bit images windowed by the engine's rule, the same as PNG export."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF

from engine.windowing import window_to_uint8
from viewer.widgets.pane import SlicePane


def test_pane_shows_8_bit_grey_and_rewindows_from_the_float_frame(qtbot):
    pane = SlicePane()
    qtbot.addWidget(pane)
    px = np.linspace(0, 1000, 64 * 32, dtype=np.float32).reshape(32, 64)
    pane.set_image(px, QRectF(0, 0, 64, 32), (0.0, 1000.0), generation=3)
    assert pane.base.image.dtype == np.uint8 and pane.base.levels is None
    assert pane.levels() == (0.0, 1000.0) and pane.base.image[-1, -1] == 255
    pane.set_levels((0.0, 500.0))
    assert pane.levels() == (0.0, 500.0)
    np.testing.assert_array_equal(pane.base.image, window_to_uint8(px, 0.0, 500.0))
    # colour-mapped images (the difference view) keep pyqtgraph's own levels
    lut = np.stack([np.arange(256)] * 3, axis=1).astype(np.uint8)
    pane.set_image(px, QRectF(0, 0, 64, 32), (0.0, 10.0), lut=lut)
    assert pane.base.image.dtype == np.float32 and pane.levels() == (0.0, 10.0)


def test_exported_png_holds_the_panes_grey_levels(window, qtbot, tmp_path):
    """The bicubic pane at x3.7 (part of the slice shows) with an odd window, and a PNG
    export of that slice at that zoom with that window: the pane's 8-bit pixels are the
    PNG's, pixel for pixel."""
    from PIL import Image

    from engine.export import ExportRequest, run_export
    from engine.io.volume import WindowPreset

    from .conftest import wait_frames

    window.state.set_zoom(3.7)
    window.state.set_window(431.7, 613.3)
    wait_frames(qtbot, window.live)
    req = window.live.request
    pane = window.view.left
    assert pane.levels() == pytest.approx((431.7 - 613.3 / 2, 431.7 + 613.3 / 2))
    shown = np.asarray(pane.base.image)
    top, left, h, w = req.region
    assert shown.shape == (h, w) and (top, left) != (0, 0) and len(np.unique(shown)) > 200

    c, width = window.state.window
    export = ExportRequest(window.live.scan.volume, tmp_path, None, req.scale, "png", plane=req.key.plane,
                           slices=(req.key.index, req.key.index + 1), window=WindowPreset("on screen", c, width))
    out = list(run_export(export))[-1].outputs[0]
    png = np.asarray(Image.open(out))
    np.testing.assert_array_equal(png[top : top + h, left : left + w], shown)
