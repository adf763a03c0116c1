"""What the series picker lists for each series, and the order it lists them in.  No Qt."""

from __future__ import annotations

from dataclasses import dataclass

COLUMNS = ("No.", "Description", "Modality", "Date / time", "Manufacturer", "Size", "Slices / files")


def _header(info):
    """The first file's header of a DICOM series (``SeriesInfo.key`` is the reader's series)."""
    first = getattr(getattr(info, "key", None), "first", None)
    return getattr(getattr(first, "file", None), "header", None)


def _text(ds, keyword: str) -> str:
    if ds is None:
        return ""
    v = ds.get(keyword, "")
    return "" if v is None else str(v).strip()


def date_time(date: str, time: str) -> str:
    """``20240131`` + ``142233.123`` -> ``2024-01-31 14:22:33``."""
    d = date.strip()
    out = f"{d[:4]}-{d[4:6]}-{d[6:8]}" if len(d) == 8 and d.isdigit() else d
    t = time.strip().split(".")[0]
    if len(t) >= 4 and t[:4].isdigit():
        out += f" {t[:2]}:{t[2:4]}" + (f":{t[4:6]}" if len(t) >= 6 else "")
    return out.strip()


@dataclass(frozen=True)
class SeriesRow:
    number: int | None
    description: str
    modality: str
    when: str
    manufacturer: str
    size: str
    count: str

    def cells(self) -> tuple[str, ...]:
        return ("" if self.number is None else str(self.number), self.description, self.modality, self.when,
                self.manufacturer, self.size, self.count)

    def sort_key(self):
        """Date/time, then series number (series without one last), then description."""
        return (self.when, self.number is None, self.number or 0, self.description)


def series_row(info) -> SeriesRow:
    ds = _header(info)
    number = getattr(getattr(info, "key", None), "number", None)
    if number is None and ds is not None:
        try:
            number = int(ds.get("SeriesNumber"))
        except (TypeError, ValueError):
            number = None
    date = _text(ds, "SeriesDate") or _text(ds, "StudyDate")
    time = _text(ds, "SeriesTime") or _text(ds, "StudyTime")
    dims = "x".join(str(d) for d in info.shape) if info.shape else "?"
    count = info.shape[2] if len(info.shape) >= 3 else info.n_files
    return SeriesRow(
        int(number) if isinstance(number, (int, float)) else None,
        info.description or "(no description)",
        info.modality or "?",
        date_time(date, time),
        _text(ds, "Manufacturer"),
        dims,
        f"{count} / {info.n_files}",
    )


def sorted_rows(series: list) -> list[tuple[int, SeriesRow]]:
    """``(position in series, row)`` in the picker's default order."""
    rows = [(i, series_row(s)) for i, s in enumerate(series)]
    return sorted(rows, key=lambda r: r[1].sort_key())
