"""Opening input files without hanging: only regular files are ever read.

A named pipe, a device or a socket met while scanning a folder would block ``open``
(a FIFO with no writer) or ``read`` forever.  Every reader opens through
``open_regular``: the open itself cannot block (``O_NONBLOCK``), and anything that is
not a regular file is refused before a byte is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import UnsupportedScanError

NOT_REGULAR = "not a regular file (a named pipe, device or socket); only files are read"


def is_regular_file(path) -> bool:
    """True for a regular file (or a link to one); never opens it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def open_regular(path):
    """``open(path, "rb")`` for a regular file; ``UnsupportedScanError`` for anything else."""
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsupportedScanError(Path(path), NOT_REGULAR)
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
