"""The overlay's words and numbers, formatted without Qt (so tests can read them)."""

from __future__ import annotations

from .sr_policy import sr_note

PLANE_NAMES = {"axial": "Axial", "coronal": "Coronal", "sagittal": "Sagittal"}


def zoom_text(zoom: float, scale: tuple[float, float], sr_scale: tuple[float, float] | None = None, with_sr: bool = True,
              sep: str = " · ") -> str:
    """``x2.37``; per-axis factors when the pixels are not square; and, for a pane that
    shows Meta-SRGAN (``with_sr``), what the network ran at when that is not the zoom
    itself (above x4, or an axis at x1 or below: ``sr_policy``).  A bicubic pane gets
    the zoom only.  ``sep`` joins the two (a line break where the text is narrow room)."""
    ry, rx = scale
    text = f"x{zoom:.2f}" if abs(ry - rx) < 1e-9 else f"x{zoom:.2f} (rows x{ry:.2f}, cols x{rx:.2f})"
    if not with_sr:
        return text
    note = sr_note(scale, sr_scale)
    return text + (f"{sep}{note}" if note else "")


def slice_text(plane: str, index: int, count: int, position_mm: float | None) -> str:
    """``Axial 13/26 · +12.5 mm``; without the position when the scan has no geometry."""
    text = f"{PLANE_NAMES.get(plane, plane)} {index + 1}/{count}"
    return text if position_mm is None else text + f" · {position_mm:+.1f} mm"


def difference_text(hi: float | None) -> str:
    """The difference pane's own scale (it is not windowed: W/L does not apply)."""
    return "|SR − bicubic| scale: …" if hi is None else f"|SR − bicubic| 0 to {hi:.4g}"


def window_text(window: tuple[float, float]) -> str:
    center, width = window
    return f"W {width:.0f}  L {center:.0f}"


def value_text(pixel, value, sr_value=None) -> str:
    if pixel is None:
        return ""
    row, col = pixel
    text = f"[{row}, {col}] = {value:.5g}"
    if sr_value is not None:
        text += f" · SR {sr_value:.5g}"
    return text


def engine_text(device: str, sr_ms: float | None, encode_ms: float | None = None, backend: str | None = None) -> str:
    text = device.upper() + (f" · {backend}" if backend else "")
    if sr_ms is not None:
        text += f" · SR {sr_ms:.0f} ms"
    if encode_ms:
        text += f" (+ encode {encode_ms / 1000:.1f} s)"
    return text
