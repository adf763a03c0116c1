"""The main window: panes, menus, status bar; opening scans and weights off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QVBoxLayout, QWidget

from engine.weights import BUNDLED as BUNDLED_WEIGHTS

from ..model.view_state import COMPARE_MODES, ViewState
from ..resources import SAMPLE_SCAN, app_icon
from ..settings import Settings
from .background import Background
from .compare_view import CompareView
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
        self.weights_path = Path(weights) if weights else BUNDLED_WEIGHTS
        self.setWindowTitle("MetaZoom")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.state = ViewState()
        mode = self.settings.compare_mode
        self.state.update(radiological=self.settings.radiological, compare=mode if mode in COMPARE_MODES else "side_by_side")
        self.view = CompareView()
        self.live = LiveZoom(self.state, self.view, None, self.settings.cache_mb * 2**20, self.settings.wheel_convention)
        self.live.message.connect(lambda m: self.statusBar().showMessage(m, 8000))

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
        self.pending_view: dict = {}
        self.engine_error: str | None = None
        if upscaler is not None:
            self._engine_loaded(upscaler)
        else:
            self.load_engine()
        geom = self.settings.geometry()
        if geom is not None:
            self.restoreGeometry(geom)
        else:
            self.resize(1500, 860)

    # -- engine -------------------------------------------------------------------
    def load_engine(self) -> None:
        from engine import load_upscaler

        path, device = self.weights_path, self.device
        self.statusBar().showMessage(f"Loading weights {path.name} on {device}…")
        self.tasks.run(lambda: load_upscaler(path, device=device), self._engine_loaded, self._engine_failed, name="metazoom-weights")

    def _engine_loaded(self, upscaler) -> None:
        self.engine_error = None
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

    def _engine_failed(self, error: BaseException) -> None:
        self.engine_error = describe_error(self.weights_path, error)
        QMessageBox.critical(self, "Cannot start Meta-SRGAN", f"{self.engine_error}\n\nThe viewer goes on with bicubic only.")
        self.banner.setText("Meta-SRGAN unavailable (weights could not be loaded): bicubic only")
        self.banner.show()
        self.engine_ready.emit(None)

    def set_device(self, device: str) -> None:
        self.settings.device = device
        self.device = device
        self.load_engine()

    def set_wheel_convention(self, convention: str) -> None:
        self.live.interpreter.convention = convention
        self.settings.wheel_convention = convention

    def set_radiological(self, on: bool) -> None:
        self.state.update(radiological=bool(on))
        self.settings.radiological = bool(on)

    # -- opening ----------------------------------------------------------------------
    def open_path(self, path, plane: str = "axial", index: int | None = None, zoom: float | None = None) -> None:
        self.pending_view = {"plane": plane, "index": index, "zoom": zoom}
        self.opener.open(path)

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
        plane = view.get("plane") or "axial"
        self.live.set_scan(scan, plane=plane, index=view.get("index"), zoom=view.get("zoom"))
        self.menus.rebuild_windows(scan.header_windows)
        self.menus.sync()
        self.setWindowTitle(f"MetaZoom — {scan.label}")
        if scan.path is not None:
            self.settings.last_folder = str(scan.path.parent)
            self.menus.rebuild_recent(self.settings.add_recent(scan.path))
        for w in scan.volume.meta.warnings:
            self.statusBar().showMessage(f"Note: {w}", 10000)
        self.scan_shown.emit(scan)

    # -- view ---------------------------------------------------------------------------
    def reset_view(self) -> None:
        if self.live.scan is not None:
            self.state.update(window=tuple(self.live.scan.initial_window()))
            self.live.reset_view()

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
        self.live.shutdown()
        super().closeEvent(ev)
