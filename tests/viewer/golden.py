"""Golden images of the panes: capture a state of the window as a small picture, and
compare two such pictures with a tolerance.

A picture is RGBA: the alpha channel is 0 where text is drawn over the pane (the
overlay's labels, the colour scale, the loupe's caption), 255 elsewhere.  Two pictures
are "the same" when

- over the image pixels (text in neither picture): the mean absolute difference is at
  most ``MEAN_TOL`` grey levels (of 255, over pixels and channels).  This is what
  catches a wrong zoom, a shifted pan, a swapped pane or bicubic where Meta-SRGAN
  belongs (the smallest of these, bicubic in the SR pane at x2.5, moves the mean by
  0.2; a bfloat16 trunk against the float32 one by 0.02);
- over all pixels, text included: at most ``FRACTION_TOL`` of them differ by more than
  ``PIXEL_TOL`` in a channel.  Fonts differ between machines (hinting, antialiasing,
  the family itself), so text is held only to this: a missing loupe, colour bar or
  block of labels fails, a re-hinted glyph does not.

The difference pane shows |SR - bicubic| stretched to its own 99.5th percentile, so
small changes of the SR frame are magnified there: it gets ``DIFFERENCE_MEAN_TOL``
(bf16 against float32 moved its mean by 0.7 in our runs).

Pictures are taken at half resolution (2x2 pixel means): small files, and one-pixel
antialiasing differences even out while shifts of whole images do not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).resolve().parent / "golden"
#: The compare view's size in pixels (both panes and the 2-pixel gap), whatever the
#: menus and toolbar around it take on this machine.
VIEW_SIZE = (900, 440)
DOWNSCALE = 2
MEAN_TOL = 0.1
DIFFERENCE_MEAN_TOL = 1.5
PIXEL_TOL = 40
FRACTION_TOL = 0.01


@dataclass(frozen=True)
class Difference:
    mean: float  # over the image pixels
    fraction: float  # of all pixels off by more than PIXEL_TOL
    mean_tol: float = MEAN_TOL
    shape_ok: bool = True

    @property
    def ok(self) -> bool:
        return self.shape_ok and self.mean <= self.mean_tol and self.fraction <= FRACTION_TOL

    def __str__(self) -> str:
        if not self.shape_ok:
            return "the pictures differ in size"
        return (f"image pixels: mean |diff| {self.mean:.3f} (tolerance {self.mean_tol}); all pixels: {100 * self.fraction:.2f}% "
                f"off by more than {PIXEL_TOL} (tolerance {100 * FRACTION_TOL:.1f}%)")


def compare(a: np.ndarray, b: np.ndarray, mean_tol: float = MEAN_TOL) -> Difference:
    """``a`` and ``b``: (h, w, 4) uint8 pictures (alpha 0 = text), or (h, w, 3) without text."""
    if a.shape != b.shape:
        return Difference(float("inf"), 1.0, mean_tol, shape_ok=False)
    d = np.abs(a[..., :3].astype(np.int16) - b[..., :3].astype(np.int16))
    image = np.ones(a.shape[:2], bool)
    if a.shape[2] == 4:
        image = (a[..., 3] > 0) & (b[..., 3] > 0)
    mean = float(d[image].mean()) if image.any() else 0.0
    return Difference(mean, float((d.max(axis=2) > PIXEL_TOL).mean()), mean_tol)


def downscale(rgb: np.ndarray, k: int = DOWNSCALE) -> np.ndarray:
    h, w = (rgb.shape[0] // k) * k, (rgb.shape[1] // k) * k
    blocks = rgb[:h, :w].astype(np.float32).reshape(h // k, k, w // k, k, rgb.shape[2])
    return np.clip(blocks.mean(axis=(1, 3)) + 0.5, 0, 255).astype(np.uint8)


def text_rects(view):
    """(x, y, w, h) in ``view``'s pixels of the text drawn over its panes."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QLabel

    from viewer.tools.loupe import LoupeWidget
    from viewer.widgets.overlay import ColourScale

    rects = []
    for w in view.findChildren(QLabel) + view.findChildren(ColourScale) + view.findChildren(LoupeWidget):
        if not w.isVisibleTo(view):
            continue
        r = w.caption_rect().toAlignedRect() if isinstance(w, LoupeWidget) else w.rect()
        p = w.mapTo(view, QPoint(r.x(), r.y()))
        rects.append((p.x(), p.y(), r.width(), r.height()))
    return rects


def grab(view) -> np.ndarray:
    """What ``view`` shows (its children included): (h, w, 4) uint8, downscaled, alpha
    0 on text."""
    from PySide6.QtGui import QImage

    img = view.grab().toImage().convertToFormat(QImage.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    rgb = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)[:, : 3 * w].reshape(h, w, 3)
    alpha = np.full((h, w, 1), 255, np.uint8)
    for x, y, rw, rh in text_rects(view):
        alpha[max(y, 0) : y + rh, max(x, 0) : x + rw] = 0
    small = downscale(np.concatenate([rgb, alpha], axis=2))
    small[..., 3] = np.where(small[..., 3] == 255, 255, 0)  # a block touching text is text
    return small


def load(name: str) -> np.ndarray | None:
    from PIL import Image

    path = GOLDEN / f"{name}.png"
    return np.asarray(Image.open(path).convert("RGBA")) if path.exists() else None


def save(name: str, rgb: np.ndarray) -> Path:
    from PIL import Image

    GOLDEN.mkdir(parents=True, exist_ok=True)
    path = GOLDEN / f"{name}.png"
    Image.fromarray(rgb).save(path, optimize=True)
    return path


def wait_until(predicate, timeout_s: float, what: str) -> None:
    """Process Qt events until ``predicate()`` holds (no qtbot: module-scoped use)."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        QApplication.processEvents(QEventLoop.AllEvents, 20)
        time.sleep(0.005)


def settle(seconds: float = 0.05) -> None:
    """Let posted events, layouts and paints run."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents(QEventLoop.AllEvents, 10)
        time.sleep(0.005)
