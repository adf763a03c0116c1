"""Text values made legal for their VR before a DICOM file is written (PS3.5 6.2).

Source headers carry what scanners wrote: control characters in LO/SH values, a
backslash (the value delimiter) inside a description that may hold one value, values
longer than their VR allows.  Copied as they are, dciodvfy reports errors and some
readers choke.  Here: control characters are removed (ESC kept, for character-set
switching; TAB, LF, FF and CR kept in the long texts ST/LT/UT), several values of an
attribute that may hold one are joined with " / ", and values are cut to their VR's
length.  Nothing else is rewritten.
"""

from __future__ import annotations

import re

from pydicom.datadict import dictionary_VM
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

#: Longest value (characters) per VR; None: no limit we enforce.
MAX_CHARS = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "ST": 1024, "LT": 10240, "UC": None, "UT": None, "UR": None}
#: Control characters not allowed in short strings (everything below 0x20 and DEL, except ESC).
_SHORT_CONTROL = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f]")
#: ...and in long texts (TAB, LF, FF, CR allowed there).
_LONG_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_LONG = {"ST", "LT", "UT"}


def as_text(value) -> str:
    """A header value as one string: several values joined with " / " (for labels)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, MultiValue)):
        return " / ".join(str(v).strip() for v in value)
    return str(value)


def _clean(s: str, vr: str) -> str:
    s = (_LONG_CONTROL if vr in _LONG else _SHORT_CONTROL).sub("", s)
    if vr not in _LONG and vr != "UR":
        s = s.replace("\\", "/")  # a backslash would split the value
    limit = MAX_CHARS.get(vr)
    return s[:limit].rstrip() if limit else s


def clean_text(ds: Dataset) -> None:
    """Make every text value of ``ds`` (sequences included) legal for its VR, in place."""
    for elem in ds.iterall():
        vr = elem.VR
        if vr not in MAX_CHARS and vr != "PN" or elem.value is None or elem.value == "":
            continue
        if isinstance(elem.value, (bytes, bytearray)):
            continue  # not decoded (an unknown character set): left as it is
        if vr == "PN":
            values = list(elem.value) if isinstance(elem.value, MultiValue) else [elem.value]
            cleaned = [_SHORT_CONTROL.sub("", str(v)).replace("\\", "/") for v in values]
        elif isinstance(elem.value, (list, tuple, MultiValue)):
            cleaned = [_clean(str(v), vr) for v in elem.value]
        else:
            cleaned = [_clean(str(elem.value), vr)]
        try:
            single = dictionary_VM(elem.tag) == "1"
        except KeyError:
            single = False
        if single and len(cleaned) > 1:
            cleaned = [_clean(" / ".join(cleaned), vr)]
        new = cleaned if len(cleaned) > 1 else cleaned[0]
        old = list(elem.value) if isinstance(elem.value, (list, tuple, MultiValue)) else elem.value
        if new != old and not (isinstance(old, list) and len(old) == 1 and new == str(old[0])):
            elem.value = new
