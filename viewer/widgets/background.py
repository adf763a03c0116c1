"""Run a function on a worker thread; get its result (or error) back on the GUI thread."""

from __future__ import annotations

import logging
import threading
from typing import Callable

from PySide6.QtCore import QObject

from .mailbox import Mailbox

log = logging.getLogger(__name__)


_threads: set = set()
_threads_lock = threading.Lock()


def join_all(timeout: float = 60.0) -> bool:
    """Wait for every job thread still running (engine loads, scan reads): a process
    that exits while one is inside torch or a reader aborts ("terminate called
    without an active exception", exit 134).  True if all finished in time."""
    import time

    deadline = time.monotonic() + timeout
    with _threads_lock:
        threads = list(_threads)
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

    def run(self, fn: Callable[[], object], on_done: Callable[[object], None], on_error: Callable[[BaseException], None], name: str = "metazoom-task") -> None:
        self.busy += 1

        def deliver(callback, value):
            self.busy -= 1
            callback(value)

        def target():
            try:
                try:
                    result = fn()
                except Exception as e:  # handed to on_error on the GUI thread, which shows it
                    log.debug("background job %s failed", name, exc_info=True)
                    self._mailbox.post(lambda error=e: deliver(on_error, error))
                else:
                    self._mailbox.post(lambda result=result: deliver(on_done, result))
            finally:
                with _threads_lock:
                    _threads.discard(threading.current_thread())

        t = threading.Thread(target=target, name=name, daemon=True)
        with _threads_lock:
            _threads.add(t)
        t.start()
