"""The PACS dialogs' plain policy: the search form to a ``Query``, rows to show, the
words of progress and of the send confirmation.  No Qt here."""

from __future__ import annotations

import re

from engine.pacs.records import Query

MODALITIES = ("", "MR", "CT", "PT", "US", "CR", "DX", "MG", "NM", "XA")
STUDY_COLUMNS = ("Patient", "Patient ID", "Date", "Modality", "Description", "Series / images")
#: rows added to the results table per turn of the event loop (the GUI never stalls)
ROWS_PER_TURN = 25


def _date(text: str, what: str) -> str:
    digits = re.sub(r"[-./ ]", "", text.strip())
    if digits and not re.fullmatch(r"\d{8}", digits):
        raise ValueError(f"{what} date {text!r}: use YYYY-MM-DD or YYYYMMDD")
    return digits


def query_from_form(patient: str = "", modality: str = "", date_from: str = "", date_to: str = "") -> Query:
    """The form's fields as a ``Query`` (``ValueError`` with the reason when one is wrong)."""
    start, end = _date(date_from, "from"), _date(date_to, "to")
    if start and end and start > end:
        raise ValueError(f"the dates are the wrong way round ({date_from} is after {date_to})")
    dates = f"{start}-{end}" if (start or end) and start != end else start
    return Query(patient=patient, modality=modality if modality != "Any" else "", dates=dates)


def show_date(d: str) -> str:
    return f"{d[:4]}-{d[4:6]}-{d[6:8]}" if re.fullmatch(r"\d{8}", d or "") else (d or "")


def _n(v) -> str:
    return "?" if v is None else str(v)


def study_row(study) -> list[str]:
    return [study.patient_name.replace("^", " ").strip(), study.patient_id, show_date(study.date), study.modalities,
            study.description, f"{_n(study.n_series)} / {_n(study.n_instances)}"]


def series_row(series) -> list[str]:
    return [f"Series {series.number or '?'}", "", "", series.modality, series.description or "(no description)",
            f"{_n(series.n_instances)} images"]


def found_message(n: int, truncated: bool, server_label: str) -> str:
    if truncated:
        return f"{n} studies shown; {server_label} has more: narrow the search"
    return f"{n} {'study' if n == 1 else 'studies'} on {server_label}"


def retrieve_message(done: int, total: int) -> str:
    return f"Retrieved {done} of {total} images"


def send_question(n_files: int, server_label: str) -> str:
    return (f"Send the derived series just exported ({n_files} DICOM {'image' if n_files == 1 else 'images'}) "
            f"to {server_label}?\n\nOnly these files are sent; the source scan is not.")
