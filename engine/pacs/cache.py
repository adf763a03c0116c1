"""The retrieve cache: one folder per series under the user's cache directory
(``<cache>/MetaZoom/pacs/<server>/<study>/<series>/``), bounded in size.

Before a retrieve, the least recently used series are removed until the cache is
under its bound; the series being retrieved (or open) is never removed, and one
retrieve may not bring more than the whole bound.  Cached files are read-only and are
never rewritten (an instance already there is kept as it arrived).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

from .servers import DEFAULT_CACHE_MB, cache_dir

def _size(folder: Path) -> int:
    total = 0
    for p in folder.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def _remove(folder: Path) -> None:
    def writable(func, path, _exc):
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD)  # Windows will not delete read-only files
        func(path)

    shutil.rmtree(folder, onexc=writable) if "onexc" in shutil.rmtree.__code__.co_varnames else shutil.rmtree(folder, onerror=writable)


class RetrieveCache:
    def __init__(self, root: Path | str | None = None, max_mb: int = DEFAULT_CACHE_MB) -> None:
        self.root = Path(root) if root is not None else cache_dir()
        self.max_bytes = int(max_mb) * 2**20

    def folder_for(self, server, study_uid: str, series_uid: str) -> Path:
        key = hashlib.sha256(server.address.encode()).hexdigest()[:12]  # not the name: it may change
        return self.root / key / study_uid / series_uid

    def series_folders(self) -> list[Path]:
        if not self.root.exists():
            return []
        return [p for p in self.root.glob("*/*/*") if p.is_dir()]

    def size(self) -> int:
        return _size(self.root) if self.root.exists() else 0

    def touch(self, folder: Path) -> None:
        """Mark ``folder`` as just used (its modification time: no extra file beside the
        instances, so the folder opens as a plain DICOM series)."""
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)

    @staticmethod
    def _last_used(folder: Path) -> float:
        try:
            return folder.stat().st_mtime
        except OSError:
            return 0.0

    def make_room(self, keep: Path, incoming: int = 0) -> list[Path]:
        """Remove least recently used series (never ``keep``) until the cache holds at
        most its bound less ``incoming`` bytes; the folders removed."""
        keep = Path(keep).resolve()
        folders = sorted((f for f in self.series_folders() if f.resolve() != keep), key=self._last_used)
        sizes = {f: _size(f) for f in folders}
        total = sum(sizes.values()) + (_size(keep) if keep.exists() else 0)
        removed = []
        for f in folders:
            if total + incoming <= self.max_bytes:
                break
            _remove(f)
            total -= sizes[f]
            removed.append(f)
            for parent in (f.parent, f.parent.parent):  # empty study and server folders go too
                try:
                    parent.rmdir()
                except OSError:
                    break
        return removed

    def room_for(self, keep: Path) -> int:
        """Bytes a retrieve into ``keep`` may bring: the bound less what ``keep`` holds."""
        return max(0, self.max_bytes - (_size(keep) if keep.exists() else 0))


def retrieve_to_cache(client, server, study_uid: str, series_uid: str, cache: RetrieveCache, cancel=None,
                      progress=None, on_file=None):
    """Retrieve one series into its cache folder (room made first); the
    ``RetrieveResult``.  ``on_file(path)`` for each instance as it lands."""
    from .instances import InstanceFolder

    folder = cache.folder_for(server, study_uid, series_uid)
    cache.make_room(folder)
    cache.touch(folder)
    target = InstanceFolder(folder, server.label, on_file=on_file, max_bytes=cache.room_for(folder))
    return client.retrieve(study_uid, series_uid, target, cancel, progress)
