"""Window/level to 8-bit grey, and the panes showing 8-bit images."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF

from viewer.render.display import window_to_uint8
from viewer.widgets.pane import SlicePane


def test_window_to_uint8_maps_the_window_onto_0_255():
    v = np.array([[-10.0, 100.0, 150.0, 199.9, 200.0, 1e9, np.nan]], np.float32)
    g = window_to_uint8(v, 100.0, 200.0)
    assert g.dtype == np.uint8
    assert g.tolist() == [[0, 0, 127, 254, 255, 255, 0]]
    # column slices (the swipe's right half) work as they are
    np.testing.assert_array_equal(window_to_uint8(v[:, 2:], 100.0, 200.0), g[:, 2:])


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
