"""The MR presets in the Window menu, computed per series off the GUI thread."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from ..model.mr_windows import mr_presets
from ..widgets.background import Background


def wants_mr_presets(scan) -> bool:
    """MR series, and NIfTI files (which do not say; CT ones have their own presets)."""
    modality = (scan.volume.meta.modality or "").upper()
    return modality in ("MR", "")


class MrWindows(QObject):
    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.tasks = Background(self)
        self.presets: list = []
        self.actions: list[QAction] = []

    def on_scan(self, scan) -> None:
        self.presets = []
        if scan is None or not wants_mr_presets(scan):
            return
        voxels = scan.volume.voxels
        self.tasks.run(lambda: mr_presets(voxels), lambda p, scan=scan: self._ready(scan, p), lambda e: None, name="metazoom-mr-windows")

    def _ready(self, scan, presets) -> None:
        if self.win.live.scan is not scan:
            return  # another scan came meanwhile
        self.presets = presets
        menu = self.win.menus.window_menu
        auto = self.win.menus.actions["auto_window"]
        before = auto
        acts = menu.actions()
        if auto in acts:  # the separator above Auto
            i = acts.index(auto)
            before = acts[i - 1] if i > 0 and acts[i - 1].isSeparator() else auto
        self.actions = []
        for w in presets:
            a = QAction(f"{w.name} (W {w.width:.0f} L {w.center:.0f})", menu)
            a.triggered.connect(partial(self.win.state.set_window, w.center, w.width))
            menu.insertAction(before, a)
            self.actions.append(a)
        menu.insertSeparator(self.actions[0])
