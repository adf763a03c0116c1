"""De-identification of exported DICOM: the PS3.15 Annex E Basic Application
Confidentiality Profile (no options retained), driven by a machine-readable copy of
Table E.1-1.

The table is the one ``dicom-anonymizer`` (Kitware) ships, generated from the
standard's own table for each edition (``TABLE``: the newest it has); we use its
rows and action codes, not its anonymizer.  Applied to the copy of the source header
an exported image starts from, at every level of nesting, before MetaZoom adds its
own (non-identifying) attributes:

- private tags, overlays and curves removed;
- every attribute with a row in the table handled by its action code:

  - ``U``: the UID replaced (see below);
  - ``Z`` (and ``Z/D``): kept present, emptied, except PatientID and StudyID, which
    get an opaque dummy (``ANON``/``S`` + 8 hex digits of salt and old value) so
    images still group by patient and study;
  - ``D``: a dummy of the same VR (text: ``ANON`` + 8 hex digits of salt and old
    value; names ``ANONYMOUS``; dates 19000101; UIDs replaced); a ``D`` sequence or
    binary value is removed (no dummy content means anything there);
  - ``X/Z/U*`` (references to other images): each item keeps only the reference
    (SOP Class, replaced SOP Instance UID, frame and segment numbers);
  - ``X``, ``X/Z``, ``X/D`` and ``X/Z/D``: removed, except the Type 2 attributes of
    the IODs we write (``EMPTY``), which stay present and empty;

- as a safety net for attributes without a row (older or private-turned-public
  dictionaries): every person name, date, time, date-time and unknown-VR value is
  removed, every non-standard UID replaced, and every free-text attribute whose name
  says it identifies removed;
- every UID that is not a standard DICOM UID replaced by ``2.25.<uuid5>`` of a
  per-export salt and the old UID: the same source UID gives the same new UID
  within an export (study, frame of reference, referenced images), and no one
  without the salt can map it back.

Pixel data is not looked at: text burned into the pixels is not removed
(``burned_in`` refuses such images unless the user accepts them, and then
``mark`` does not claim the identity removed).
"""

from __future__ import annotations

import re
import uuid
from functools import lru_cache

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import UID

from .dicom_codes import BASIC_PROFILE, code_item

#: The edition of PS3.15 Table E.1-1 we apply (a module of ``dicom-anonymizer``).
TABLE = "dicomfields_2026c"
METHOD = "PS3.15 E.1-1 Basic Profile, 2026c table (MetaZoom)"  # LO: 64 characters
#: What ``mark`` writes when the pixels may carry burned-in text the user accepted.
METHOD_HEADER_ONLY = [METHOD, "header only: burned-in text in the pixels not removed"]
_NAMESPACE = uuid.UUID("5b0a4d8e-3c56-4f5e-9d7e-6d657461a00d")

#: The action codes of the table, by the names ``dicom-anonymizer`` gives its lists.
_ACTIONS = {
    "D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "Z/D", "X_Z_TAGS": "X/Z",
    "X_D_TAGS": "X/D", "X_Z_D_TAGS": "X/Z/D", "X_Z_U_STAR_TAGS": "X/Z/U*",
}

#: Type 2 in the image IODs we write: kept present, emptied.
EMPTY = {
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "ReferringPhysicianName",
    "StudyID", "AccessionNumber", "StudyDate", "StudyTime", "ContrastBolusAgent",
}

#: Type 2 identifiers replaced by an opaque dummy (consistent within the export, so
#: images still group by patient and study; empty stays empty).
DUMMY = {"PatientID": "ANON", "StudyID": "S"}

#: What an item of a reference sequence (action X/Z/U*) keeps.
_REFERENCE = {"ReferencedSOPClassUID", "ReferencedSOPInstanceUID", "ReferencedFrameNumber", "ReferencedSegmentNumber"}

#: Standard UIDs are not identifying; these keep their value whatever it is.
KEEP_UIDS = {"SOPClassUID", "ReferencedSOPClassUID", "TransferSyntaxUID", "MediaStorageSOPClassUID",
             "CodingSchemeUID", "ContextUID", "MappingResource"}

