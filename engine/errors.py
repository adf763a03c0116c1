"""Typed errors the GUI edge and the CLIs catch and show to the user."""

from __future__ import annotations

from pathlib import Path


class MetaZoomError(Exception):
    """Base of every error the engine raises on purpose."""


def _rebuild(cls, message, state):
    err = Exception.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class PathError(MetaZoomError):
    """An error about one file or folder: ``.path`` (None when there is none) and
    ``.reason`` in words; ``str(err)`` is ``"<path>: <reason>"``.  The typed errors of
    the engine's parts (weights, scans, export) derive from it."""

    def __init__(self, path, reason: str):
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path is not None else reason)

    def __reduce__(self):
        # the default (cls(*args)) would call __init__ with the one formatted message:
        # rebuild from the attributes instead, so the errors cross process boundaries
        return _rebuild, (type(self), str(self), dict(self.__dict__))


class WeightsError(PathError):
    """A weights file is missing, corrupt, truncated, foreign or mismatched."""


class ModelNotShipped(WeightsError):
    """A named Meta-SRGAN model (``--model perceptual``) whose weights file is not in
    this installation; ``.path`` is the file looked for."""


class UntrainedWeightsWarning(UserWarning):
    """The weights were never trained: the 'SR' output is the network's initial state."""
