"""Typed errors the GUI edge and the CLIs catch and show to the user."""

from __future__ import annotations

from pathlib import Path


class MetaZoomError(Exception):
    """Base of every error the engine raises on purpose."""


class WeightsError(MetaZoomError):
    """A weights file is missing, corrupt, truncated, foreign or mismatched."""

    def __init__(self, path, reason: str):
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


class UntrainedWeightsWarning(UserWarning):
    """The weights were never trained: the 'SR' output is the network's initial state."""
