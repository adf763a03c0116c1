"""What the mouse wheel and the drags mean (FSLeyes keeps interaction profiles apart
from views too).  No Qt: the panes report gestures, this says what they change.

Wheel, default ("zoom"): wheel zooms about the cursor, Ctrl+wheel moves slices.
Clinical ("slice", as 3D Slicer, ITK-SNAP, OHIF and Weasis): wheel moves slices,
Ctrl+wheel zooms.

Drags (the pane names the gesture from the button and the pan mode): "pan" moves the
view with the pointer, "window" is the right-drag window/level, "swipe" moves the
divider of the swipe pane.
"""

from __future__ import annotations

from dataclasses import dataclass

from .viewport import Viewport, clamp_zoom
from .windowing import drag_window

WHEEL_CONVENTIONS = ("zoom", "slice")
#: Qt reports 120 units per wheel notch.
NOTCH = 120.0
#: Zoom factor per notch: four notches double the zoom.
ZOOM_PER_NOTCH = 2.0 ** 0.25


@dataclass
class WheelAction:
    kind: str  # "zoom" or "slice"
    zoom_factor: float = 1.0
    slice_steps: int = 0


class WheelInterpreter:
    """Turns wheel deltas into zoom factors or whole slice steps.  Touchpads send
    fractions of a notch; slice steps accumulate them so a slow swipe still moves."""

    def __init__(self, convention: str = "zoom") -> None:
        self.convention = convention
        self._slice_remainder = 0.0

    @property
    def convention(self) -> str:
        return self._convention

    @convention.setter
    def convention(self, value: str) -> None:
        if value not in WHEEL_CONVENTIONS:
            raise ValueError(f"wheel convention must be one of {WHEEL_CONVENTIONS}, got {value!r}")
        self._convention = value

    def interpret(self, delta: float, ctrl: bool) -> WheelAction:
        """``delta``: Qt angle delta (120 per notch; positive = away from the user)."""
        zooms = (self._convention == "zoom") != bool(ctrl)
        notches = delta / NOTCH
        if zooms:
            return WheelAction("zoom", zoom_factor=ZOOM_PER_NOTCH**notches)
        self._slice_remainder += notches
        steps = int(self._slice_remainder)  # toward zero
        self._slice_remainder -= steps
        return WheelAction("slice", slice_steps=steps)


def zoom_about(viewport: Viewport, zoom: float, factor: float, x: float | None = None, y: float | None = None):
    """``(new zoom, new centre)`` for zooming by ``factor`` about pane pixel ``(x, y)``
    (None: the pane's centre), so that the point under the cursor stays put."""
    if x is None or y is None:
        x, y = viewport.size[0] / 2, viewport.size[1] / 2
    new = clamp_zoom(zoom * factor)
    return new, viewport.center_after_zoom(new, x, y)


@dataclass(frozen=True)
class Drag:
    """A drag from where it started: the view then (None before a slice is shown) and
    the window then.  Every move is measured from the start, so no rounding accumulates."""

    viewport: Viewport | None
    window: tuple[float, float]

    def change(self, gesture: str, dx: float, dy: float, x: float, pane_width: int) -> dict:
        """The view state's changes (``ViewState.update`` keywords) for a drag by
        ``(dx, dy)`` pane pixels, the pointer now at ``x``; {} for a gesture without one."""
        if gesture == "pan" and self.viewport is not None:
            return {"center": self.viewport.center_after_pan(dx, dy)}
        if gesture == "window":
            center, width = drag_window(self.window, dx, dy)
            return {"window": (float(center), max(float(width), 1e-6))}
        if gesture == "swipe":
            return {"swipe": min(max(x / max(pane_width, 1), 0.0), 1.0)}
        return {}
