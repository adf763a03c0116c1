"""The menus, toolbar and keys of the main window; every action writes the view state
or calls the window, and the checkable ones follow the state back (echo-free)."""

from __future__ import annotations

from functools import partial

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolBar

from engine.io.volume import PLANES

from ..model.view_state import COMPARE_LABELS, COMPARE_MODES
from ..model.windowing import STANDARD_PRESETS
from ..settings import DEVICES

PLANE_KEYS = {"axial": "1", "coronal": "2", "sagittal": "3"}
COMPARE_KEYS = {"side_by_side": "Ctrl+1", "single": "Ctrl+2", "swipe": "Ctrl+3", "difference": "Ctrl+4"}
SHORT_COMPARE = {"side_by_side": "Side by side", "single": "Single", "swipe": "Swipe", "difference": "Difference"}
#: slices moved by PgUp / PgDn
PAGE = 5


class Menus:
    def __init__(self, win) -> None:
        self.win = win
        self._syncing = False  # True while the state sets checkmarks: slots ignore the echo
        s = win.state
        mb = win.menuBar()
        self.actions: dict[str, QAction] = {}

        def act(name, text, slot, key=None, checkable=False, menu=None):
            a = QAction(text, win)
            if key:
                a.setShortcuts([QKeySequence(k) for k in (key if isinstance(key, (list, tuple)) else [key])])
            a.setCheckable(checkable)
            if checkable:
                a.toggled.connect(lambda on, slot=slot: None if self._syncing else slot(on))
            else:
                a.triggered.connect(slot)
            if menu is not None:
                menu.addAction(a)
            win.addAction(a)  # keys work whatever has focus
            self.actions[name] = a
            return a

        # File
        m = mb.addMenu("&File")
        act("open", "&Open scan…", win.open_dialog, QKeySequence.Open, menu=m)
        act("open_folder", "Open DICOM &folder…", win.open_folder_dialog, "Ctrl+Shift+O", menu=m)
        act("open_pacs", "Open from &PACS…", win.pacs_dialog, menu=m)
        self.recent_menu = m.addMenu("Open &recent")
        act("open_sample", "Open the bundled &sample", win.open_sample, menu=m)
        m.addSeparator()
        act("export", "&Export enhanced slices…", win.export_dialog, "Ctrl+E", menu=m)
        act("screenshot", "Save &screenshot…", win.screenshot_dialog, "Ctrl+Shift+S", menu=m)
        m.addSeparator()
        act("quit", "&Quit", win.close, QKeySequence.Quit, menu=m)

        # View
        m = mb.addMenu("&View")
        self.compare_group = QActionGroup(win)
        for mode in COMPARE_MODES:
            a = act(f"compare_{mode}", COMPARE_LABELS[mode], partial(self._compare, mode), COMPARE_KEYS[mode], True, m)
            self.compare_group.addAction(a)
        act("sr_on", "&Meta-SRGAN on this scan (off by default on quantitative maps)", lambda on: win.live.set_sr_on(on), None, True, m)
        act("single_bicubic", "Single pane shows &bicubic", lambda on: s.update(single_shows="bicubic" if on else "sr"), "B", True, m)
        m.addSeparator()
        self.plane_group = QActionGroup(win)
        for plane in PLANES:
            a = act(f"plane_{plane}", plane.capitalize(), partial(self._plane, plane), PLANE_KEYS[plane], True, m)
            self.plane_group.addAction(a)
        act("radiological", "&Radiological convention (patient right on screen left)", win.set_radiological, "N", True, m)
        m.addSeparator()
        act("pan_mode", "&Pan with left button", lambda on: s.update(pan_mode=on), "P", True, m)
        act("reset", "&Reset view", win.reset_view, ["R", "Space"], menu=m)
        act("zoom_in", "Zoom &in", lambda: win.live.zoom_by(2**0.25), ["+", "="], menu=m)
        act("zoom_out", "Zoom &out", lambda: win.live.zoom_by(2**-0.25), "-", menu=m)
        act("zoom_native", "Zoom x&1 (native pixels)", lambda: win.live.zoom_by(1.0 / s.zoom), "0", menu=m)
        m.addSeparator()
        act("next_slice", "Next slice", lambda: s.step_slice(1), ["Up", "Right"], menu=m)
        act("prev_slice", "Previous slice", lambda: s.step_slice(-1), ["Down", "Left"], menu=m)
        act("page_up", f"Forward {PAGE} slices", lambda: s.step_slice(PAGE), "PgUp", menu=m)
        act("page_down", f"Back {PAGE} slices", lambda: s.step_slice(-PAGE), "PgDown", menu=m)
        act("first_slice", "First slice", lambda: s.set_index(0), "Home", menu=m)
        act("last_slice", "Last slice", lambda: s.set_index(s.n_slices - 1), "End", menu=m)

        # Window (rebuilt per scan around one persistent Auto action)
        self.window_menu = mb.addMenu("&Window")
        act("auto_window", "&Auto (0.5–99.5 percentiles)", win.auto_window, "A")

        # Settings
        m = mb.addMenu("&Settings")
        wheel = m.addMenu("Mouse &wheel")
        self.wheel_group = QActionGroup(win)
        for conv, text in (("zoom", "Wheel zooms, Ctrl+wheel moves slices"), ("slice", "Wheel moves slices, Ctrl+wheel zooms (clinical)")):
            a = act(f"wheel_{conv}", text, partial(self._wheel, conv), None, True, wheel)
            self.wheel_group.addAction(a)
        dev = m.addMenu("Compute &device")
        self.device_group = QActionGroup(win)
        for d in DEVICES:
            a = act(f"device_{d}", d.upper() if d != "auto" else "Auto (GPU when present)", partial(self._device, d), None, True, dev)
            self.device_group.addAction(a)
        dev.aboutToShow.connect(self._enable_present_devices)
        weights = m.addMenu("Meta-SRGAN &model")
        act("weights_bundled", "&Fidelity (bundled weights)", lambda: win.set_weights(None), menu=weights)
        act("model_perceptual", "&Perceptual (GAN-trained)", self._perceptual, menu=weights)
        act("weights_open", "A &site's weights file…", win.weights_dialog, menu=weights)
        weights.aboutToShow.connect(self._enable_shipped_models)
        self._enable_shipped_models()
        act("data_consistent", "D&ata-consistent rendering (SR projected onto the acquired data; slower frames)",
            win.set_data_consistent, None, True, m)
        act("cache", "Feature &cache size…", win.cache_dialog, menu=m)
        act("store", "&Background features memory…", win.store_dialog, menu=m)

        # Help
        m = mb.addMenu("&Help")
        act("keys", "&Mouse and keys", win.keys_dialog, QKeySequence.HelpContents, menu=m)
        act("about", "&About MetaZoom", win.about_dialog, menu=m)

        self._toolbar()
        self.sync()
        s.connect(lambda changed: self.sync())

    def _toolbar(self) -> None:
        tb = QToolBar("Main", self.win)
        tb.setMovable(False)
        tb.setObjectName("mainToolbar")
        self.win.addToolBar(tb)
        a = self.actions
        tb.addAction(a["open"])
        a["open"].setIconText("Open")
        tb.addSeparator()
        for mode in COMPARE_MODES:
            a[f"compare_{mode}"].setIconText(SHORT_COMPARE[mode])
            tb.addAction(a[f"compare_{mode}"])
        tb.addSeparator()
        for plane in PLANES:
            tb.addAction(a[f"plane_{plane}"])
        tb.addSeparator()
        a["pan_mode"].setIconText("Pan")
        a["reset"].setIconText("Reset")
        a["radiological"].setIconText("Radiological")
        tb.addAction(a["pan_mode"])
        tb.addAction(a["reset"])
        tb.addAction(a["radiological"])
        tb.addSeparator()
        a["export"].setIconText("Export")
        a["screenshot"].setIconText("Screenshot")
        tb.addAction(a["export"])
        tb.addAction(a["screenshot"])
        self.toolbar = tb

    # -- actions -> state ---------------------------------------------------------
    def _compare(self, mode: str, on: bool) -> None:
        if on:
            self.win.state.set_compare(mode)
            self.win.settings.compare_mode = mode

    def _plane(self, plane: str, on: bool) -> None:
        if not on:
            return
        if self.win.live.scan is not None:
            self.win.switch_plane(plane)
        else:  # nothing to show in another plane yet: the checkmark stays with the state
            self.sync()

    def _wheel(self, conv: str, on: bool) -> None:
        if on:
            self.win.set_wheel_convention(conv)

    def _perceptual(self) -> None:
        from engine.models import PERCEPTUAL

        self.win.set_weights(PERCEPTUAL)

    def _enable_shipped_models(self) -> None:
        """Perceptual is greyed out where its weights file is not shipped."""
        from engine import models

        shipped = models.shipped("perceptual")
        a = self.actions["model_perceptual"]
        a.setEnabled(shipped)
        a.setToolTip("" if shipped else f"not shipped: no {models.PERCEPTUAL.name} in {models.PERCEPTUAL.parent}")

    def _enable_present_devices(self) -> None:
        """Grey out devices this machine lacks (asking torch only once the engine has
        imported it: the menu must not cost the start-up a torch import)."""
        import sys

        torch = sys.modules.get("torch")
        if torch is None:
            return
        mps = getattr(torch.backends, "mps", None)
        present = {"auto": True, "cpu": True, "cuda": torch.cuda.is_available(), "mps": bool(mps and mps.is_available())}
        for d in DEVICES:
            self.actions[f"device_{d}"].setEnabled(present.get(d, True) or d == self.win.device)

    def _device(self, device: str, on: bool) -> None:
        if on and device != self.win.device:
            self.win.set_device(device)

    # -- state -> checkmarks --------------------------------------------------------
    def sync(self) -> None:
        s, a = self.win.state, self.actions
        for name, checked in (
            (f"compare_{s.compare}", True),
            (f"plane_{s.plane}", True),
            ("radiological", s.radiological),
            ("pan_mode", s.pan_mode),
            ("single_bicubic", s.single_shows == "bicubic"),
            ("sr_on", self.win.live.sr_on),
            ("data_consistent", self.win.live.guard.data_consistent),
            (f"wheel_{self.win.live.interpreter.convention}", True),
            (f"device_{self.win.device}", True),
        ):
            if a[name].isChecked() != checked:
                # no blockSignals: the exclusive groups listen to the same signals
                self._syncing = True
                try:
                    a[name].setChecked(checked)
                finally:
                    self._syncing = False

    def rebuild_recent(self, paths: list[str]) -> None:
        self.recent_menu.clear()
        for p in paths:
            self.recent_menu.addAction(p, partial(self.win.open_path, p))
        self.recent_menu.setEnabled(bool(paths))

    def rebuild_windows(self, header_presets: list) -> None:
        m = self.window_menu
        m.clear()
        for i, w in enumerate(header_presets):
            m.addAction(f"{w.name or f'Header window {i + 1}'} (W {w.width:g} L {w.center:g})", partial(self.win.state.set_window, w.center, w.width))
        if header_presets:
            m.addSeparator()
        for w in STANDARD_PRESETS:
            m.addAction(f"{w.name} (CT: W {w.width:g} L {w.center:g})", partial(self.win.state.set_window, w.center, w.width))
        m.addSeparator()
        m.addAction(self.actions["auto_window"])
