"""What the mouse wheel means (FSLeyes keeps interaction profiles apart from views too).

Default ("zoom"): wheel zooms about the cursor, Ctrl+wheel moves slices.
Clinical ("slice", as 3D Slicer, ITK-SNAP, OHIF and Weasis): wheel moves slices,
Ctrl+wheel zooms.
"""

from __future__ import annotations

from dataclasses import dataclass

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
