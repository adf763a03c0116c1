"""Instances on disk: the folder a retrieve fills, and the files a send reads.

A retrieved instance is written under a temporary name and renamed into place, so a
folder never holds half a file, whatever stops the retrieve; it is then made read-only
(the cached copy of a source is never modified).  Its name is its SOP Instance UID,
checked to be digits and dots (a server cannot make us write elsewhere).
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from .errors import PacsLimitError, PacsProtocolError
from .limits import MAX_INSTANCE_BYTES, MAX_INSTANCES, MAX_RETRIEVE_BYTES
from .records import valid_uid

SUFFIX = ".dcm"


class InstanceFolder:
    """Receives instances (encoded bytes or pydicom datasets) for ``server``.

    Thread-safe: C-GET and C-MOVE deliver on the association's thread.  ``on_file`` is
    called with each new file's path after it is in place."""

    def __init__(self, folder: Path, server: str, on_file=None, max_bytes: int = MAX_RETRIEVE_BYTES) -> None:
        self.folder = Path(folder)
        self.server = server
        self.on_file = on_file
        self.max_bytes = max_bytes
        self.received: dict[str, Path] = {}
        self.refused: dict[str, str] = {}
        self.bytes = 0
        self._lock = threading.Lock()
        self.folder.mkdir(parents=True, exist_ok=True)
        for p in self.folder.glob(f"*{SUFFIX}"):  # an earlier, interrupted retrieve: kept
            self.received[p.stem] = p
        for p in self.folder.glob(".*.part"):  # a crash mid-write (the only way one is left)
            p.unlink(missing_ok=True)

    def path_for(self, sop_uid: str) -> Path:
        if not valid_uid(sop_uid):
            raise PacsProtocolError(self.server, f"instance UID {sop_uid[:80]!r} is not a DICOM UID")
        return self.folder / f"{sop_uid}{SUFFIX}"

    def has(self, sop_uid: str) -> bool:
        return sop_uid in self.received

    def add_bytes(self, sop_uid: str, data: bytes) -> Path:
        """Write one encoded instance (a DICOM file's bytes, preamble included)."""
        if len(data) > MAX_INSTANCE_BYTES:
            raise PacsLimitError(self.server, f"instance {sop_uid} is {len(data) / 2**20:.0f} MB, above the "
                                 f"{MAX_INSTANCE_BYTES // 2**20} MB limit per instance")
        return self._write(sop_uid, lambda f: f.write(data), len(data))

    def add_dataset(self, ds) -> Path:
        """Write one pydicom dataset (with its file meta) as a DICOM file."""
        from io import BytesIO

        buf = BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        return self.add_bytes(str(ds.SOPInstanceUID), buf.getvalue())

    def _write(self, sop_uid: str, write, size: int) -> Path:
        target = self.path_for(sop_uid)
        with self._lock:
            if sop_uid in self.received:
                return self.received[sop_uid]  # never rewritten: the copy stays as it arrived
            if len(self.received) >= MAX_INSTANCES:
                raise PacsLimitError(self.server, f"more than {MAX_INSTANCES} instances in one retrieve")
            if self.bytes + size > self.max_bytes:
                raise PacsLimitError(self.server, f"the retrieve passed {self.max_bytes / 2**30:.1f} GB; stopped there")
            self.bytes += size
        tmp = self.folder / f".{sop_uid}.{threading.get_ident()}.part"
        try:
            with open(tmp, "wb") as f:
                write(f)
            os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            with self._lock:
                self.bytes -= size
            raise
        with self._lock:
            self.received[sop_uid] = target
        if self.on_file is not None:
            self.on_file(target)
        return target

    def files(self) -> list[Path]:
        with self._lock:
            return sorted(self.received.values())


def files_to_send(paths) -> list[Path]:
    """The DICOM files named by ``paths`` (files, or folders searched recursively),
    each once, in a stable order.  Files that are not DICOM are left out."""
    out, seen = [], set()
    for p in map(Path, paths):
        candidates = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for q in candidates:
            key = q.resolve()
            if key in seen or q.name.startswith("."):
                continue
            seen.add(key)
            if _is_dicom(q):
                out.append(q)
    return out


def _is_dicom(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"
