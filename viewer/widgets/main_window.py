"""The main window: panes, menus, status bar; opening scans and weights off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QVBoxLayout, QWidget

from engine.weights import BUNDLED as BUNDLED_WEIGHTS

from ..model.landing import landing_slice
from ..model.view_state import COMPARE_MODES, ViewState
from ..resources import SAMPLE_SCAN, app_icon
from ..settings import Settings
from ..tools import Tools
from .background import Background
from .compare_view import CompareView
from .empty_prompt import EmptyPrompt
from .live_zoom import LiveZoom
from .menus import Menus
from .scan_opener import ScanOpener, describe_error

SCAN_FILTER = "Scans (*.nii *.nii.gz *.dcm *.DCM *.ima *.IMA);;NIfTI (*.nii *.nii.gz);;DICOM (*.dcm *.DCM *.ima *.IMA);;All files (*)"


class MainWindow(QMainWindow):
    #: the upscaler finished loading (or failed: None)
    engine_ready = Signal(object)
    scan_shown = Signal(object)

    def __init__(self, settings: Settings | None = None, weights=None, device: str | None = None, upscaler=None) -> None:
        """``upscaler``: an already loaded engine (tests, benchmark); None loads
        ``weights`` (default: the bundled file) on ``device`` in the background."""
        super().__init__()
        self.settings = settings or Settings()
        #: no one to click a dialog away (--screenshot): errors go to stderr instead
        self.headless = False
        # --weights is for this run only; Settings > Meta-SRGAN weights is remembered
        chosen = self.settings.weights
        self._weights_from_settings = not weights and bool(chosen)
        self.weights_path = Path(weights) if weights else (Path(chosen) if chosen else BUNDLED_WEIGHTS)
        self._load_generation = 0
        self._pending_remember: frozenset = frozenset()
        self.setWindowTitle("MetaZoom")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.state = ViewState()
        mode = self.settings.compare_mode
        self.state.update(radiological=self.settings.radiological, compare=mode if mode in COMPARE_MODES else "side_by_side")
        self.view = CompareView()
        self.live = LiveZoom(self.state, self.view, None, self.settings.cache_mb * 2**20, self.settings.wheel_convention,
                             store_bytes=self.settings.store_mb * 2**20)
        self.live.message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.live.guard.set_data_consistent(self.settings.data_consistent)

        self.banner = QLabel("", objectName="untrainedBanner")
        self.banner.setAlignment(Qt.AlignCenter)
        self.banner.hide()
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.banner)
        lay.addWidget(self.view, 1)
        self.setCentralWidget(central)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(160)
        self.busy.hide()
        self.statusBar().addPermanentWidget(self.busy)
        self.statusBar().showMessage("Open a scan: File > Open, drag and drop, or `metazoom PATH`")

        self.opener = ScanOpener(self)
        self.opener.started.connect(self._loading)
        self.opener.opened.connect(self.show_scan)
        self.opener.failed.connect(lambda *_: self._idle())
        self.opener.cancelled.connect(self._idle)
        self.tasks = Background(self)
        self.device = device or self.settings.device
        self.menus = Menus(self)
        self.menus.rebuild_recent(self.settings.recent_files)
        self.menus.rebuild_windows([])
        self.tools = Tools(self)
        self.prompt = EmptyPrompt(self)
        self.pending_view: dict = {}
        self.engine_error: str | None = None
        #: (weights, device) of the engine that works now, None before one has loaded
        self.engine_choice: tuple[Path, str] | None = None
        if upscaler is not None:
            self._engine_loaded(upscaler, (self.weights_path, self.device))
        else:
            self.load_engine()
        geom = self.settings.geometry()
        if geom is not None:
            self.restoreGeometry(geom)
        else:
            self.resize(1500, 860)

    # -- engine -------------------------------------------------------------------
    # One choice of (weights, device) is loaded at a time, in the background.  The engine
    # in use keeps rendering until a new one works; the newest request wins (an older
    # load that finishes later is dropped); a menu choice is saved only once it works, and
    # only what the menu changed; at start-up, a remembered device or weights file that
    # no longer works falls back to the defaults (auto, bundled) instead of no SR at all.

    def load_engine(self, remember: frozenset = frozenset()) -> None:
        """Load ``weights_path`` on ``device``; ``remember``: the settings ("device",
        "weights") to save once it works."""
        from engine import load_upscaler

        self._load_generation += 1
        # choices made while an older load was in flight are saved with the newest one
        self._pending_remember = self._pending_remember | frozenset(remember)
        gen, path, device = self._load_generation, self.weights_path, self.device
        if self.live.upscaler is None:
            self.live.engine_note = "loading"
            if self.engine_error:
                self.banner.hide()
        self.statusBar().showMessage(f"Loading weights {path.name} on {device}…")
        self.tasks.run(lambda: load_upscaler(path, device=device),
                       lambda up: self._engine_loaded(up, (path, device), gen),
                       lambda e: self._engine_failed(e, (path, device), gen), name="metazoom-weights")

    def _engine_loaded(self, upscaler, choice, gen: int | None = None) -> None:
        stale = gen is not None and gen != self._load_generation
        if stale and self.engine_choice is not None:
            return  # a newer choice is loading and an engine is in use: this one is dropped
        # (a stale engine with none in use is used until the newer choice works: if that
        # fails, or already has, the window still has Meta-SRGAN)
        newer_failed = self.engine_error is not None
        self.engine_error = None
        self.engine_choice = choice
        if stale and newer_failed:
            self.weights_path, self.device = choice
            self.menus.sync()
        if not stale:
            self.weights_path, self.device = choice
            remember, self._pending_remember = self._pending_remember, frozenset()  # this load's, and older ones
            self._weights_from_settings = False
            if "device" in remember:
                self.settings.device = self.device
            if "weights" in remember:
                self.settings.weights = "" if self.weights_path == BUNDLED_WEIGHTS else str(self.weights_path.resolve())
            self.menus.sync()
        self.live.engine_note = None
        self.live.renderer.set_upscaler(upscaler)
        trained = upscaler.info.trained
        name = upscaler.info.path.name if getattr(upscaler.info, "path", None) else "weights"
        self.banner.setText(
            "" if trained else f"UNTRAINED WEIGHTS ({name}): "
            "the Meta-SRGAN pane shows the network's initial state, which equals bicubic — not an enhancement."
        )
        self.banner.setVisible(not trained)
        self.statusBar().showMessage(f"Meta-SRGAN ready on {upscaler.device.type.upper()}", 5000)
        self.live.refresh()
        self.engine_ready.emit(upscaler)

    def _engine_failed(self, error: BaseException, choice, gen: int) -> None:
        if gen != self._load_generation:
            return  # a newer choice is loading
        path, device = choice
        reason = describe_error(path, error)
        self._pending_remember = frozenset()
        if self.engine_choice is not None:  # a switch failed: the engine in use stays
            self.weights_path, self.device = self.engine_choice
            self.menus.sync()
            self.alert("Cannot switch Meta-SRGAN", f"{reason}\n\nMeta-SRGAN stays with {self.weights_path.name} on {self.device}.",
                       QMessageBox.warning)
            self.statusBar().clearMessage()
            self.live.refresh()
            return
        if device != "auto":  # e.g. the GPU a remembered setting names is gone
            self.statusBar().showMessage(f"Meta-SRGAN on {device} failed ({reason}); trying auto", 10000)
            self.device = "auto"
            self.menus.sync()
            self.load_engine()
            return
        if self._weights_from_settings and path != BUNDLED_WEIGHTS:  # a remembered file moved or broke
            self.statusBar().showMessage(f"The remembered weights {path.name} failed ({reason}); using the bundled ones", 15000)
            self.weights_path = BUNDLED_WEIGHTS
            self.load_engine()
            return
        self.engine_error = reason
        self.menus.sync()
        self.live.engine_note = "unavailable"
        self.alert("Cannot start Meta-SRGAN", f"{reason}\n\nThe viewer goes on with bicubic only.")
        self.banner.setText("Meta-SRGAN unavailable (weights could not be loaded): bicubic only")
        self.banner.show()
        self.live.refresh()
        self.engine_ready.emit(None)

    def alert(self, title: str, text: str, box=None) -> None:
        """An error for the user: a dialog, or (headless) a line on stderr."""
        if self.headless:
            import sys

            print(f"metazoom: {title}: " + " — ".join(p.strip() for p in text.split("\n\n") if p.strip()), file=sys.stderr)
            return
        (box or QMessageBox.critical)(self, title, text)

    def set_device(self, device: str) -> None:
        """Settings > Compute device: saved once the engine works there."""
        self.device = device
        self.load_engine(remember=frozenset({"device"}))

    def set_weights(self, path=None) -> None:
        """Settings > Meta-SRGAN weights (None: the bundled ones): saved once they load."""
        self.weights_path = Path(path).expanduser() if path else BUNDLED_WEIGHTS
        self._weights_from_settings = False  # the user's own choice: no silent fallback
        self.load_engine(remember=frozenset({"weights"}))

    def weights_dialog(self) -> None:
        start = str(self.weights_path.parent if self.weights_path != BUNDLED_WEIGHTS else Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Meta-SRGAN weights", start, "Weights (*.safetensors);;All files (*)")
        if path:
            self.set_weights(path)

    def set_data_consistent(self, on: bool) -> None:
        """Settings > Data-consistent rendering."""
        self.live.guard.set_data_consistent(on)
        self.settings.data_consistent = bool(on)

    def set_wheel_convention(self, convention: str) -> None:
        self.live.interpreter.convention = convention
        self.settings.wheel_convention = convention

    def set_radiological(self, on: bool) -> None:
        self.state.update(radiological=bool(on))
        self.settings.radiological = bool(on)

    # -- opening ----------------------------------------------------------------------
    def open_path(self, path, plane: str = "axial", index: int | None = None, zoom: float | None = None,
                  series: int | None = None, volume: int | None = None) -> None:
        """``series`` / ``volume``: 1-based choices for a folder of several series / a 4D scan."""
        self.pending_view = {"plane": plane, "index": index, "zoom": zoom}
        self.opener.open(path, series=series, volume=volume)

    def open_sample(self) -> None:
        self.open_path(SAMPLE_SCAN)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scan", self.settings.last_folder, SCAN_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a DICOM folder", self.settings.last_folder)
        if path:
            self.open_path(path)

    def _loading(self, path: str) -> None:
        self.busy.show()
        self.statusBar().showMessage(f"Opening {path}…")

    def _idle(self) -> None:
        self.busy.hide()
        self.statusBar().clearMessage()

    def show_scan(self, scan) -> None:
        self._idle()
        view = self.pending_view or {}
        self.pending_view = {}
        plane, index = view.get("plane") or "axial", view.get("index")
        if index is None:  # one file of a series opens on its own image
            plane, index = landing_slice(scan.volume, scan.path) or (plane, index)
        self.live.set_scan(scan, plane=plane, index=index, zoom=view.get("zoom"))
        self.menus.rebuild_windows(scan.header_windows)
        self.menus.sync()
        self.setWindowTitle(f"MetaZoom — {scan.label}")
        if scan.path is not None:
            self.settings.last_folder = str(scan.path.parent)
            self.menus.rebuild_recent(self.settings.add_recent(scan.path))
        warnings = list(scan.volume.meta.warnings)
        if self.live.sr_blocked:
            warnings.insert(0, f"Meta-SRGAN is off: this looks like {self.live.sr_blocked}, whose values an enhancement would alter "
                               "(View > Meta-SRGAN on this scan turns it on)")
        if warnings:  # all of them: one message each would leave only the last on screen
            self.statusBar().showMessage("Note: " + " · ".join(warnings), 15000)
        self.scan_shown.emit(scan)

    # -- view ---------------------------------------------------------------------------
    def reset_view(self) -> None:
        if self.live.scan is not None:
            self.state.update(window=tuple(self.live.scan.initial_window()))
            self.live.reset_view()

    def switch_plane(self, plane: str) -> None:
        """1 / 2 / 3: another plane, through the crosshair's point when there is one."""
        if not self.tools.switch_plane(plane):
            self.state.set_plane(plane)

    def auto_window(self) -> None:
        if self.live.scan is not None:
            self.state.set_window(*self.live.scan.auto_window)

    # -- dialogs ----------------------------------------------------------------------------
    def export_dialog(self) -> None:
        from .export_dialog import ExportDialog

        if self.live.scan is None:
            QMessageBox.information(self, "Export", "Open a scan first.")
            return
        ExportDialog(self).exec()

    def pacs_dialog(self) -> None:
        """File > Open from PACS… (one dialog, not modal: the window stays usable while a retrieve runs)."""
        from .pacs_dialog import OpenFromPacsDialog

        if getattr(self, "pacs", None) is None:
            self.pacs = OpenFromPacsDialog(self)
        self.pacs.show()
        self.pacs.raise_()

    def screenshot_dialog(self) -> None:
        from .screenshot_dialog import ScreenshotDialog

        if self.live.scan is None:
            QMessageBox.information(self, "Screenshot", "Open a scan first.")
            return
        ScreenshotDialog(self).exec()

    def about_dialog(self) -> None:
        from .about_dialog import AboutDialog

        AboutDialog(self).exec()

    def keys_dialog(self) -> None:
        from .about_dialog import KEYS_HTML

        QMessageBox.information(self, "Mouse and keys", KEYS_HTML)

    def cache_dialog(self) -> None:
        mb, ok = QInputDialog.getInt(
            self, "Feature cache", "Memory for encoded slices (MB; a 512x512 slice takes ~68 MB):", self.settings.cache_mb, 64, 65536, 64
        )
        if ok:
            self.settings.cache_mb = mb
            self.live.renderer.cache.max_bytes = mb * 2**20

    def store_dialog(self) -> None:
        mb, ok = QInputDialog.getInt(
            self, "Background features", "Memory for every slice's features, kept at half size in the background\n"
            "(MB; a 512x512 slice takes ~34 MB; 0 keeps only the feature cache):", self.settings.store_mb, 0, 1 << 20, 256)
        if ok:
            self.settings.store_mb = mb
            self.live.renderer.cache.compact.max_bytes = mb * 2**20

    # -- drag and drop ------------------------------------------------------------------------
    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        paths = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if paths:
            ev.acceptProposedAction()
            self.open_path(paths[0])

    def closeEvent(self, ev) -> None:
        self.settings.set_geometry(self.saveGeometry())
        self.settings.sync()
        self.tools.shutdown()
        self.live.shutdown()
        super().closeEvent(ev)
