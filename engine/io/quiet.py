"""Keep pydicom's and nibabel's chatter about odd headers out of the user's console.

The readers turn what matters into notices (``meta.warnings``) or typed errors;
the libraries' own warnings ("Invalid value for VR DS", "nicom is experimental")
would only reach a terminal.  ``warnings.catch_warnings`` swaps global state and
is unsafe when two threads load at once, so this installs one filter while any
reader is running (counted under a lock) and removes exactly that filter after.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager

_MODULES = r"(pydicom|nibabel|engine\.io)(\.|$)"
_lock = threading.Lock()
_depth = 0
_entry = None


@contextmanager
def quiet_readers():
    global _depth, _entry
    with _lock:
        if _depth == 0:
            warnings.filterwarnings("ignore", module=_MODULES)
            _entry = warnings.filters[0]
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _entry is not None:
                try:
                    warnings.filters.remove(_entry)
                except ValueError:  # someone reset the filters meanwhile
                    pass
                mutated = getattr(warnings, "_filters_mutated", None) or getattr(warnings, "_filters_mutated_lock_held", None)
                if mutated is not None:
                    mutated()
                _entry = None
