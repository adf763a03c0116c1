"""Which threads did the heavy work: slice preparation, bicubic frames, encodes and
renders record themselves here, so a test can assert that none ran on the GUI thread
(the thread that started the interpreter).  A counter per (kind, on the main thread):
cheap enough to stay on in the app."""

from __future__ import annotations

import threading
from collections import Counter

KINDS = ("slice", "bicubic", "encode", "render")

_counts: Counter = Counter()
_lock = threading.Lock()


def record(kind: str) -> None:
    main = threading.current_thread() is threading.main_thread()
    with _lock:
        _counts[(kind, main)] += 1


def on_main_thread(kind: str) -> int:
    """How many times ``kind`` ran on the main (GUI) thread since the last ``reset``."""
    with _lock:
        return _counts[(kind, True)]


def off_main_thread(kind: str) -> int:
    with _lock:
        return _counts[(kind, False)]


def reset() -> None:
    with _lock:
        _counts.clear()
