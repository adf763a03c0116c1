"""``open_scan`` (what is in this path?) and ``load`` (give me one volume of it).

Both raise only ``ScanError`` subclasses for bad input: whatever a third-party
reader throws is turned into a ``CorruptScanError`` naming the file, so the GUI
edge and the CLIs need one ``except``.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from . import dicom_volume, limits, nifti
from .dicom_file import read_file
from .dicom_header import DicomFile, sniff, text
from .dicom_series import group, series_warnings_for_skipped
from .errors import (
    CorruptScanError,
    MultipleSeriesError,
    ScanError,
    ScanNotFoundError,
    ScanTooLargeError,
    UnsupportedScanError,
)
from .files import NOT_REGULAR, is_regular_file
from .quiet import quiet_readers
from .volume import SeriesInfo, Volume


def _guarded(path, fn, *args):
    try:
        with quiet_readers():
            return fn(*args)
    except ScanError:
        raise
    except FileNotFoundError as e:
        raise ScanNotFoundError(path, f"file vanished while reading ({e.filename})") from None
    except MemoryError:
        raise ScanTooLargeError(path, "not enough memory to load it") from None
    except RecursionError:
        raise CorruptScanError(path, "nested too deeply to read (corrupt sequences?)") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # a third-party reader failed in a way we did not foresee (even a Rust panic)
        raise CorruptScanError(path, f"unreadable ({type(e).__name__}: {e})") from None


def open_scan(path, *, whole_series: bool = False) -> list[SeriesInfo]:
    """List the series in a file, a folder or a whole tree (headers only, no pixels).

    A ``.nii``/``.nii.gz`` gives one entry; a DICOM file gives its series (an
    enhanced multi-frame file may hold several, e.g. magnitude and field map);
    a folder is searched recursively for DICOM and NIfTI files.

    ``whole_series``: a single-frame DICOM file stands for its whole series, read from
    the files beside it (what a user who picks one file in a viewer means).  Off by
    default: a batch tool given ``*.dcm`` means each file.
    """
    p = Path(path).expanduser()
    return _guarded(p, _open_scan, p, whole_series)


def _open_scan(p: Path, whole_series: bool = False) -> list[SeriesInfo]:
    if not p.exists():
        raise ScanNotFoundError(p, "no such file or folder")
    if p.is_dir():
        return _scan_folder(p)
    if not is_regular_file(p):
        raise UnsupportedScanError(p, NOT_REGULAR)
    if nifti.is_nifti(p):
        return [nifti.probe(p)]
    if p.name.upper() == "DICOMDIR":
        # a DICOMDIR indexes the files around it: list those instead
        try:
            return _scan_folder(p.parent)
        except ScanError:
            raise UnsupportedScanError(p, "a DICOMDIR index without the images it lists beside it") from None
    if sniff(p) is None:
        raise UnsupportedScanError(p, "neither NIfTI (.nii, .nii.gz) nor DICOM")
    picked = read_file(p)
    whole = _series_around(picked) if whole_series else None
    if whole is not None:
        return [whole.info()]
    return [s.info() for s in group([picked])]


#: Files looked at beside a picked DICOM file for the rest of its series.
MAX_SIBLINGS = 5_000


def _series_around(picked: DicomFile):
    """The whole series of a picked single-frame DICOM file, from the files beside it.

    Why: classic DICOM stores a series one slice per file, and a radiologist who picks
    one file in File > Open (as in Horos, Slicer or FSLeyes) means its series, not a
    one-slice volume.  Only the same folder is read (not subfolders), only files of the
    same SeriesInstanceUID and image size are kept, and copies of one instance (the same
    SOPInstanceUID in another encoding, or the same file through a link) are dropped.
    None when that leaves nothing more than the file itself (it is opened alone then), or
    when the folder cannot be listed or holds more than ``MAX_SIBLINGS`` entries.  Of a
    series split by orientation, size or echo (``group``), the part holding the file."""
    if len(picked.slices) != 1 or not picked.series_uid or picked.slices[0].position is None:
        return None
    first = picked.slices[0]
    seen = {text(picked.header, "SOPInstanceUID") or str(picked.path.resolve())}
    files = {picked.path.resolve()}
    mates: list[DicomFile] = []
    try:
        names = sorted(picked.path.parent.iterdir())
    except OSError:  # a folder we may not list: the file alone, which the user can still open
        return None
    if len(names) > MAX_SIBLINGS:
        return None  # too many to read for one click: the file alone (opening the folder lists its series)
    for fp in names:
        if fp.name.startswith(".") or fp.name.upper() == "DICOMDIR" or not fp.is_file():
            continue
        real = fp.resolve()
        if real in files:
            continue
        files.add(real)
        try:
            kind = sniff(fp)
            if kind is None:
                continue
            f = read_file(fp, force=kind == "raw")
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # a broken neighbour is not what the user picked
            continue
        sop = text(f.header, "SOPInstanceUID") or str(real)
        if f.series_uid != picked.series_uid or sop in seen or len(f.slices) != 1 \
                or (f.slices[0].rows, f.slices[0].cols) != (first.rows, first.cols):
            continue
        seen.add(sop)
        mates.append(f)
    if not mates:
        return None
    parts = [s for s in group([picked] + mates) if any(f is picked for f in s.files)]
    return parts[0] if len(parts) == 1 and len(parts[0].files) > 1 else None


def _walk(root: Path):
    """The regular files below ``root`` (not hidden); pipes, devices and sockets are
    never opened (a FIFO would block the scan forever)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and is_regular_file(os.path.join(dirpath, name)):
                yield Path(dirpath) / name


