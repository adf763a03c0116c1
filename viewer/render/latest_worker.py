"""A worker thread that only ever runs the newest job (or the newest few of a run).

A mouse wheel sends requests faster than frames can be made; the ones that were
overtaken before they started are dropped here, never computed.  A run of jobs
that ``chain`` (slice steps of the same view: each is a slice the reader wants to
see) is kept in order, up to ``keep`` of them: only a user who outruns the worker by
more than that loses slices.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Callable

log = logging.getLogger(__name__)


class LatestOnlyWorker:
    def __init__(self, name: str, run: Callable[[object], None], on_start: Callable[[], None] | None = None,
                 keep: int = 1, chain: Callable[[object, object], bool] | None = None) -> None:
        self._run = run
        self._on_start = on_start
        self._keep = max(1, int(keep))
        self._chain = chain
        self._cond = threading.Condition()
        self._queue: deque = deque()
        self._busy = False
        self._stopped = False
        self.dropped = 0  # jobs replaced before they started
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def _has_pending(self) -> bool:
        return bool(self._queue)

    def submit(self, job) -> None:
        with self._cond:
            if self._queue and not (self._chain is not None and self._chain(self._queue[-1], job)):
                self.dropped += len(self._queue)
                self._queue.clear()
            self._queue.append(job)
            while len(self._queue) > self._keep:
                self._queue.popleft()
                self.dropped += 1
            self._cond.notify()

    @property
    def idle(self) -> bool:
        with self._cond:
            return not self._busy and not self._has_pending

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is pending or running (tests and the benchmark)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy and not self._has_pending, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify_all()
        self._thread.join(timeout)

    def _loop(self) -> None:
        if self._on_start is not None:
            self._on_start()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._has_pending or self._stopped)
                if self._stopped:
                    return
                job = self._queue.popleft()
                self._busy = True
            try:
                self._run(job)
            except Exception:  # a failed frame must not kill the worker; the caller reports it
                log.exception("worker %s: job failed", self._thread.name)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
