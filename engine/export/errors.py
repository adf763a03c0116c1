"""Typed export errors.  Each names the target (or source) and the reason in words.

The GUI edge and ``metazoom-upscale`` catch ``ExportError`` (a ``MetaZoomError``)
and show ``str(err)``: ``"<path>: <reason>"``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MetaZoomError


class ExportError(MetaZoomError):
    """An export could not be done.  ``.path``: the file or folder concerned; ``.reason``: why."""

    def __init__(self, path, reason: str):
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path is not None else reason)


class TargetExistsError(ExportError):
    """A file the export would write already exists and ``overwrite`` was not given."""


class SourceTargetError(ExportError):
    """The export would write over (or into the folder of) the scan it reads."""


class ExportRequestError(ExportError):
    """The request itself is inconsistent: a scale outside the method's range, a plane
    for a format that has none, a slice range outside the volume..."""


class ExportWriteError(ExportError):
    """Writing failed (disk full, permissions, I/O error); nothing was left behind.
    ``.errno`` is the operating system's error number (e.g. ENOSPC)."""

    def __init__(self, path, reason: str, errno: int | None = None):
        self.errno = errno
        super().__init__(path, reason)
