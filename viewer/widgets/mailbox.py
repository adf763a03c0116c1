"""Hand work from any thread to the GUI thread.

Worker threads never send Python objects through Qt signals: PySide6 (6.8 to
6.10 at least) can get reference counts wrong for objects, None included, carried
by queued cross-thread signals ("Fatal Python error: none_dealloc" seen here).
Instead a worker appends a callable to a plain deque and emits an argument-less
signal; the GUI thread drains the deque in a decorated slot.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal, Slot


class Mailbox(QObject):
    _wake = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._items: deque = deque()
        self._lock = threading.Lock()
        self._woken = False
        self._wake.connect(self._drain, Qt.QueuedConnection)

    def post(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` soon on the thread that owns this mailbox (thread-safe).  Once
        the mailbox's Qt object is deleted (its window closed while a worker ran) the
        call is dropped: emitting from a deleted object raises "Signal source has been
        deleted" in the worker, which aborted the process."""
        with self._lock:
            self._items.append(fn)
            if self._woken:
                return
            self._woken = True
        try:
            if shiboken6.isValid(self):
                self._wake.emit()
        except RuntimeError:  # deleted between the check and the emit
            pass


    @Slot()
    def _drain(self) -> None:
        with self._lock:
            self._woken = False
        while True:
            try:
                fn = self._items.popleft()
            except IndexError:
                return
            fn()
