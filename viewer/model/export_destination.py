"""Where the export dialog proposes to write: never inside the scan's own folders.

Exports written into the data tree they came from get swept up by the next folder
import (or sent back to the archive with the originals), so the proposal skips any
folder under the one the scan was opened from or its files sit in: the folder of the
last export that succeeded, else ``~/Documents/MetaZoom exports``, else
``~/MetaZoom exports``, else one in the system's temporary folder.  No Qt.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

FOLDER_NAME = "MetaZoom exports"


def source_folders(opened, sources) -> list[Path]:
    """The folders a scan comes from: the folder it was opened as (or a file's folder),
    and each source file's folder."""
    out = []
    if opened:
        p = Path(opened).expanduser()
        out.append(p if p.is_dir() else p.parent)
    out += [Path(s).parent for s in sources or ()]
    return list(dict.fromkeys(p.resolve() for p in out))


def inside(path, folders) -> bool:
    p = Path(path).expanduser().resolve()
    return any(p == f or p.is_relative_to(f) for f in folders)


def default_destination(remembered, opened, sources, home=None) -> Path:
    """The first of the remembered folder and the standard ones that is outside the
    scan's folders."""
    home = Path(home) if home is not None else Path.home()
    folders = source_folders(opened, sources)
    candidates = [Path(remembered).expanduser()] if remembered else []
    if (home / "Documents").is_dir():
        candidates.append(home / "Documents" / FOLDER_NAME)
    candidates += [home / FOLDER_NAME, Path(tempfile.gettempdir()) / FOLDER_NAME]
    for c in candidates:
        if not inside(c, folders):
            return c
    return candidates[-1]
