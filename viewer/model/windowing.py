"""Window/level presets and the right-drag gesture.  No Qt.  The auto window and the
rule from values to grey levels are the engine's (``engine.windowing``)."""

from __future__ import annotations

from engine.io.volume import WindowPreset

#: The usual CT presets (Hounsfield units).  On MR they are only a starting point:
#: MR intensities have no absolute scale, which is why "Auto" exists.
STANDARD_PRESETS = (
    WindowPreset("Brain", 40.0, 80.0),
    WindowPreset("Soft tissue", 40.0, 400.0),
    WindowPreset("Bone", 400.0, 1800.0),
)


def drag_window(start: tuple[float, float], dx: float, dy: float) -> tuple[float, float]:
    """Right-drag: right widens, left narrows (x2 per 200 px); up raises the level,
    down lowers it (one full width per 400 px)."""
    center, width = start
    new_width = max(width * 2.0 ** (dx / 200.0), 1e-6)
    return center - dy * width / 400.0, new_width
