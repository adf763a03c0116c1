"""One DICOM file's header: what it is, where its pixels are, and the values its
slices are described by (``DicomFile``, ``Slice``; ``dicom_file.read_file`` fills them).

A file is read once, without its pixel data (``stop_before_pixels``).  Where the
pixels are stored uncompressed we note their byte offset and check their length
against Rows x Columns x Frames x Bits before anything is allocated; the loader
then reads them straight from that offset without parsing the file again.

Every value is read defensively: pydicom converts lazily, so a malformed value
only raises when touched, and here that becomes a ``CorruptScanError``.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from .errors import CorruptScanError, UnsupportedScanError
from .files import open_regular
from .limits import check_length, check_position, check_shape
from .volume import WindowPreset

NATIVE_SYNTAXES = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)
_PIXEL_TAGS = {0x7FE00010: "PixelData", 0x7FE00008: "FloatPixelData", 0x7FE00009: "DoubleFloatPixelData"}
_LONG_VRS = {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN", b"SQ", b"UT", b"UC", b"UR"}
#: Compressed pixels: a declared size beyond this ratio to the file size (plus slack
#: for blank images) is a lying header, refused before the volume is allocated.
_MAX_COMPRESSION = 10_000
_COMPRESSION_SLACK = 64 << 20


@dataclass
class PixelInfo:
    """Where and how a file stores its pixels."""

    syntax: UID
    rows: int
    cols: int
    frames: int
    samples: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric: str
    keyword: str = "PixelData"
    #: byte offset and length of the value of an uncompressed pixel element (None when encapsulated/unknown)
    offset: int | None = None
    length: int | None = None
    #: bytes of uncompressed pixel data beyond what the header declares (and its even-length pad)
    excess: int = 0

    @property
    def native(self) -> bool:
        return self.syntax in NATIVE_SYNTAXES and self.offset is not None

    @property
    def frame_bytes(self) -> int:
        return self.rows * self.cols * self.samples * self.bits_allocated // 8

    def raw_dtype(self) -> np.dtype | None:
        """numpy dtype of one stored sample, or None when it needs pydicom (1-bit, 24-bit...)."""
        if self.keyword == "FloatPixelData":
            dt = np.dtype("f4")
        elif self.keyword == "DoubleFloatPixelData":
            dt = np.dtype("f8")
        elif self.bits_allocated in (8, 16, 32, 64):
            dt = np.dtype(f"{'i' if self.signed else 'u'}{self.bits_allocated // 8}")
        else:
            return None
        return dt.newbyteorder(">" if self.syntax == ExplicitVRBigEndian else "<")


@dataclass
class Slice:
    """One 2D image in patient space: a single-frame file, one frame, or one mosaic tile."""

    file: "DicomFile"
    frame: int  # 0-based frame in the file
    tile: int | None  # index in a Siemens mosaic
    rows: int
    cols: int
    position: np.ndarray | None  # LPS mm of the first pixel's centre
    orientation: np.ndarray | None  # 6 direction cosines: along a row, then down a column
    pixel_spacing: tuple[float, float] | None  # (between rows, between columns) mm
    gap: float | None  # SpacingBetweenSlices or SliceThickness (mm)
    slope: float = 1.0
    intercept: float = 0.0
    windows: list[WindowPreset] = field(default_factory=list)
    echo: str = ""
    image_type: str = ""
    order: tuple = ()  # sorts repeats at one position (time)
    instance: int | None = None

    @property
    def normal(self) -> np.ndarray | None:
        if self.orientation is None:
            return None
        return np.cross(self.orientation[:3], self.orientation[3:])


@dataclass
class DicomFile:
    path: Path
    header: Dataset  # without pixel data
    pixels: PixelInfo
    slices: list[Slice] = field(default_factory=list)
    force: bool = False  # read without a DICM preamble
    notes: list[str] = field(default_factory=list)

    @property
    def series_uid(self) -> str:
        return text(self.header, "SeriesInstanceUID")


# --- defensive value access ---------------------------------------------------


def get(ds, keyword, default=None):
    """``ds.keyword`` or ``default`` when absent, empty or unparseable."""
    try:
        v = ds.get(keyword, None)
        if hasattr(v, "value") and not isinstance(v, Dataset):
            v = v.value
    except Exception:
        return default
    if v is None or (isinstance(v, (str, bytes)) and not v.strip()):
        return default
    return v


def text(ds, keyword, default: str = "") -> str:
    v = get(ds, keyword)
    if v is None:
        return default
    try:
        if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):  # a backslash in the value
            return "\\".join(str(x).strip() for x in v).strip()
        return str(v).strip()
    except Exception:
        return default


def number(ds, keyword, default=None, kind=float):
    v = get(ds, keyword)
    if v is None:
        return default
    try:
        if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
            v = v[0]
        x = kind(float(v)) if kind is int else kind(v)
    except (TypeError, ValueError, OverflowError, IndexError):
        return default
    if kind is float and not math.isfinite(x):
        return default
    return x


def vector(ds, keyword, n: int, path: Path) -> np.ndarray | None:
    """Exactly ``n`` finite numbers, None when absent; malformed -> CorruptScanError."""
    v = get(ds, keyword)
    if v is None:
        return None
    try:
        arr = np.array([float(x) for x in (v if isinstance(v, (list, tuple, pydicom.multival.MultiValue)) else [v])])
    except (TypeError, ValueError):
        raise CorruptScanError(path, f"{keyword} is not numeric ({v!r})") from None
    if arr.size != n:
        raise CorruptScanError(path, f"{keyword} holds {arr.size} values, expected {n}")
    if not np.all(np.isfinite(arr)):
        raise CorruptScanError(path, f"{keyword} holds NaN or Inf ({list(arr)})")
    return arr


def windows_of(ds) -> list[WindowPreset]:
    centers, widths = get(ds, "WindowCenter"), get(ds, "WindowWidth")
    if centers is None or widths is None:
        return []
    as_list = lambda v: list(v) if isinstance(v, (list, tuple, pydicom.multival.MultiValue)) else [v]  # noqa: E731
    names = get(ds, "WindowCenterWidthExplanation")
    names = as_list(names) if names is not None else []
    out = []
    for i, (c, w) in enumerate(zip(as_list(centers), as_list(widths))):
        try:
            c, w = float(c), float(w)
        except (TypeError, ValueError):
            continue
        if math.isfinite(c) and math.isfinite(w) and w > 0:
            name = str(names[i]).strip() if i < len(names) and str(names[i]).strip() else f"header {i + 1}"
            out.append(WindowPreset(name, c, w))
    return out


def checked_orientation(ds, path: Path) -> np.ndarray | None:
    iop = vector(ds, "ImageOrientationPatient", 6, path)
    if iop is None:
        return None
    r, c = iop[:3], iop[3:]
    if np.any(np.abs(iop) > 1.5):  # direction cosines: a 1e308 would overflow the norms below
        raise CorruptScanError(path, f"ImageOrientationPatient {list(iop)} holds values that are not direction cosines")
    nr, nc = np.linalg.norm(r), np.linalg.norm(c)
    if nr < 0.5 or nc < 0.5 or abs(float(np.dot(r, c))) / (nr * nc) > 0.05:
        raise CorruptScanError(path, f"ImageOrientationPatient {list(iop)} is not two orthogonal unit vectors")
    return np.concatenate([r / nr, c / nc])


def checked_spacing(ds, path: Path, keyword: str = "PixelSpacing") -> tuple[float, float] | None:
    ps = get(ds, keyword)
    if ps is None:
        return None
    try:
        vals = [float(x) for x in ps]
    except (TypeError, ValueError):
        raise CorruptScanError(path, f"{keyword} is not numeric ({ps!r})") from None
    if len(vals) != 2 or not all(math.isfinite(v) and v > 0 for v in vals):
        raise CorruptScanError(path, f"{keyword} must be two positive numbers, got {vals}")
    for v in vals:
        check_length(path, keyword, v)
    return vals[0], vals[1]


def checked_position(ds, path: Path) -> np.ndarray | None:
    """ImagePositionPatient: three finite numbers within ``limits.MAX_POSITION_MM``."""
    ipp = vector(ds, "ImagePositionPatient", 3, path)
    if ipp is not None:
        check_position(path, "ImagePositionPatient", ipp)
    return ipp


def checked_gap(ds, path: Path) -> float | None:
    """SpacingBetweenSlices, else SliceThickness (mm, positive), None when neither is given."""
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        gap = number(ds, keyword)
        if gap:
            return abs(check_length(path, keyword, gap))
    return None


# --- reading the file ---------------------------------------------------------


def sniff(path: Path) -> str | None:
    """'dicom' (has the DICM preamble), 'raw' (looks like a preamble-less dataset) or None."""
    try:
        with open_regular(path) as f:
            head = f.read(132)
    except (OSError, UnsupportedScanError):
        return None
    if len(head) == 132 and head[128:132] == b"DICM":
        return "dicom"
    if len(head) >= 8:
        group_le = struct.unpack("<H", head[:2])[0]
        group_be = struct.unpack(">H", head[:2])[0]
        if group_le in (0x0002, 0x0008) or group_be in (0x0002, 0x0008):
            return "raw"
    return None


def _probe_pixel_element(fp, pos: int, implicit: bool, little: bool) -> tuple[str | None, int | None, int | None]:
    """At the position where stop_before_pixels stopped: (keyword, value offset, length)."""
    fp.seek(pos)
    head = fp.read(12)
    if len(head) < 8:
        return None, None, None
    e = "<" if little else ">"
    group, elem = struct.unpack(e + "HH", head[:4])
    kw = _PIXEL_TAGS.get((group << 16) | elem)
    if kw is None:
        return None, None, None
    if implicit:
        (length,) = struct.unpack(e + "L", head[4:8])
        start = pos + 8
    elif head[4:6] in _LONG_VRS:
        if len(head) < 12:
            return kw, None, None
        (length,) = struct.unpack(e + "L", head[8:12])
        start = pos + 12
    else:
        (length,) = struct.unpack(e + "H", head[6:8])
        start = pos + 8
    if length == 0xFFFFFFFF:  # encapsulated (compressed) frames
        return kw, None, None
    return kw, start, length


def read_header(path: Path, force: bool | None = None) -> tuple[Dataset, tuple[str | None, int | None, int | None], bool]:
    """(header without pixels, pixel element probe, forced)."""
    if force is None:
        kind = sniff(path)
        if kind is None:
            raise UnsupportedScanError(path, "not a DICOM file (no DICM preamble, no DICOM tags at the start)")
        force = kind == "raw"
    try:
        with open_regular(path) as fp:
            ds = pydicom.dcmread(fp, stop_before_pixels=True, force=force)
            pos = fp.tell()
            implicit, little = ds.original_encoding
            syntax = transfer_syntax(ds)
            if syntax is not None and not syntax.is_transfer_syntax:
                probe = ("unknown", None, None)  # a private or garbled syntax: refused in dicom_file.read_file
            elif syntax in NATIVE_SYNTAXES and implicit is not None:
                probe = _probe_pixel_element(fp, pos, implicit, little)
            elif syntax is not None and syntax.is_deflated:
                probe = ("unknown", None, None)
            else:
                probe = _probe_pixel_element(fp, pos, False, True) if syntax is not None else (None, None, None)
    except (UnsupportedScanError, CorruptScanError):
        raise
    except OSError as e:
        raise CorruptScanError(path, f"cannot read the file ({e})") from None
    except Exception as e:  # pydicom raises many types on a broken file
        raise CorruptScanError(path, f"not a readable DICOM file ({type(e).__name__}: {e})") from None
    if len(ds) == 0:
        raise CorruptScanError(path, "not a readable DICOM file (no data elements)")
    return ds, probe, force


def transfer_syntax(ds) -> UID | None:
    """The transfer syntax; for a file without meta, the encoding pydicom found."""
    tsu = get(getattr(ds, "file_meta", Dataset()), "TransferSyntaxUID")
    if tsu:
        return UID(str(tsu))
    implicit, little = ds.original_encoding
    if implicit is None:
        return None
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def sop_class_name(ds) -> str:
    uid = text(ds, "SOPClassUID") or text(getattr(ds, "file_meta", Dataset()), "MediaStorageSOPClassUID")
    if not uid:
        return ""
    name = UID(uid).name
    return name if name != uid else f"SOP class {uid}"


def pixel_info(path: Path, ds, probe, syntax: UID) -> PixelInfo:
    kw, offset, length = probe
    rows, cols = number(ds, "Rows", kind=int), number(ds, "Columns", kind=int)
    if rows is None or cols is None:
        raise CorruptScanError(path, "Rows/Columns missing or unreadable")
    frames = number(ds, "NumberOfFrames", 1, kind=int)
    samples = number(ds, "SamplesPerPixel", 1, kind=int)
    check_shape(path, (frames, rows, cols, samples), "the image")
    if samples not in (1, 3, 4):
        raise CorruptScanError(path, f"SamplesPerPixel = {samples}")
    bits = number(ds, "BitsAllocated", kind=int)
    if kw == "FloatPixelData":
        bits = 32
    elif kw == "DoubleFloatPixelData":
        bits = 64
    if bits not in (1, 8, 16, 32, 64):
        raise CorruptScanError(path, f"BitsAllocated = {bits}")
    stored = number(ds, "BitsStored", bits, kind=int)
    if not 1 <= stored <= bits:
        stored = bits
    info = PixelInfo(
        syntax=syntax,
        rows=rows,
        cols=cols,
        frames=frames,
        samples=samples,
        bits_allocated=bits,
        bits_stored=stored,
        signed=number(ds, "PixelRepresentation", 0, kind=int) == 1,
        photometric=text(ds, "PhotometricInterpretation", "MONOCHROME2").upper(),
        keyword=kw if kw in ("PixelData", "FloatPixelData", "DoubleFloatPixelData") else "PixelData",
    )
    size = path.stat().st_size
    if syntax in NATIVE_SYNTAXES:
        if offset is None or length is None:
            raise CorruptScanError(path, "uncompressed transfer syntax but the pixel data has no defined length")
        expected = math.ceil(rows * cols * frames * samples * bits / 8)
        if info.photometric == "YBR_FULL_422":  # chroma stored at half horizontal resolution
            expected = expected * 2 // 3
        if offset + length > size:
            raise CorruptScanError(path, f"truncated: pixel data declares {length} bytes, the file ends {offset + length - size} bytes short")
        if length < expected:
            raise CorruptScanError(
                path, f"pixel data holds {length} bytes, {rows}x{cols}x{frames} frame(s) at {bits} bits need {expected} (truncated or wrong header)"
            )
        info.offset, info.length = offset, length
        info.excess = length - expected if length > expected + 1 else 0
    elif not syntax.is_encapsulated and not syntax.is_deflated:
        raise UnsupportedScanError(path, f"unknown transfer syntax {syntax}")
    else:
        if offset is not None and offset >= size:
            raise CorruptScanError(path, "truncated: the file ends where its pixel data starts")
        declared = rows * cols * frames * samples * max(bits, 8) // 8
        if declared > _MAX_COMPRESSION * size + _COMPRESSION_SLACK:
            raise CorruptScanError(
                path, f"declares {rows}x{cols}x{frames} pixels ({declared} bytes) but the file holds only {size} bytes of compressed data"
            )
    return info
