"""A process-wide setting held while any thread needs it.

Some settings have no thread-local form (a warnings filter, the BLAS pool's size): a
thread that sets and restores one itself undoes it under another thread still inside.
``HeldSetting`` applies it when the first user enters, counts users under a lock, and
undoes it when the last one leaves.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable


class HeldSetting:
    def __init__(self, apply: Callable[[], Any], undo: Callable[[Any], None]) -> None:
        """``apply()`` sets it and returns what ``undo(that)`` needs to restore it."""
        self._apply, self._undo = apply, undo
        self._lock = threading.Lock()
        self._users = 0
        self._token = None

    @contextmanager
    def held(self):
        with self._lock:
            if self._users == 0:
                self._token = self._apply()
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    token, self._token = self._token, None
                    self._undo(token)
