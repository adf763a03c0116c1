"""The reading tools: ruler and regions, crosshair and plane switch, cine, time points,
MR windows, the DICOM tag browser and the magnifier loupe.  ``Tools(win)`` builds them
and their Tools menu; each lives in its own file, policy in ``viewer.model``."""

from __future__ import annotations

from functools import partial

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel

from ..model.measure import SHAPES
from .cine_player import CinePlayer
from .crosshair_tool import CrosshairTool
from .loupe import LoupeTool
from .measure_tool import MeasureTool
from .mr_menu import MrWindows
from .time_points import TimePoints

MODE_KEYS = {"navigate": "Esc", "ruler": "L", "rectangle": "Q", "ellipse": "E"}
MODE_LABELS = {"navigate": "&Navigate (no tool)", "ruler": "Distance &ruler", "rectangle": "Rectangle &ROI",
               "ellipse": "&Ellipse ROI"}


class Tools:
    def __init__(self, win) -> None:
        self.win = win
        self.measure = MeasureTool(win)
        self.crosshair = CrosshairTool(win, self.measure)
        self.cine = CinePlayer(win)
        self.time = TimePoints(win)
        self.loupe = LoupeTool(win)
        self.mr = MrWindows(win)
        self.time_label = QLabel("")
        win.statusBar().addPermanentWidget(self.time_label)
        self.actions: dict[str, QAction] = {}
        self._menu()
        status = lambda m: win.statusBar().showMessage(m, 6000)  # noqa: E731
        self.cine.changed.connect(status)
        self.crosshair.pointed.connect(status)
        self.measure.measured.connect(lambda lines: status(" · ".join(lines)))
        self.time.changed.connect(lambda text: self.time_label.setText(text) if not text.startswith(("Loading", "Not")) else status(text))
        self.time.failed.connect(lambda m: win.alert("Cannot load that volume", m))
        win.scan_shown.connect(self._on_scan)

    def _on_scan(self, scan) -> None:
        self.cine.stop()
        self.measure.on_scan()
        self.crosshair.set_point(None)
        self.time.on_scan(scan)
        self.mr.on_scan(scan)

    def _menu(self) -> None:
        win = self.win
        mb = win.menuBar()
        settings = next((a for a in mb.actions() if a.text().replace("&", "") == "Settings"), None)
        m = mb.addMenu("&Tools") if settings is None else None
        if m is None:
            from PySide6.QtWidgets import QMenu

            m = QMenu("&Tools", mb)
            mb.insertMenu(settings, m)
        self.menu = m

        def act(name, text, slot, key=None, checkable=False):
            a = QAction(text, win)
            if key:
                a.setShortcut(QKeySequence(key))
            a.setCheckable(checkable)
            (a.toggled if checkable else a.triggered).connect(slot)
            m.addAction(a)
            win.addAction(a)
            self.actions[name] = a
            return a

        group = QActionGroup(win)
        for mode in ("navigate", *SHAPES):
            a = act(f"tool_{mode}", MODE_LABELS[mode], partial(self._mode, mode), MODE_KEYS[mode], True)
            group.addAction(a)
        self.actions["tool_navigate"].setChecked(True)
        self.measure.mode_changed.connect(lambda mode: self.actions[f"tool_{mode}"].setChecked(True))
        act("clear_slice", "Clear measurements on this slice", self.measure.clear_slice, "Delete")
        act("clear_all", "Clear all measurements", self.measure.clear_all, "Shift+Delete")
        m.addSeparator()
        act("crosshair", "Cross&hair (click a point; 1/2/3 keep it)", lambda on: self._crosshair(on), "X", True).setChecked(True)
        m.addSeparator()
        act("cine", "&Cine: play / pause", self.cine.toggle, "C")
        act("cine_faster", "Cine faster", self.cine.faster, "]")
        act("cine_slower", "Cine slower", self.cine.slower, "[")
        m.addSeparator()
        act("next_volume", "Next time point (4D)", lambda: self.time.step(1), ".")
        act("prev_volume", "Previous time point (4D)", lambda: self.time.step(-1), ",")
        m.addSeparator()
        act("tags", "DICOM &tags of this image…", self.tag_browser, "Ctrl+I")
        m.addSeparator()
        info = QAction("Magnifier loupe: hold M over a pane", win)
        info.triggered.connect(lambda: win.statusBar().showMessage("Hold M with the cursor over a pane: the circle shows Meta-SRGAN at twice the zoom", 8000))
        m.addAction(info)

    def _mode(self, mode: str, on: bool) -> None:
        if on and self.measure.mode != mode:
            self.measure.set_mode(mode)

    def _crosshair(self, on: bool) -> None:
        if on != self.crosshair.shown:
            self.crosshair.toggle()

    def tag_browser(self):
        from .tag_browser import TagBrowser

        if self.win.live.scan is None:
            self.win.statusBar().showMessage("Open a scan first", 5000)
            return None
        dlg = TagBrowser(self.win)
        dlg.show()
        self._tag_dialog = dlg
        return dlg

    def switch_plane(self, plane: str) -> bool:
        return self.crosshair.switch_plane(plane)

    def shutdown(self) -> None:
        self.cine.stop()
        self.loupe.shutdown()
