"""What a search asks and what the server answers, in plain values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .limits import MAX_TEXT

_DATE = re.compile(r"^(\d{8})?(-)?(\d{8})?$")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_MODALITY = re.compile(r"^[A-Z0-9]{1,16}$")


def valid_uid(uid) -> bool:
    """A DICOM UID (digits and dots, at most 64 characters): safe as a file name too."""
    return isinstance(uid, str) and len(uid) <= 64 and bool(_UID.match(uid))


def clip(value) -> str:
    """A server's text, made safe to show: one line, bounded."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


@dataclass(frozen=True)
class Query:
    """A study search.  ``patient``: name (matched anywhere, ``*`` wildcards allowed) or
    ID; ``dates``: ``YYYYMMDD``, ``YYYYMMDD-YYYYMMDD``, ``YYYYMMDD-`` or ``-YYYYMMDD``;
    ``modality``: e.g. ``MR``; ``study_uid``: one study."""

    patient: str = ""
    dates: str = ""
    modality: str = ""
    study_uid: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "patient", self.patient.strip())
        object.__setattr__(self, "dates", self.dates.strip().replace(" ", ""))
        object.__setattr__(self, "modality", self.modality.strip().upper())
        object.__setattr__(self, "study_uid", self.study_uid.strip())
        m = _DATE.match(self.dates)
        if self.dates and (not m or not (m.group(1) or m.group(3)) or (m.group(3) and m.group(1) and not m.group(2))):
            raise ValueError(f"dates {self.dates!r}: use YYYYMMDD or YYYYMMDD-YYYYMMDD (either end may be left open)")
        if self.modality and not _MODALITY.match(self.modality):
            raise ValueError(f"modality {self.modality!r}: a DICOM modality such as MR or CT")
        if self.study_uid and not valid_uid(self.study_uid):
            raise ValueError(f"study UID {self.study_uid!r}: digits and dots only")
        if any(c in self.patient for c in "\\\r\n"):
            raise ValueError("patient: no backslashes or line breaks")

    @property
    def patient_name_pattern(self) -> str:
        """The patient text as a DICOM name match: anywhere in the name, ``^`` between
        the parts typed with spaces (DOE JOHN matches DOE^JOHN)."""
        if not self.patient:
            return ""
        p = self.patient.replace(" ", "*")
        return p if "*" in p or "?" in p else f"*{p}*"


@dataclass
class Series:
    study_uid: str
    series_uid: str
    modality: str = ""
    number: str = ""
    description: str = ""
    n_instances: int | None = None

    @property
    def label(self) -> str:
        n = f"{self.n_instances} images" if self.n_instances is not None else "? images"
        return f"{self.modality or '?'} #{self.number or '?'} {self.description or '(no description)'} ({n})"


@dataclass
class Study:
    study_uid: str
    patient_name: str = ""
    patient_id: str = ""
    date: str = ""
    description: str = ""
    modalities: str = ""
    accession: str = ""
    n_series: int | None = None
    n_instances: int | None = None
    series: list[Series] = field(default_factory=list)


@dataclass
class FindResult:
    studies: list[Study]
    #: True when the server had more than the bound: the list is cut off
    truncated: bool = False


@dataclass
class RetrieveResult:
    """``received``: the files now in the folder (new or already there); ``missing``:
    the instances that did not arrive (SOP Instance UIDs, or a count in words);
    ``cancelled``: stopped by the user (what arrived is kept)."""

    folder: Path
    received: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    cancelled: bool = False
    bytes: int = 0


@dataclass
class SendResult:
    sent: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False


def to_int(value) -> int | None:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if 0 <= n < 10**9 else None
