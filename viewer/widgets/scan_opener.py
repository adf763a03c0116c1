"""Opening a scan without freezing the window: list series, maybe pick one, load.

Both reader steps run on a worker thread; errors come back as a dialog that names
the file and the reason, and the window stays as it was.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox, QWidget

from engine.io import load, open_scan

from ..model.choices import ChoiceError, choose, choose_volume
from ..scan.scan import Scan
from .background import Background
from .series_picker import SeriesPicker


def describe_error(path, error: BaseException) -> str:
    """'<file>: <reason>' for typed errors, the exception's own words otherwise."""
    where = getattr(error, "path", None) or path
    reason = getattr(error, "reason", None)
    if reason is None:
        reason = f"{type(error).__name__}: {error}" if not isinstance(error, OSError) else (error.strerror or str(error))
    return f"{where}\n\n{reason}"


class ScanOpener(QObject):
    """``open(path)``; emits ``opened(Scan)`` or shows the error and emits ``failed``."""

    started = Signal(str)
    opened = Signal(object)
    failed = Signal(str, str)  # path, message
    cancelled = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.window = parent
        self.tasks = Background(self)
        self.last_load_s = 0.0

    @property
    def busy(self) -> bool:
        return self.tasks.busy > 0

    def open(self, path, series: int | None = None, volume: int | None = None) -> None:
        """``series`` / ``volume``: 1-based choices made up front (the command line's
        ``--series`` / ``--volume``); without them a folder of several series or a 4D
        file asks, or, headless, fails at once naming the choices."""
        path = Path(path)
        self.started.emit(str(path))
        t0 = time.perf_counter()
        self.tasks.run(
            # one DICOM file picked in the viewer stands for its series (Horos, Slicer, FSLeyes)
            lambda: open_scan(path, whole_series=True),
            lambda found: self._listed(path, found, t0, series, volume),
            lambda e: self._fail(path, e),
            name="metazoom-open",
        )

    def _listed(self, path: Path, series: list, t0: float, series_choice: int | None = None, volume_choice: int | None = None) -> None:
        if not series:
            self._fail(path, FileNotFoundError(0, "no scan found here"))
            return
        headless = bool(getattr(self.window, "headless", False))
        try:
            chosen = choose(series, series_choice, ask=None if headless else self._pick_series(path))
            volume_index = choose_volume(chosen, volume_choice, ask=None if headless else self._pick_volume(path))
        except ChoiceError as e:
            self._fail(path, e)
            return
        if chosen is None or volume_index is None:
            self.cancelled.emit()
            return
        self.tasks.run(
            lambda: Scan(load(chosen, volume_index=volume_index), path, chosen.description, series=chosen),
            lambda scan: self._loaded(scan, t0),
            lambda e: self._fail(path, e),
            name="metazoom-load",
        )

    def _pick_series(self, path: Path):
        def ask(series):
            picker = SeriesPicker(series, str(path), self.window)
            return picker.chosen() if picker.exec() == QDialog.Accepted else None

        return ask

    def _pick_volume(self, path: Path):
        def ask(n: int):
            index, ok = QInputDialog.getInt(self.window, "Choose a volume", f"{path.name} holds {n} volumes; show volume:", 1, 1, n)
            return index - 1 if ok else None

        return ask

    def _loaded(self, scan: Scan, t0: float) -> None:
        self.last_load_s = time.perf_counter() - t0
        self.opened.emit(scan)

    def _fail(self, path: Path, error: BaseException) -> None:
        message = describe_error(path, error)
        alert = getattr(self.window, "alert", None)
        if alert is not None:
            alert("Cannot open scan", f"Could not open {message}")
        else:
            QMessageBox.critical(self.window, "Cannot open scan", f"Could not open {message}")
        self.failed.emit(str(path), message)
