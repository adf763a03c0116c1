"""The overlay's words and numbers, formatted without Qt (so tests can read them)."""

from __future__ import annotations

PLANE_NAMES = {"axial": "Axial", "coronal": "Coronal", "sagittal": "Sagittal"}


def zoom_text(zoom: float, scale: tuple[float, float], sr_scale: tuple[float, float] | None) -> str:
    """``x2.37``; per-axis factors when the pixels are not square; and what the
    network ran at when the zoom is beyond it (above x4) or below it (x1 and less)."""
    ry, rx = scale
    text = f"x{zoom:.2f}" if abs(ry - rx) < 1e-9 else f"x{zoom:.2f} (rows x{ry:.2f}, cols x{rx:.2f})"
    if sr_scale is None:
        return text + " · SR off at x1 and below"
    if tuple(sr_scale) != (ry, rx):
        sy, sx = sr_scale
        at = f"x{sy:.0f}" if abs(sy - sx) < 1e-9 else f"x{sy:.2f}/x{sx:.2f}"
        return text + f" · SR at {at} + bicubic"
    return text


def slice_text(plane: str, index: int, count: int, position_mm: float) -> str:
    return f"{PLANE_NAMES.get(plane, plane)} {index + 1}/{count} · {position_mm:+.1f} mm"


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
