"""File > Save screenshot: the panes at 1x to 4x their screen resolution (frames
re-rendered, not stretched), with the overlay text, as a PNG."""

from __future__ import annotations

import re
from pathlib import Path

import qimage2ndarray
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QWidget

from ..model import data_guard
from ..model.pane_text import pane_name
from ..model.readout import slice_text, window_text, zoom_text
from ..model.sr_policy import AI_LABEL
from ..render.frames import mirrored, sr_scale_for
from ..render.snapshot import render_panes, side_by_side
from .background import Background
from .live_zoom import DIFF_LUT
from .scan_opener import describe_error

FACTORS = (1, 2, 3, 4)


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">")


def draw_overlay(img: QImage, shots, lefts, live, factor: float) -> None:
    """Titles (with the model that made the SR pictures), orientation letters,
    slice/zoom/window text and the consistency guard's line, as on screen."""
    s, sl = live.state, live.slice
    p = QPainter(img)
    p.setRenderHint(QPainter.TextAntialiasing)
    font = QFont()
    font.setPixelSize(max(10, int(13 * factor)))
    p.setFont(font)
    pad = int(8 * factor)
    scale = live.viewport().scale
    lines = {
        "tl": None,
        "tr": zoom_text(s.zoom, scale, sr_scale_for(scale)),
        "bl": slice_text(s.plane, s.index, s.n_slices, sl.position_mm if live.notes.geometry else None),
        "br": window_text(s.window),
    }
    for shot, x in zip(shots, lefts):
        h, w = shot.rgb.shape[:2]
        box = QRect(x + pad, pad, w - 2 * pad, h - 2 * pad)
        p.setPen(QColor("#e8e8e8"))
        title = _plain(pane_name(shot.role, live.engine_status().model))
        if shot.role != "bicubic":  # every SR picture carries it, saved or on screen
            title += "\n" + AI_LABEL
        p.drawText(box, Qt.AlignLeft | Qt.AlignTop, title)
        tr = lines["tr"] if shot.role != "bicubic" else zoom_text(s.zoom, scale, with_sr=False)
        if shot.guard_text:
            tr += "\n" + shot.guard_text
        p.drawText(box, Qt.AlignRight | Qt.AlignTop, tr)
        p.drawText(box, Qt.AlignLeft | Qt.AlignBottom, lines["bl"])
        if shot.role == "disagreement":
            br = data_guard.legend_text()
        else:
            br = lines["br"] if shot.diff_range is None else f"|SR-bicubic| 0 to {shot.diff_range[1]:.4g}"
        p.drawText(box, Qt.AlignRight | Qt.AlignBottom, br)
        top, bottom, left, right = sl.letters if live.notes.geometry else ("", "", "", "")
        p.drawText(box, Qt.AlignHCenter | Qt.AlignTop, top)
        p.drawText(box, Qt.AlignHCenter | Qt.AlignBottom, bottom)
        p.drawText(box, Qt.AlignLeft | Qt.AlignVCenter, left)
        p.drawText(box, Qt.AlignRight | Qt.AlignVCenter, right)
    p.end()


def screenshot_panes(live, factor: float):
    """The visible panes' pictures at ``factor`` x their size ([PaneShot]; runs the
    engine and the consistency guard: call off the GUI thread)."""
    s, sl = live.state, live.slice
    panes = [(p.role, p.size_px) for p in live.view.visible_panes()]
    pixels = live.scan.display_slice(s.plane, s.index, s.radiological).pixels
    return render_panes(
        panes, pixels.shape, sl.spacing, s.zoom, s.center, pixels, live.renderer.cache_key(live.upscaler, live.key()), s.window, factor,
        live.upscaler, live.renderer.cache, swipe=s.swipe, diff_lut=DIFF_LUT, mirror=mirrored(live.key()),
        data_consistent=live.guard.data_consistent,
    )


def render_screenshot(live, factor: float, overlay: bool = True) -> QImage:
    """The visible panes at ``factor`` x their size (runs the engine: call off the GUI thread)."""
    shots = screenshot_panes(live, factor)
    rgb, lefts = side_by_side(shots, gap=max(1, int(round(2 * factor))))
    img = qimage2ndarray.array2qimage(rgb).convertToFormat(QImage.Format_RGB32)
    if overlay:
        draw_overlay(img, shots, lefts, live, factor)
    return img


class ScreenshotDialog(QDialog):
    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.setWindowTitle("Save screenshot")
        self.saved: Path | None = None
        self.tasks = Background(self)
        w = sum(p.size_px[0] for p in win.view.visible_panes())
        h = max(p.size_px[1] for p in win.view.visible_panes())
        self.factor = QComboBox()
        for f in FACTORS:
            self.factor.addItem(f"x{f}  ({w * f} x {h * f} pixels)", f)
        self.overlay = QCheckBox("Overlay text (plane, slice, zoom, window, orientation)")
        self.overlay.setChecked(True)
        s = win.state
        default = Path(win.settings.last_folder) / f"metazoom_{s.plane}_{s.index + 1:03d}_x{s.zoom:.2f}.png"
        self.path = QLineEdit(str(default))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        holder = QWidget()
        holder.setLayout(row)
        self.status = QLabel("")
        form = QFormLayout(self)
        form.addRow("Resolution", self.factor)
        form.addRow("", self.overlay)
        form.addRow("File", holder)
        form.addRow("", self.status)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", self.path.text(), "PNG (*.png)")
        if path:
            self.path.setText(path)

    def save(self) -> None:
        out = Path(self.path.text()).expanduser()
        if out.suffix.lower() != ".png":
            out = out.with_suffix(".png")
        factor, overlay, live = self.factor.currentData(), self.overlay.isChecked(), self.win.live
        self.buttons.setEnabled(False)
        self.status.setText("Rendering…")

        def work():
            img = render_screenshot(live, factor, overlay)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.part")
            if not img.save(str(tmp), "PNG"):
                raise OSError(f"could not write {tmp}")
            tmp.replace(out)
            return out

        self.tasks.run(work, self._saved, self._failed, name="metazoom-screenshot")

    def _saved(self, out: Path) -> None:
        self.saved = out
        self.status.setText(f"Saved {out}")
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.buttons.setEnabled(True)
        self.status.setText("Failed")
        QMessageBox.critical(self, "Screenshot failed", describe_error(self.path.text(), error))
