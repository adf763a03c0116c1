"""File > Export: the engine's exporter (the same one ``metazoom-upscale`` runs, so the
files are the same), with slices, scale, format and destination picked from the view."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.export.reformat import stored_range
from engine.io.volume import WindowPreset

from ..model.export_destination import default_destination
from ..model.sr_model import model_words
from ..model.viewport import axis_scales
from .background import start_job
from .mailbox import Mailbox
from .pacs_send import SendToPacs
from .scan_opener import describe_error

FORMAT_LABELS = {"png": "PNG (windowed 8-bit)", "tiff": "16-bit TIFF", "dicom": "DICOM (new derived series)", "nifti": "NIfTI (.nii.gz)"}


class ExportDialog(QDialog):
    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.setWindowTitle("Export enhanced slices")
        self.setMinimumWidth(560)
        self.uid_seed: str | None = None  # tests fix it to compare with the batch tool
        self.outputs: list[Path] = []
        self.error: str | None = None
        self._cancel = threading.Event()
        self._mailbox = Mailbox(self)
        self._running = False
        self._folder: Path | None = None  # of the export running
        s, scan = win.state, win.live.scan
        n = s.n_slices

        form = QFormLayout()
        # slices
        self.slice_group = QButtonGroup(self)
        self.current = QRadioButton(f"Current slice ({s.plane} {s.index + 1}/{n})")
        self.range = QRadioButton("Range")
        self.whole = QRadioButton("Whole volume")
        self.first, self.last = QSpinBox(), QSpinBox()
        for box, v in ((self.first, s.index), (self.last, min(s.index + 4, n - 1))):
            box.setRange(1, n)
            box.setValue(v + 1)
        rng = QHBoxLayout()
        rng.addWidget(self.range)
        rng.addWidget(self.first)
        rng.addWidget(QLabel("to"))
        rng.addWidget(self.last)
        rng.addStretch()
        box = QVBoxLayout()
        for i, b in enumerate((self.current, self.range, self.whole)):
            self.slice_group.addButton(b, i)
        box.addWidget(self.current)
        box.addLayout(rng)
        box.addWidget(self.whole)
        self.current.setChecked(True)
        form.addRow("Slices", self._wrap(box))
        # scale
        ry, rx = self._axis_zoom(s.zoom)
        aspect = "" if ry == rx else f"; PNG/TIFF at true aspect: rows x{ry:.2f}, columns x{rx:.2f}"
        self.use_current_scale = QRadioButton(f"Current zoom (x{s.zoom:.2f}{aspect})")
        self.typed = QRadioButton("Typed" + (" (PNG/TIFF: same aspect)" if ry != rx else ""))
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.1, 16.0)
        self.scale.setDecimals(2)
        self.scale.setSingleStep(0.25)
        self.scale.setValue(max(1.1, round(s.zoom, 2)))
        self.use_current_scale.setChecked(True)
        sb = QHBoxLayout()
        sb.addWidget(self.use_current_scale)
        sb.addWidget(self.typed)
        sb.addWidget(self.scale)
        sb.addStretch()
        form.addRow("Scale", self._wrap(sb))
        # format and content
        self.format = QComboBox()
        for key, label in FORMAT_LABELS.items():
            self.format.addItem(label, key)
        self.format.setCurrentIndex(list(FORMAT_LABELS).index("dicom" if scan.volume.kind == "dicom" else "nifti"))
        form.addRow("Format", self.format)
        self.sr = QCheckBox(model_words(win.live.upscaler) or "Meta-SRGAN")  # the model that will make the images
        self.sr.setChecked(win.live.upscaler is not None)
        self.sr.setEnabled(win.live.upscaler is not None)
        self.bicubic = QCheckBox("also bicubic")
        mb = QHBoxLayout()
        mb.addWidget(self.sr)
        mb.addWidget(self.bicubic)
        mb.addStretch()
        form.addRow("Method", self._wrap(mb))
        self.deid = QCheckBox("De-identify (DICOM PS3.15 basic profile; no source names anywhere)")
        form.addRow("Privacy", self.deid)
        # de-identification cleans headers, not pixels: text drawn into the image needs an explicit yes
        self.burned_in = QCheckBox("Pixels may show text (names, dates): export anyway, not marked de-identified")
        form.addRow("", self.burned_in)
        self.burned_in.setEnabled(False)
        self.deid.toggled.connect(self.burned_in.setEnabled)
        # destination
        default = default_destination(win.settings.q.value("export/folder", ""), scan.path, scan.volume.source)
        self.destination = QLineEdit(str(default))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        db = QHBoxLayout()
        db.addWidget(self.destination, 1)
        db.addWidget(browse)
        form.addRow("Destination", self._wrap(db))
        self.overwrite = QCheckBox("Replace existing files (never the source)")
        form.addRow("", self.overwrite)
        self.pacs = SendToPacs(self, win.settings)  # after a DICOM export, once confirmed
        form.addRow("PACS", self.pacs)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #e0a030;")
        form.addRow("", self.note)

        self.progress = QProgressBar()
        self.progress.setValue(0)
        self.status = QLabel("")
        self.start = QPushButton("Export")
        self.start.setDefault(True)
        self.cancel = QPushButton("Close")
        self.start.clicked.connect(self.run)
        self.cancel.clicked.connect(self._cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.start)
        buttons.addWidget(self.cancel)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addLayout(buttons)
        for sig in (self.format.currentIndexChanged, self.slice_group.idToggled, self.deid.toggled):
            sig.connect(self._update_note)
        self.format.currentIndexChanged.connect(lambda *_: self.pacs.set_format(self.format.currentData()))
        self.pacs.set_format(self.format.currentData())
        self._update_note()

    @staticmethod
    def _wrap(layout) -> QWidget:
        w = QWidget()
        layout.setContentsMargins(0, 0, 0, 0)
        w.setLayout(layout)
        return w

    def _axis_zoom(self, zoom: float) -> tuple[float, float]:
        """The viewer's per-axis factors at ``zoom`` for the slice on screen (``plan_export``
        turns an equal pair into the plain zoom)."""
        return tuple(round(float(v), 4) for v in axis_scales(zoom, self.win.live.slice.spacing))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.destination.text())
        if folder:
            self.destination.setText(folder)

    def _update_note(self, *_) -> None:
        fmt, s = self.format.currentData(), self.win.state
        notes = []
        if fmt in ("nifti", "dicom") and not self.whole.isChecked():
            if stored_range(self.win.live.scan.volume, s.plane, [0]) is None:
                what = "a volume" if fmt == "nifti" else "a new derived series"
                notes.append(f"{FORMAT_LABELS[fmt].split(' ')[0]} of {s.plane} slices: {what} whose slices are {s.plane} "
                             "(voxels permuted, not resampled; geometry exact).")
        if self.deid.isChecked() and fmt != "dicom":
            notes.append("De-identification strips DICOM tags; other formats carry no patient data but also get an opaque name.")
        self.note.setText(" ".join(notes))

    # -- the request ------------------------------------------------------------------
    def build_request(self):
        """The ``ExportRequest`` the form describes (raises ``ExportRequestError``)."""
        from engine.export import ExportRequest

        win, s = self.win, self.win.state
        volume = win.live.scan.volume
        fmt = self.format.currentData()
        if self.current.isChecked():
            first = last = s.index
        elif self.range.isChecked():
            first, last = sorted((self.first.value() - 1, self.last.value() - 1))
        else:
            first = last = None
        # slices of the plane on screen; NIfTI/DICOM of the whole volume keep the stored
        # slices, and of the stored plane too (the engine maps the range onto them)
        plane = s.plane if fmt in ("png", "tiff") or first is not None else None
        slices = None if first is None else (first, last + 1)
        zoom = s.zoom if self.use_current_scale.isChecked() else self.scale.value()
        # PNG/TIFF pictures of a plane: the viewer's per-axis zoom, so a reformat of a
        # thick-slice scan comes out at its true aspect as on screen (most image viewers
        # ignore the pixel aspect a PNG or TIFF records).  NIfTI/DICOM keep the stored
        # slices and carry the geometry in their headers: one factor.
        scale = self._axis_zoom(zoom) if fmt in ("png", "tiff") else round(float(zoom), 4)
        upscaler = win.live.upscaler if self.sr.isChecked() else None
        return ExportRequest(
            volume=volume,
            destination=Path(self.destination.text()).expanduser(),
            upscaler=upscaler,
            scale=scale,
            format=fmt,
            plane=plane,
            slices=slices,
            include_bicubic=self.bicubic.isChecked() and upscaler is not None,
            anonymize=self.deid.isChecked(),
            accept_burned_in=self.burned_in.isChecked(),
            overwrite=self.overwrite.isChecked(),
            window=self._window(volume),
            uid_seed=self.uid_seed,
        )

    def _window(self, volume) -> WindowPreset:
        """The window on screen; the scan's own preset object when it is that one, so
        the export records it exactly as the batch tool would."""
        center, width = self.win.state.window
        for w in volume.meta.windows:
            if (w.center, w.width) == (center, width):
                return w
        return WindowPreset("viewer", float(center), float(width))

    def run(self) -> None:
        from engine.errors import MetaZoomError
        from engine.export import plan_export, run_export

        try:
            request = self.build_request()
            plan_export(request)  # every typed error before any work
        except (MetaZoomError, OSError, ValueError) as e:
            self._fail(e)
            return
        # remembered once the export has worked: a destination that failed is not proposed again
        self._folder = request.destination if request.destination.suffix == "" else request.destination.parent
        self._cancel.clear()
        self._running = True
        self.start.setEnabled(False)
        self.cancel.setText("Cancel")
        self.status.setText("Exporting…")
        start_job(lambda: self._work(request, run_export), "metazoom-export", self._cancel)

    def _work(self, request, run_export) -> None:
        gen = run_export(request)
        try:
            for p in gen:
                self._mailbox.post(lambda p=p: self._progress(p))
                if p.finished:
                    self._mailbox.post(lambda p=p: self._done(list(p.outputs)))
                    return
                if self._cancel.is_set():
                    break
            self._mailbox.post(self._cancelled)
        except Exception as e:  # shown in the dialog; the app goes on
            self._mailbox.post(lambda e=e: self._fail(e))
        finally:
            gen.close()  # a cancelled export leaves nothing behind

    # -- GUI thread --------------------------------------------------------------------
    def _progress(self, p) -> None:
        self.progress.setMaximum(max(p.total, 1))
        self.progress.setValue(p.done)
        self.status.setText(f"{p.done}/{p.total} slices {p.message}")

    def _finish(self) -> None:
        self._running = False
        self.start.setEnabled(True)
        self.cancel.setText("Close")

    def _done(self, outputs: list[Path]) -> None:
        self._finish()
        self.win.settings.q.setValue("export/folder", str(self._folder))
        self.outputs = outputs
        self.status.setText(f"Wrote {len(outputs)} file(s) to {outputs[0].parent if outputs else ''}")
        self.pacs.after_export(outputs)

    def _cancelled(self) -> None:
        self._finish()
        self.progress.setValue(0)
        self.status.setText("Cancelled: nothing was written")

    def _fail(self, error: BaseException) -> None:
        self._finish()
        self.error = describe_error(self.destination.text(), error)
        self.status.setText("Export failed")
        QMessageBox.critical(self, "Export failed", self.error)

    def _cancel_or_close(self) -> None:
        self.reject()

    def reject(self) -> None:
        """Escape / Cancel: stop a running export (between slices), else close."""
        if self._running:
            self._cancel.set()
            return
        super().reject()

    def closeEvent(self, ev) -> None:
        self._cancel.set()
        super().closeEvent(ev)
