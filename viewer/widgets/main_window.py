"""The main window: panes, menus, status bar; opening scans and weights off the GUI thread."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QVBoxLayout, QWidget

from engine.weights import BUNDLED as BUNDLED_WEIGHTS

from ..model.engine_choice import EngineChoice, Load, Loaded
from ..model.landing import landing_slice
from ..model.view_state import COMPARE_MODES, ViewState
from ..resources import SAMPLE_SCAN, app_icon
from ..settings import Settings
from ..tools import Tools
from .background import Background, cancel_all, join_all, running_jobs
from .compare_view import CompareView
from .empty_prompt import EmptyPrompt
from .live_zoom import LiveZoom
from .menus import Menus
from .scan_opener import ScanOpener, describe_error

log = logging.getLogger(__name__)

#: How long closing the window waits for background jobs to stop: an export stops
#: after the slice under way (a second or two on a CPU), a retrieve after the image.
CLOSE_WAIT_S = 10.0

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
        self.engine = EngineChoice(Path(weights) if weights else (Path(chosen) if chosen else BUNDLED_WEIGHTS),
                                   device or self.settings.device, BUNDLED_WEIGHTS, from_settings=not weights and bool(chosen))
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
        self.menus = Menus(self)
        self.menus.rebuild_recent(self.settings.recent_files)
        self.menus.rebuild_windows([])
        self.tools = Tools(self)
        self.prompt = EmptyPrompt(self)
        self.pending_view: dict = {}
        if upscaler is not None:
            self._engine_loaded(upscaler, self.engine.given((self.weights_path, self.device)))
        else:
            self.load_engine()
        geom = self.settings.geometry()
        if geom is not None:
            self.restoreGeometry(geom)
        else:
            self.resize(1500, 860)

    # -- engine -------------------------------------------------------------------
    # What is chosen, what runs and what a failed load means: ``model.engine_choice``.
    @property
    def weights_path(self) -> Path:
        return self.engine.weights

    @property
    def device(self) -> str:
        return self.engine.device

    @property
    def engine_error(self) -> str | None:
        return self.engine.error

    @property
    def engine_choice(self) -> tuple[Path, str] | None:
        """(weights, device) of the engine that works now, None before one has loaded."""
        return self.engine.in_use

    def load_engine(self, load: Load | None = None) -> None:
        """Run ``load`` (default: the current selection) in the background."""
        from engine import load_upscaler

        load = load or self.engine.start()
        if self.live.upscaler is None:
            self.live.engine_note = "loading"
            if self.engine_error:
                self.banner.hide()
        self.statusBar().showMessage(f"Loading weights {load.weights.name} on {load.device}…")
        self.tasks.run(lambda: load_upscaler(load.weights, device=load.device),
                       lambda up: self._engine_loaded(up, self.engine.loaded(load)),
                       lambda e: self._engine_failed(e, load), name="metazoom-weights")

    def _engine_loaded(self, upscaler, loaded: Loaded | None) -> None:
        if loaded is None:
            return  # a newer choice is loading and an engine is in use: this one is dropped
        if "device" in loaded.save:
            self.settings.device = self.device
        if "weights" in loaded.save:
            self.settings.weights = "" if self.weights_path == BUNDLED_WEIGHTS else str(self.weights_path.resolve())
        if loaded.menus_changed:
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

    def _engine_failed(self, error: BaseException, load: Load) -> None:
        reason = describe_error(load.weights, error)
        failed = self.engine.failed(load, reason)
        if failed.outcome == "stale":
            return
        self.menus.sync()
        if failed.outcome == "kept":
            self.alert("Cannot switch Meta-SRGAN", f"{reason}\n\nMeta-SRGAN stays with {self.weights_path.name} on {self.device}.",
                       QMessageBox.warning)
            self.statusBar().clearMessage()
            self.live.refresh()
        elif failed.outcome == "retry":
            self.statusBar().showMessage(failed.note, failed.note_ms)
            self.load_engine(failed.retry)
        else:
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
        self.load_engine(self.engine.choose_device(device))

    def set_weights(self, path=None) -> None:
        """Settings > Meta-SRGAN weights (None: the bundled ones): saved once they load."""
        self.load_engine(self.engine.choose_weights(path))

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
        """Close with no job left writing: exports, retrieves and sends are asked to stop
        (an export removes what it staged) and waited for, at most ``CLOSE_WAIT_S``,
        out of sight; a job that cannot stop sooner reports to nothing."""
        self.settings.set_geometry(self.saveGeometry())
        self.settings.sync()
        cancel_all()
        self.hide()
        self.tools.shutdown()
        self.live.shutdown()
        if not join_all(CLOSE_WAIT_S):
            log.warning("closing with background jobs still running: %s", ", ".join(running_jobs()))
        super().closeEvent(ev)