def _scan_folder(root: Path) -> list[SeriesInfo]:
    dicoms: list[DicomFile] = []
    niftis: list[SeriesInfo] = []
    skipped: list[tuple[Path, str, ScanError]] = []
    n_files = 0
    for fp in _walk(root):
        n_files += 1
        if n_files > limits.MAX_FILES:
            raise ScanTooLargeError(root, f"more than {limits.MAX_FILES} files below this folder; open the folder of one study or series")
        try:
            if nifti.is_nifti(fp):
                niftis.append(nifti.probe(fp))
                continue
            kind = sniff(fp)
            if kind is None or fp.name.upper() == "DICOMDIR":
                continue
            dicoms.append(read_file(fp, force=kind == "raw"))
        except ScanError as e:
            skipped.append((fp, getattr(e, "series_uid", ""), e))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # one odd file must not sink the folder
            skipped.append((fp, "", CorruptScanError(fp, f"unreadable ({type(e).__name__}: {e})")))
    series = group(dicoms)
    series_warnings_for_skipped(series, [(p, uid, e.reason) for p, uid, e in skipped])
    infos = [s.info() for s in series] + niftis
    if infos:
        return infos
    if not skipped:
        raise ScanNotFoundError(root, f"no DICOM or NIfTI file here ({n_files} file(s) looked at)")
    if all(isinstance(e, UnsupportedScanError) for _, _, e in skipped):
        kinds = Counter(e.reason for _, _, e in skipped)
        summary = "; ".join(f"{n} x {reason}" for reason, n in kinds.most_common(4))
        raise UnsupportedScanError(root, f"no images here: {summary}")
    broken = "; ".join(f"{p.name}: {e.reason}" for p, _, e in skipped[:4])
    more = f" (and {len(skipped) - 4} more)" if len(skipped) > 4 else ""
    raise CorruptScanError(root, f"no readable image here: {broken}{more}")


def load(path_or_series, volume_index: int = 0) -> Volume:
    """One 3D volume: from a ``SeriesInfo`` (from ``open_scan``) or a path holding one series.

    A path holding several series raises ``MultipleSeriesError`` (its ``.series``
    lists them).  ``volume_index`` picks the volume of a 4D series.
    """
    if isinstance(path_or_series, SeriesInfo):
        info = path_or_series
        where = info.paths[0] if info.paths else None
    else:
        where = Path(path_or_series).expanduser()
        found = open_scan(where)
        if len(found) > 1:
            raise MultipleSeriesError(where, found)
        info = found[0]
    vol = _guarded(where, _load, info, volume_index)
    vol.meta.warnings = list(dict.fromkeys(list(info.warnings) + vol.meta.warnings))
    return vol


def _load(info: SeriesInfo, volume_index: int) -> Volume:
    if info.kind == "nifti":
        return nifti.load(Path(info.paths[0]), volume_index)
    if info.kind != "dicom":
        raise UnsupportedScanError(info.paths[0] if info.paths else None, f"unknown scan kind {info.kind!r}")
    series = info.key
    if series is None:  # a SeriesInfo built by hand: find its series again from its files
        found = group([read_file(Path(p)) for p in info.paths])
        match = [s for s in found if not info.uid or s.uid == info.uid]
        if len(match) != 1:
            raise MultipleSeriesError(info.paths[0], [s.info() for s in (match or found)])
        series = match[0]
    return dicom_volume.load(series, volume_index)

