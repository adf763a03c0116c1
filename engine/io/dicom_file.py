"""Read one DICOM file: its header, where its pixels are, and the 2D slices it holds
(``dicom_header`` reads the header and pixel layout, ``dicom_slices`` cuts the slices)."""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset

from .dicom_header import DicomFile, get, pixel_info, read_header, sop_class_name, text, transfer_syntax
from .dicom_slices import file_slices
from .errors import CorruptScanError, UnsupportedScanError

DICOMDIR_CLASS = "1.2.840.10008.1.3.10"


def read_file(path: Path, force: bool | None = None) -> DicomFile:
    """Read one DICOM file's header and list its slices; typed errors for anything unusable."""
    ds, probe, forced = read_header(path, force)
    syntax = transfer_syntax(ds)
    if syntax is None:
        raise CorruptScanError(path, "no transfer syntax and no recognisable encoding")
    try:
        if probe[0] is None or (probe[0] == "unknown" and get(ds, "Rows") is None):
            raise _classify_no_pixels(path, ds)
        if not syntax.is_transfer_syntax:
            raise UnsupportedScanError(path, f"unknown transfer syntax {syntax} (private or damaged); cannot decode its pixels")
        info = pixel_info(path, ds, probe, syntax)
        dfile = DicomFile(path=path, header=ds, pixels=info, force=forced)
        if info.excess:
            dfile.notes.append(
                f"{path.name}: its pixel data is {info.excess} bytes longer than {info.rows}x{info.cols}x{info.frames} "
                f"pixels at {info.bits_allocated} bits need; the extra bytes are ignored (the header may be wrong)"
            )
        dfile.slices = file_slices(dfile)
    except (CorruptScanError, UnsupportedScanError) as e:
        e.series_uid = text(ds, "SeriesInstanceUID")  # so a folder scan can tell that series
        raise
    return dfile


def _classify_no_pixels(path: Path, ds) -> Exception:
    uid = text(ds, "SOPClassUID") or text(getattr(ds, "file_meta", Dataset()), "MediaStorageSOPClassUID")
    name = sop_class_name(ds)
    if uid == DICOMDIR_CLASS or "DirectoryRecordSequence" in ds:
        return UnsupportedScanError(path, "a DICOMDIR is an index of files, not an image (open the folder that holds the images)")
    if "Image Storage" in name or (get(ds, "Rows") and get(ds, "Columns")):
        return CorruptScanError(path, f"{name or 'image'} without pixel data")
    return UnsupportedScanError(path, f"{name or 'this DICOM object'} holds no image")
