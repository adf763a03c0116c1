"""Run a function on a worker thread; get its result (or error) back on the GUI thread."""

from __future__ import annotations

import logging
import threading
from typing import Callable

from PySide6.QtCore import QObject

from .mailbox import Mailbox

log = logging.getLogger(__name__)


class Background(QObject):
    """``run(fn, on_done, on_error)``: ``fn()`` runs on a daemon thread; exactly one
    of the callbacks is later called on the GUI thread.  ``busy`` counts jobs in flight."""

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
                result = fn()
            except Exception as e:  # handed to on_error on the GUI thread, which shows it
                log.debug("background job %s failed", name, exc_info=True)
                self._mailbox.post(lambda error=e: deliver(on_error, error))
            else:
                self._mailbox.post(lambda result=result: deliver(on_done, result))

        threading.Thread(target=target, name=name, daemon=True).start()
