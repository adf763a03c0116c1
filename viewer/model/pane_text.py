"""What each pane's four corners say: its title, the zoom and the engine, the slice, the
window or the difference scale.  No Qt (the overlay widget only places the text).

A pane titled META-SRGAN never silently shows bicubic: when it does (the engine is
loading or missing, SR is off for this scan, the view is not enlarged) its title says
so and why.  The pieces are formatted by ``readout``; this module decides which pane
says what.
"""

from __future__ import annotations

from dataclasses import dataclass

from .readout import difference_text, engine_text, slice_text, window_text, zoom_text
from .sr_policy import AI_LABEL

TITLES = {"bicubic": "BICUBIC", "sr": "META-SRGAN", "difference": "|SR − BICUBIC|", "swipe": "BICUBIC ◂ ▸ META-SRGAN",
          "disagreement": "DATA DISAGREEMENT"}
#: Panes that show Meta-SRGAN (or a picture made from it).
SR_ROLES = ("sr", "swipe", "difference", "disagreement")
#: Panes that show a map made from the SR frame rather than the frame itself.
MAP_ROLES = ("difference", "disagreement")

_WARN = "<span style='color:#e0a030'>{}</span>"
_ERROR = "<span style='color:#e74c3c'>{}</span>"
_UNTRAINED = " <span style='color:#ff6b5b'>· UNTRAINED WEIGHTS</span>"
_LABEL = "<br><span style='color:#9aa4ae; font-size:8pt; font-weight:normal'>{}</span>"


@dataclass(frozen=True)
class EngineStatus:
    """The engine as the SR panes report it: ``note`` ("loading" or "unavailable") when
    there is none, else its device, trunk and the last frame's times."""

    note: str | None = None
    device: str = "cpu"
    backend: str | None = None
    sr_ms: float | None = None
    encode_ms: float | None = None
    trained: bool = True
    #: the model's word for the titles (``engine.models.model_label``)
    model: str | None = None

    @property
    def present(self) -> bool:
        return self.note is None


def pane_name(role: str, model: str | None = None) -> str:
    """What a pane shows; an SR pane names the model that made it (``engine.models.model_label``),
    e.g. ``META-SRGAN (fidelity)``.  ``model`` None: no engine, so no model to name."""
    name = TITLES[role]
    return f"{name} ({model})" if model and role in SR_ROLES else name


def engine_line(engine: EngineStatus) -> str:
    """``CPU · Winograd fp32 · SR 180 ms``, or why there is no Meta-SRGAN."""
    if not engine.present:  # the SR panes show bicubic then: say so, never pass it off as SR
        return "Meta-SRGAN loading…" if engine.note == "loading" else "Meta-SRGAN unavailable"
    return engine_text(engine.device, engine.sr_ms, engine.encode_ms, engine.backend)


def progress_line(ready: int, n_slices: int) -> str:
    """'SR ready for 87/120 slices' (on a line of its own) while the background encodes
    fill the plane; '' once every slice is ready."""
    return "" if ready >= n_slices else f"<br>SR ready for {ready}/{n_slices} slices"


def slice_line(plane: str, index: int, n_slices: int, position_mm: float | None, colour_note: str | None = None) -> str:
    """The slice, its position (None: the scan has no geometry) and a colour scan's note."""
    text = slice_text(plane, index, n_slices, position_mm)
    return text + (f"<br>{_WARN.format(colour_note)}" if colour_note else "")


@dataclass(frozen=True)
class PaneFacts:
    """What every pane's text is made from, gathered once per update.

    ``bicubic_why``: why the SR panes show bicubic (``sr_policy.sr_pane_state``), None
    when they show Meta-SRGAN; ``rendering``: the current view's SR frame is on its way;
    ``failed``: it failed; ``difference_top``: the difference pane's scale (None: not
    made yet); ``engine``: the engine line with the background progress; ``model``: the
    model the SR panes name (None: no engine)."""

    zoom: float
    scale: tuple[float, float]
    sr_scale: tuple[float, float] | None
    engine: str
    slice: str
    window: tuple[float, float]
    bicubic_why: str | None = None
    untrained: bool = False
    rendering: bool = False
    failed: bool = False
    difference_top: float | None = None
    model: str | None = None


def pane_title(role: str, facts: PaneFacts) -> str:
    """The pane's title: what it shows, and when an SR pane cannot show Meta-SRGAN, why."""
    title = pane_name(role, facts.model)
    if facts.untrained and role != "bicubic":
        title += _UNTRAINED
    why = facts.bicubic_why
    if why and role in ("sr", "swipe"):
        title += " " + _WARN.format(f"· showing bicubic ({why})")
    elif why and role in MAP_ROLES:
        title += " " + _WARN.format(f"· no SR frame ({why})")
    if role in SR_ROLES and facts.rendering:
        title += " " + _WARN.format("· rendering…")
    if role in SR_ROLES and facts.failed:
        title += " " + _ERROR.format("· SR failed")
    if role != "bicubic":  # every SR picture carries it
        title += _LABEL.format(AI_LABEL)
    return title


def pane_corners(role: str, facts: PaneFacts, hover: str = "") -> dict[str, str]:
    """The four corners' text of a pane of ``role``; ``hover``: the value under the
    cursor (its own line), shown under the window or the difference scale; for the
    disagreement map, its whole legend (the guard's colour scale and the value)."""
    if role == "bicubic" or facts.bicubic_why:
        zoom = zoom_text(facts.zoom, facts.scale, with_sr=False)
    else:
        # the SR note on a line of its own: one line collided with the pane's title in a
        # half-width pane (a coronal view of thick slices reads rows and columns apart)
        zoom = zoom_text(facts.zoom, facts.scale, facts.sr_scale, sep="<br>")
    top_right = zoom if role == "bicubic" else f"{zoom}<br>{facts.engine}"
    # the map panes are not windowed: their own scale, not W/L
    if role == "disagreement":
        bottom_right = ""
    elif role == "difference":
        bottom_right = difference_text(facts.difference_top)
    else:
        bottom_right = window_text(facts.window)
    return {"top_left": pane_title(role, facts), "top_right": top_right, "bottom_left": facts.slice,
            "bottom_right": bottom_right + hover}
