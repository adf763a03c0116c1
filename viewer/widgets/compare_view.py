"""The panes side by side, and what each shows in each compare mode.

The Difference mode has a third pane: the consistency guard's map (the SR frame's
disagreement with the acquired data, in noise sigmas) beside |SR - bicubic|."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QWidget

from ..model.pane_text import MAP_ROLES
from .pane import SlicePane

#: (left pane role or None when hidden, right pane role); "single" swaps in single_shows.
LAYOUTS = {
    "side_by_side": ("bicubic", "sr"),
    "single": (None, "sr"),
    "swipe": (None, "swipe"),
    "difference": ("sr", "difference"),
}
#: The third pane's role in the modes that show it.
THIRD = {"difference": "disagreement"}


class CompareView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.left = SlicePane("bicubic")
        self.right = SlicePane("sr")
        self.third = SlicePane("disagreement")
        self.third.hide()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.left, 1)
        lay.addWidget(self.right, 1)
        lay.addWidget(self.third, 1)
        self.setStyleSheet("background: #2a2d31;")
        self.mode = "side_by_side"

    @property
    def panes(self) -> tuple[SlicePane, SlicePane, SlicePane]:
        return (self.left, self.right, self.third)

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
        self.third.setHidden(mode not in THIRD)
        self.third.role = THIRD.get(mode, "disagreement")
        for p in self.panes:
            p.shown_tag = None  # redraw: the same frame may belong in another role now
            p.top.setVisible(False)
            p.set_divider(None)
            p.overlay.scale.setVisible(p.role in MAP_ROLES)

    def pane_with_role(self, role: str) -> SlicePane | None:
        for p in self.visible_panes():
            if p.role == role:
                return p
        return None
