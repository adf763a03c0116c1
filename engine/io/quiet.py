"""Keep pydicom's and nibabel's chatter about odd headers out of the user's console.

The readers turn what matters into notices (``meta.warnings``) or typed errors;
the libraries' own warnings ("Invalid value for VR DS", "nicom is experimental")
would only reach a terminal.  ``warnings.catch_warnings`` swaps global state and
is unsafe when two threads load at once, so this installs one filter while any
reader is running (counted under a lock) and removes exactly that filter after.
"""

from __future__ import annotations

import warnings

from ..held_setting import HeldSetting

_MODULES = r"(pydicom|nibabel|engine\.io)(\.|$)"


def _ignore_reader_warnings():
    warnings.filterwarnings("ignore", module=_MODULES)
    return warnings.filters[0]


def _remove(entry) -> None:
    try:
        warnings.filters.remove(entry)
    except ValueError:  # someone reset the filters meanwhile
        return
    mutated = getattr(warnings, "_filters_mutated", None) or getattr(warnings, "_filters_mutated_lock_held", None)
    if mutated is not None:
        mutated()


#: ``with quiet_readers(): ...`` around a load
quiet_readers = HeldSetting(_ignore_reader_warnings, _remove).held
