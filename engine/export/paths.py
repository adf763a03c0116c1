"""Where export files go, and how they get there without harming anything.

Three promises (PRODUCT.md: "never touches the source files"):

1. The source is never a target: a planned file that *is* a source file (same
   inode or same resolved path) is refused, with or without ``overwrite``; a DICOM
   source's folder (and anything under it) is refused as a destination, so a derived
   series never lands among the files it was read from.
2. Nothing is overwritten unless ``overwrite=True``.
3. Nothing is half-written: every file is written into a hidden staging folder
   *inside the destination folder* (same filesystem, so ``os.replace`` is atomic),
   and only moved into place once the whole export succeeded.  Any exception,
   Ctrl-C or generator ``close()`` before that removes the staging folder (and the
   destination folders the export created).  The move itself rolls back if one
   rename fails, restoring the files it replaced.

An export killed outright (SIGKILL, power loss) cannot clean up: its staging folder,
which holds patient data, stays behind.  Each staging folder records its owner
(``OWNER``: host, process id, start time); the next export into that folder removes
the ones whose process is gone (same host) or that are over a day old (another
host), and says so (``Staging.removed``).  Folders without that record are not ours
and are left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from .errors import ExportError, SourceTargetError, TargetExistsError

STAGING_PREFIX = ".metazoom-export-"
#: The file in a staging folder that says which export made it.
OWNER = ".metazoom-owner.json"
#: A staging folder of another host is taken as abandoned after this long (s).
STALE_ELSEWHERE_S = 24 * 3600


class AbandonedStagingWarning(UserWarning):
    """Staging folders of an export that was killed were found in the destination and removed."""


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, but not ours to signal
    return True


def _abandoned(folder: Path) -> bool:
    """True when ``folder`` is a staging folder of ours whose export is gone."""
    try:
        owner = json.loads((folder / OWNER).read_text())
        host, pid, started = str(owner["host"]), int(owner["pid"]), float(owner["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # not made by MetaZoom (or not yet written): leave it alone
    if host == socket.gethostname():
        return pid != os.getpid() and not _process_alive(pid)
    return time.time() - started > STALE_ELSEWHERE_S


def remove_abandoned_staging(folder: Path) -> list[Path]:
    """Remove the staging folders in ``folder`` left by exports that were killed; returns them."""
    removed = []
    try:
        candidates = [p for p in Path(folder).iterdir() if p.name.startswith(STAGING_PREFIX) and p.name.endswith(".part")]
    except OSError:
        return removed
    for p in candidates:
        if p.is_dir() and not p.is_symlink() and _abandoned(p):
            shutil.rmtree(p, ignore_errors=True)
            if not p.exists():
                removed.append(p)
    return removed


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name the same file (hard links, symlinks, ``..``)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return Path(a).resolve() == Path(b).resolve()


def refuse_source(targets: Iterable[Path], sources: Iterable[Path], *, source_is_dicom: bool) -> None:
    """Raise ``SourceTargetError`` when a target is a source file, or (DICOM sources)
    when a target lies in a source file's folder or below it."""
    sources = [Path(s) for s in sources]
    src_dirs = {s.resolve().parent for s in sources} if source_is_dicom else set()
    for t in targets:
        t = Path(t)
        for s in sources:
            if same_file(t, s):
                raise SourceTargetError(t, f"is the source scan ({s.name}); MetaZoom never writes over its input, choose another name")
        parent = t.resolve().parent
        for d in src_dirs:
            if parent == d or d in parent.parents:
                raise SourceTargetError(
                    t.parent, f"holds the source DICOM series ({d}); write the derived series to another folder"
                )


def refuse_existing(targets: Iterable[Path], overwrite: bool) -> None:
    """Raise ``TargetExistsError`` for the first target that exists (unless ``overwrite``);
    a folder in a file's place is refused even with ``overwrite``."""
    for t in targets:
        t = Path(t)
        if t.is_dir():
            raise TargetExistsError(t, "is a folder; the export would write a file with this name")
        if not overwrite and (t.exists() or t.is_symlink()):
            raise TargetExistsError(t, "already exists; pass overwrite=True (--overwrite) to replace it")


def _open_new(path: Path) -> BinaryIO:
    """Open a fresh staging file.  (One place, so tests can make the disk 'full'.)"""
    return open(path, "xb")


class Staging:
    """The files of one export, staged in ``<folder>/.metazoom-export-XXXX.part/``.

    ``open(final)`` gives a binary file to write ``final``'s content into;
    ``commit()`` moves everything into place; ``abort()`` (also on any exception
    inside ``with``) removes every trace.
    """

    def __init__(self, folder: Path, overwrite: bool = False, sources: Iterable[Path] = ()):
        self.folder = Path(folder)
        self.overwrite = overwrite
        self.sources = [Path(s) for s in sources]
        self._created: Path | None = None  # top-most destination folder we created
        self._files: dict[Path, Path] = {}  # final -> staged
        self.dir: Path | None = None
        #: staging folders of killed exports removed on entry
        self.removed: list[Path] = []

    def __enter__(self) -> "Staging":
        missing = None
        for p in [self.folder, *self.folder.parents]:
            if p.exists():
                break
            missing = p
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._created = missing
            self.removed = remove_abandoned_staging(self.folder)
            self.dir = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, suffix=".part", dir=self.folder))
            owner = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
            (self.dir / OWNER).write_text(json.dumps(owner))
        except OSError as e:
            self._cleanup()
            self._remove_created()
            raise ExportError(self.folder, f"cannot write here ({e.strerror or e})") from None
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None or self.dir is not None:
            self.abort()
        return False

    def path(self, final: Path) -> Path:
        """The staging path of a planned final file (created on ``open``)."""
        final = Path(final)
        if final.parent.resolve() != self.folder.resolve():
            raise ValueError(f"{final} is not in the export folder {self.folder}")
        staged = self.dir / f"{len(self._files):05d}-{final.name}"
        self._files.setdefault(final, staged)
        return self._files[final]

    def open(self, final: Path) -> BinaryIO:
        return _open_new(self.path(final))

    def commit(self) -> list[Path]:
        """Move every staged file into place (rolled back if one move fails)."""
        placed: list[tuple[Path, Path | None, bool]] = []
        try:
            refuse_existing(self._files, self.overwrite)  # again: something may have appeared meanwhile
            for i, (final, staged) in enumerate(self._files.items()):
                if not staged.exists():
                    raise ExportError(final, "was planned but never written (internal error)")
                for s in self.sources:
                    if same_file(final, s):
                        raise SourceTargetError(final, "is the source scan; refusing to replace it")
                backup = None
                if final.exists() or final.is_symlink():
                    backup = self.dir / f"backup-{i:05d}"
                    os.replace(final, backup)
                placed.append((final, backup, False))
                os.replace(staged, final)
                placed[-1] = (final, backup, True)
        except BaseException:
            for final, backup, moved in reversed(placed):
                try:
                    if moved:
                        final.unlink(missing_ok=True)
                    if backup is not None:
                        os.replace(backup, final)
                except OSError:
                    pass
            raise
        finally:
            self._cleanup()
        self._created = None  # the folders we made now hold results
        return list(self._files)

    def abort(self) -> None:
        self._cleanup()
        self._remove_created()

    def _cleanup(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _remove_created(self) -> None:
        """Remove the destination folders this export created, if they are still empty."""
        if self._created is None:
            return
        p = self.folder
        while True:
            try:
                p.rmdir()
            except OSError:
                break
            if p == self._created:
                break
            p = p.parent
        self._created = None
