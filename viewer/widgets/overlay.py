"""Text drawn over a pane: corners, orientation letters, and the difference colour scale.

Plain QLabels on the view's viewport (they ignore the mouse), not scene items, so
they stay put and sharp whatever the zoom.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QLabel, QWidget

from ..theme import OVERLAY_TEXT

CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")
EDGES = ("top", "bottom", "left", "right")
MARGIN = 6


def _label(parent: QWidget, size: int = 11, bold: bool = False, letter: bool = False) -> QLabel:
    lab = QLabel(parent)
    lab.setAttribute(Qt.WA_TransparentForMouseEvents)
    f = QFont()
    f.setPointSize(size)
    f.setBold(bold)
    lab.setFont(f)
    bg = "transparent" if letter else "rgba(0, 0, 0, 120)"
    lab.setStyleSheet(f"color: {OVERLAY_TEXT}; background: {bg}; padding: 2px 5px; border-radius: 3px;")
    lab.setTextFormat(Qt.RichText)
    return lab


class ColourScale(QWidget):
    """A vertical colour bar with its range and its label (units), for a map's pane."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setFixedSize(64, 180)
        self._lut = np.zeros((256, 3), np.uint8)
        self._range = (0.0, 1.0)
        self._units = "|SR-bic|"

    def set_scale(self, lut: np.ndarray, lo: float, hi: float, units: str = "|SR-bic|") -> None:
        self._lut = np.ascontiguousarray(lut[:, :3], dtype=np.uint8)
        self._range, self._units = (lo, hi), units
        self.update()

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        bar = QRect(4, 14, 14, self.height() - 28)
        col = np.ascontiguousarray(np.repeat(self._lut[::-1, None, :], 1, axis=1))
        img = QImage(col.data, 1, col.shape[0], 3, QImage.Format_RGB888)
        p.drawImage(bar, img)
        p.setPen(QColor("#bbbbbb"))
        p.drawRect(bar.adjusted(0, 0, -1, -1))
        p.setPen(QColor(OVERLAY_TEXT))
        f = p.font()
        f.setPointSize(8)
        p.setFont(f)
        lo, hi = self._range
        p.drawText(22, bar.top() + 8, f"{hi:.4g}")
        p.drawText(22, bar.bottom(), f"{lo:.4g}")
        p.drawText(0, 10, self._units)
        p.end()


class PaneOverlay:
    """The labels of one pane.  ``set_text(corner, html)``, ``set_letters(t, b, l, r)``."""

    def __init__(self, host: QWidget) -> None:
        self.host = host
        self.corners = {c: _label(host, 10, bold=(c == "top_left")) for c in CORNERS}
        for c in ("top_right", "bottom_right"):  # short lines keep to the edge, clear of the title
            self.corners[c].setAlignment(Qt.AlignRight | Qt.AlignTop)
        self.letters = {e: _label(host, 13, bold=True, letter=True) for e in EDGES}
        self.scale = ColourScale(host)
        self.scale.hide()
        for lab in (*self.corners.values(), *self.letters.values(), self.scale):
            lab.raise_()

    def set_text(self, corner: str, html: str) -> None:
        """Cheap when nothing changed: it runs on every frame."""
        lab = self.corners[corner]
        if lab.text() != html:
            lab.setText(html)
            lab.adjustSize()
            self._place_corner(corner)
            if corner.startswith("top"):
                self._place_letters()
        if lab.isHidden() == bool(html):
            lab.setVisible(bool(html))

    def set_letters(self, letters) -> None:
        for edge, text in zip(EDGES, letters):
            self.letters[edge].setText(text)
            self.letters[edge].adjustSize()
        self._place_letters()

    def _place_corner(self, corner: str) -> None:
        w, h = self.host.width(), self.host.height()
        lab = self.corners[corner]
        x = MARGIN if corner.endswith("left") else w - lab.width() - MARGIN
        y = MARGIN if corner.startswith("top") else h - lab.height() - MARGIN
        lab.move(x, y)
        if corner.startswith("top"):
            self._unstack_top()

    def _unstack_top(self) -> None:
        """A top-right block too wide for the pane beside the title goes under it."""
        left, right = self.corners["top_left"], self.corners["top_right"]
        y = MARGIN
        if left.text() and right.text() and right.x() < MARGIN + left.width() + MARGIN:
            y = MARGIN + left.height() + 2
        right.move(right.x(), y)

    def _place_letters(self) -> None:
        w, h = self.host.width(), self.host.height()
        L = self.letters
        # below the corner row, so a long title never runs into the letter
        bottoms = [c.y() + c.height() - MARGIN for n, c in self.corners.items() if n.startswith("top") and c.text()]
        corner_row = max(bottoms, default=0)
        L["top"].move((w - L["top"].width()) // 2, MARGIN + corner_row + 2)
        L["bottom"].move((w - L["bottom"].width()) // 2, h - L["bottom"].height() - MARGIN)
        L["left"].move(MARGIN, (h - L["left"].height()) // 2)
        L["right"].move(w - L["right"].width() - MARGIN, (h - L["right"].height()) // 2)

    def layout(self) -> None:
        """Place everything (after a resize)."""
        for corner in CORNERS:
            self._place_corner(corner)
        self._place_letters()
        w, h = self.host.width(), self.host.height()
        self.scale.move(w - self.scale.width() - MARGIN, max(MARGIN + 30, (h - self.scale.height()) // 2 - 60))
