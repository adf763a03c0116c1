"""Where Meta-SRGAN runs, and what the panes then say.  No Qt.

Per axis: super-resolution runs wherever any axis is enlarged.  The network's pair
is the zoom clamped into its range, (1, 4] per axis: above x4 it runs at x4 and
bicubic does the rest; an axis at x1 or below (the columns of a coronal view of a
thick-slice series: rows x3.56, cols x0.97) runs at ``AXIS_FLOOR`` and bicubic takes
it down to the zoom.  Only a view enlarged on neither axis has no SR frame.
"""

from __future__ import annotations

from engine.geometry import SR_SCALE_MAX

#: The network's factor on an axis zoomed x1 or less while the other is enlarged:
#: just inside its range (1, 4], so that axis is a mild enlargement the bicubic step
#: then takes back down (x1.1 -> x0.97 reads ~0.9 SR pixels per screen pixel).
AXIS_FLOOR = 1.1

AI_LABEL = "AI-enhanced · research software, not for diagnosis"


def sr_scale_for(scale) -> tuple[float, float] | None:
    """The factor pair the network runs at for a zoom ``(r_y, r_x)``, or None when
    neither axis is enlarged."""
    ry, rx = float(scale[0]), float(scale[1])
    if max(ry, rx) <= 1.0:
        return None
    return (min(max(ry, AXIS_FLOOR) if ry <= 1.0 else ry, SR_SCALE_MAX), min(max(rx, AXIS_FLOOR) if rx <= 1.0 else rx, SR_SCALE_MAX))


def _x(v: float) -> str:
    return f"x{v:.0f}" if abs(v - round(v)) < 1e-9 else f"x{v:.2f}"


def sr_note(scale, sr_scale) -> str:
    """What the network did for this zoom, for the SR panes: '' when it ran at the
    zoom itself; else e.g. 'SR at x4 + bicubic' or 'SR rows x3.56, cols x1.10 + bicubic'."""
    if sr_scale is None:
        return "no SR: not enlarged (x1 and below)"
    if tuple(sr_scale) == (float(scale[0]), float(scale[1])):
        return ""
    sy, sx = sr_scale
    at = _x(sy) if abs(sy - sx) < 1e-9 else f"rows {_x(sy)}, cols {_x(sx)}"
    return f"SR at {at} + bicubic"


def sr_pane_state(engine_note: str | None, has_engine: bool, sr_scale, sr_wanted: bool, blocked_reason: str | None) -> str | None:
    """Why an SR pane shows bicubic right now, or None when it shows Meta-SRGAN:
    the engine is loading or unavailable, SR is off for this scan (a quantitative
    map), or the view is not enlarged."""
    if not has_engine:
        return "Meta-SRGAN loading" if engine_note == "loading" else "Meta-SRGAN unavailable"
    if not sr_wanted:
        return f"SR off: {blocked_reason}" if blocked_reason else "SR off"
    if sr_scale is None:
        return "x1 and below"
    return None
