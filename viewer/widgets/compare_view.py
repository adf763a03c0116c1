"""The panes side by side, and what each shows in each compare mode."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QWidget

from .pane import SlicePane

#: (left pane role or None when hidden, right pane role); "single" swaps in single_shows.
LAYOUTS = {
    "side_by_side": ("bicubic", "sr"),
    "single": (None, "sr"),
    "swipe": (None, "swipe"),
    "difference": ("sr", "difference"),
}


class CompareView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.left = SlicePane("bicubic")
        self.right = SlicePane("sr")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.left, 1)
        lay.addWidget(self.right, 1)
        self.setStyleSheet("background: #2a2d31;")
        self.mode = "side_by_side"

    @property
    def panes(self) -> tuple[SlicePane, SlicePane]:
        return (self.left, self.right)

    def visible_panes(self) -> list[SlicePane]:
        """Panes in the layout (``isHidden``, not ``isVisible``: this holds before the
        window is first shown too)."""
        return [p for p in self.panes if not p.isHidden()]

    def set_mode(self, mode: str, single_shows: str = "sr") -> None:
        left, right = LAYOUTS[mode]
        if mode == "single":
            right = single_shows
        self.mode = mode
        self.left.setHidden(left is None)
        if left is not None:
            self.left.role = left
        self.right.role = right
        for p in self.panes:
            p.shown_tag = None  # redraw: the same frame may belong in another role now
            p.top.setVisible(False)
            p.set_divider(None)
            p.overlay.scale.setVisible(p.role == "difference")

    def pane_with_role(self, role: str) -> SlicePane | None:
        for p in self.visible_panes():
            if p.role == role:
                return p
        return None