#: Free text whose name says it may identify (the safety net for attributes without a row).
_IDENTIFYING_TEXT = re.compile(
    r"Name|ID$|IDs$|Identifier|Address|Telephone|Telecom|Institution|Comment|Description|Serial|Station|Physician|"
    r"Operator|Location|Organi[sz]ation|Person|Occupation|Religio|Military|Insurance|Country|Region|"
    r"History|Allerg|Alert|Accession|Requesting|Performing|Scheduled|Admitting|Diagnos|Issuer|Author|Label|"
    r"Barcode|Reason|Title"
)
_KEEP_TEXT = {"ManufacturerModelName", "SequenceName", "CodeMeaning", "CodingSchemeName",
              "WindowCenterWidthExplanation", "ImplementationVersionName", "CodeValue", "LongCodeValue",
              "URNCodeValue", "PulseSequenceName"}
_FREE_TEXT_VRS = {"LO", "SH", "LT", "ST", "UT", "UC", "AE", "UR"}
_STRING_VRS = _FREE_TEXT_VRS | {"PN", "CS", "DA", "DT", "TM", "AS", "DS", "IS", "UI"}
_DATE_VRS = {"DA", "DT", "TM"}
#: The VRs a ``D`` row gets a dummy of (others, sequences and binary values, are removed).
_DUMMY_VRS = _FREE_TEXT_VRS | _DATE_VRS | {"PN", "CS", "UI", "DS", "IS"}


@lru_cache(maxsize=1)
def profile_table() -> tuple[dict[int, str], tuple[tuple[int, int, int, int, str], ...]]:
    """Table E.1-1 as ({tag: action}, ((group, element, group mask, element mask, action), ...));
    the second part holds the repeating-group rows (curves 50xx, overlays 60xx)."""
    from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector

    lists = dicom_anonymization_database_selector(TABLE)
    exact: dict[int, str] = {}
    masked = []
    for name, action in _ACTIONS.items():
        for row in lists[name]:
            if len(row) == 2:
                exact[int(Tag(row[0], row[1]))] = action
            else:
                g, e, gm, em = row
                masked.append((g, e, gm, em, action))
    return exact, tuple(masked)


def action_of(tag) -> str | None:
    """The table's action code for ``tag`` (``"X"``, ``"Z"``, ``"U"``, ...), or None."""
    exact, masked = profile_table()
    tag = Tag(tag)
    action = exact.get(int(tag))
    if action is not None:
        return action
    for g, e, gm, em, action in masked:
        if tag.group & gm == g and tag.element & em == e:
            return action
    return None


def _empty(elem) -> None:
    if elem.VR == "SQ":
        elem.value = Sequence()
    else:
        elem.value = "" if elem.VR in _STRING_VRS else None


