"""Typed export errors.  Each names the target (or source) and the reason in words.

The GUI edge and ``metazoom-upscale`` catch ``ExportError`` (a ``MetaZoomError``)
and show ``str(err)``: ``"<path>: <reason>"``.
"""

from __future__ import annotations

from ..errors import PathError


class ExportError(PathError):
    """An export could not be done.  ``.path``: the file or folder concerned; ``.reason``: why."""


class TargetExistsError(ExportError):
    """A file the export would write already exists and ``overwrite`` was not given."""


class SourceTargetError(ExportError):
    """The export would write over (or into the folder of) the scan it reads."""


class ExportRequestError(ExportError):
    """The request itself is inconsistent: a scale outside the method's range, a plane
    for a format that has none, a slice range outside the volume..."""


class BurnedInTextError(ExportRequestError):
    """A de-identified export of images whose pixels may carry burned-in text (names,
    dates) that header de-identification cannot remove; ``accept_burned_in`` overrides."""


class ExportWriteError(ExportError):
    """Writing failed (disk full, permissions, I/O error); nothing was left behind.
    ``.errno`` is the operating system's error number (e.g. ENOSPC)."""

    def __init__(self, path, reason: str, errno: int | None = None):
        self.errno = errno
        super().__init__(path, reason)
