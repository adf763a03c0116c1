"""Which model makes the SR pictures, in words for labels (saved screenshots, the
export dialog).  No Qt."""

from __future__ import annotations


def model_words(upscaler) -> str | None:
    """``Meta-SRGAN fidelity``, ``Meta-SRGAN perceptual`` or ``Meta-SRGAN (site weights
    NAME)`` for the loaded engine (``engine.models.model_name``); None without one."""
    from engine.models import model_name

    info = getattr(upscaler, "info", None)
    return None if info is None else model_name(getattr(info, "path", None))