class Deidentifier:
    """The basic profile with one consistent UID mapping (salt: ``uid_seed`` for
    reproducible tests, else random per export)."""

    def __init__(self, salt: str | None = None):
        self.salt = salt if salt is not None else uuid.uuid4().hex
        self._uids: dict[str, str] = {}

    def uid(self, old: str) -> str:
        """The replacement of a UID (the same old UID always gives the same new one)."""
        old = str(old).strip()
        if not old:
            return old
        if old not in self._uids:
            self._uids[old] = "2.25." + str(uuid.uuid5(_NAMESPACE, f"{self.salt}|{old}").int)
        return self._uids[old]

    def dummy(self, prefix: str, old) -> str:
        """``prefix`` + 8 hex digits of (salt, old value): an SH/LO-sized stand-in."""
        return prefix + uuid.uuid5(_NAMESPACE, f"{self.salt}|dummy|{old}").hex[:8].upper()

    @staticmethod
    def is_standard_uid(value: str) -> bool:
        try:
            return UID(value).name != str(value)  # pydicom names the UIDs of the standard
        except Exception:
            return False

    def _replace_uids(self, elem, keep_standard: bool = True) -> None:
        if elem.value in (None, ""):
            return
        values = list(elem.value) if elem.VM > 1 else [elem.value]
        new = [str(v) if keep_standard and self.is_standard_uid(v) else self.uid(v) for v in values]
        elem.value = new if elem.VM > 1 else new[0]

    def apply(self, ds: Dataset) -> Dataset:
        """De-identify ``ds`` in place (nested sequences too) and return it."""
        ds.remove_private_tags()
        self._apply(ds)
        return ds

    def _apply(self, ds: Dataset) -> None:
        for elem in list(ds):
            tag = elem.tag
            if tag.is_private or tag.group in range(0x5000, 0x5100) or tag.group in range(0x6000, 0x6100):
                del ds[tag]  # private, curves, overlays
                continue
            kw = elem.keyword
            action = action_of(tag)
            if kw in DUMMY:
                elem.value = self.dummy(DUMMY[kw], elem.value) if elem.value else ""
            elif kw in EMPTY:
                _empty(elem)
            elif action == "U":
                self._replace_uids(elem, keep_standard=False)
            elif action == "X/Z/U*":
                self._keep_references(elem)
            elif action in ("Z", "Z/D"):
                _empty(elem)
            elif action == "D" and elem.VR in _DUMMY_VRS:
                self._dummy_of_vr(elem)
            elif action is not None:  # X, X/Z, X/D, X/Z/D, D: not needed by what we write
                del ds[tag]
            else:
                self._safety_net(ds, elem)

    def _dummy_of_vr(self, elem) -> None:
        vr = elem.VR
        if vr == "UI":
            self._replace_uids(elem, keep_standard=False)
        elif vr == "PN":
            elem.value = "ANONYMOUS"
        elif vr in _DATE_VRS:
            elem.value = {"DA": "19000101", "TM": "000000", "DT": "19000101000000"}[vr]
        elif vr in ("DS", "IS"):
            elem.value = "0"
        else:  # text: short enough for SH, CS-safe characters
            elem.value = self.dummy("ANON", elem.value)

    def _keep_references(self, elem) -> None:
        if elem.VR != "SQ":
            _empty(elem)
            return
        for item in elem.value:
            for inner in list(item):
                if inner.keyword not in _REFERENCE:
                    del item[inner.tag]
                elif inner.VR == "UI" and inner.keyword != "ReferencedSOPClassUID":
                    self._replace_uids(inner, keep_standard=False)

    def _safety_net(self, ds: Dataset, elem) -> None:
        """An attribute without a row in the table."""
        kw, vr = elem.keyword, elem.VR
        if vr == "SQ":
            for item in elem.value:
                self._apply(item)
        elif vr == "PN" or vr in _DATE_VRS or vr == "UN":
            del ds[elem.tag]
        elif vr == "UI":
            if kw not in KEEP_UIDS:
                self._replace_uids(elem)
        elif vr in _FREE_TEXT_VRS and kw not in _KEEP_TEXT and (not kw or _IDENTIFYING_TEXT.search(kw)):
            del ds[elem.tag]

    @staticmethod
    def mark(ds: Dataset, pixels_may_identify: bool = False) -> None:
        """The attributes that say what was done (SOP Common and Patient modules).

        ``pixels_may_identify``: the user accepted pixels that may carry burned-in
        text, so the identity is not claimed removed (PatientIdentityRemoved NO, and
        no code for the profile, whose conformance needs the pixels clean too)."""
        ds.LongitudinalTemporalInformationModified = "REMOVED"
        if pixels_may_identify:
            ds.PatientIdentityRemoved = "NO"
            ds.DeidentificationMethod = METHOD_HEADER_ONLY
            if "DeidentificationMethodCodeSequence" in ds:
                del ds.DeidentificationMethodCodeSequence
            ds.BurnedInAnnotation = "YES"
            return
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = METHOD
        ds.DeidentificationMethodCodeSequence = Sequence([code_item(BASIC_PROFILE)])
