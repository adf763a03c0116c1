"""Run a function on a worker thread; get its result (or error) back on the GUI thread.

Every job thread of the viewer (engine loads, scan reads, exports, PACS retrieves and
sends) is started here, so that closing the main window can find them all: it asks
the cancellable ones to stop (``cancel_all``: an export stops between slices and
removes what it staged, a retrieve or a send between images) and waits a moment for
them (``join_all``) before the window's Qt objects go away.  A job that cannot be
interrupted (a read, an engine load) and outlives the wait reports to a mailbox that
is gone and is dropped there (``Mailbox.post``); the app joins it before exiting.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from PySide6.QtCore import QObject

from .mailbox import Mailbox

log = logging.getLogger(__name__)

#: running job threads -> the event that asks each to stop (None: cannot be cancelled)
_jobs: dict[threading.Thread, threading.Event | None] = {}
_jobs_lock = threading.Lock()


def start_job(target: Callable[[], None], name: str, cancel: threading.Event | None = None) -> threading.Thread:
    """Run ``target()`` on a daemon thread known to ``cancel_all`` and ``join_all``;
    ``cancel``: the event ``target`` watches to stop early.  ``target`` reports back
    through its own ``Mailbox``."""

    def run() -> None:
        try:
            target()
        finally:
            with _jobs_lock:
                _jobs.pop(threading.current_thread(), None)

    t = threading.Thread(target=run, name=name, daemon=True)
    with _jobs_lock:
        _jobs[t] = cancel
    t.start()
    return t


def running_jobs() -> list[str]:
    """The names of the job threads still running."""
    with _jobs_lock:
        return sorted(t.name for t in _jobs if t.is_alive())


def cancel_all() -> None:
    """Ask every cancellable job to stop (it stops at its next check)."""
    with _jobs_lock:
        events = [e for e in _jobs.values() if e is not None]
    for e in events:
        e.set()


def join_all(timeout: float = 60.0) -> bool:
    """Wait for every job thread still running: a process that exits while one is
    inside torch or a reader aborts ("terminate called without an active exception",
    exit 134), and an export cut off mid-slice leaves its staging folder.  True if
    all finished in time."""
    deadline = time.monotonic() + timeout
    with _jobs_lock:
        threads = list(_jobs)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


class Background(QObject):
    """``run(fn, on_done, on_error)``: ``fn()`` runs on a daemon thread; exactly one
    of the callbacks is later called on the GUI thread (none once this object is
    gone: a window closed while a job ran).  ``busy`` counts jobs in flight."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._mailbox = Mailbox(self)
        self.busy = 0

    def run(self, fn: Callable[[], object], on_done: Callable[[object], None], on_error: Callable[[BaseException], None],
            name: str = "metazoom-task", cancel: threading.Event | None = None) -> None:
        """``cancel``: the event ``fn`` watches to stop early (set by ``cancel_all``)."""
        self.busy += 1

        def deliver(callback, value):
            self.busy -= 1
            callback(value)

        def target():
            try:
                result = fn()
            except Exception as e:  # handed to on_error on the GUI thread, which shows it
                log.debug("background job %s failed", name, exc_info=True)
                self._mailbox.post(lambda error=e: deliver(on_error, error))
            else:
                self._mailbox.post(lambda result=result: deliver(on_done, result))

        start_job(target, name, cancel)
