"""Decode DICOM pixels straight into a preallocated float32 volume.

Uncompressed greyscale pixels are read from the byte offset noted while scanning
the header (no second parse).  Everything else (JPEG baseline/lossless, JPEG-LS,
JPEG 2000, RLE, deflate, 1-bit, colour) goes through pydicom's decoders, backed by
pylibjpeg and its libjpeg/openjpeg/rle plugins.  Colour and palette images become
luminance (ITU-R BT.601 weights).  Files are decoded in a small thread pool: the
file reads and the decoders release the GIL.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset

from . import mosaic
from .dicom_header import DicomFile, Slice, get
from .errors import CorruptScanError, UnsupportedScanError
from .files import open_regular

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _fast_path(f: DicomFile) -> bool:
    p = f.pixels
    return (
        p.native
        and p.samples == 1
        and p.raw_dtype() is not None
        and p.photometric in ("MONOCHROME1", "MONOCHROME2")
        and get(f.header, "ModalityLUTSequence") is None
    )


def _correct_unused_bits(a: np.ndarray, bits_stored: int, signed: bool) -> np.ndarray:
    """Ignore the bits above BitsStored (as pydicom does): mask or sign-extend."""
    shift = a.dtype.itemsize * 8 - bits_stored
    if shift <= 0 or a.dtype.kind not in "iu":
        return a
    if signed:
        np.left_shift(a, shift, out=a)
        np.right_shift(a, shift, out=a)
    else:
        np.bitwise_and(a, (1 << bits_stored) - 1, out=a)
    return a


def _read_native(f: DicomFile, frames: list[int]) -> dict[int, np.ndarray]:
    p = f.pixels
    dt = p.raw_dtype()
    count = p.rows * p.cols
    out = {}
    with open_regular(f.path) as fh:
        for fr in frames:
            fh.seek(p.offset + fr * p.frame_bytes)
            a = np.fromfile(fh, dtype=dt, count=count)
            if a.size < count:
                raise CorruptScanError(f.path, f"truncated: frame {fr + 1} ends early")
            if not dt.isnative:
                a = a.astype(dt.newbyteorder("="))
            if p.bits_stored < p.bits_allocated:
                a = _correct_unused_bits(a, p.bits_stored, p.signed)
            out[fr] = a.reshape(p.rows, p.cols)
    return out


def _decode_error(f: DicomFile, e: Exception) -> Exception:
    """A missing decoder is 'unsupported'; a decoder that chokes means broken data."""
    msg = str(e).strip()
    first = msg.splitlines()[0] if msg else type(e).__name__
    low = msg.lower()
    name = f.pixels.syntax.name
    if isinstance(e, NotImplementedError) or "missing dependencies" in low or "no pixel data handlers" in low:
        return UnsupportedScanError(f.path, f"no decoder installed for {name} ({first})")
    detail = msg.splitlines()[1].strip() if len(msg.splitlines()) > 1 else first
    return CorruptScanError(f.path, f"cannot decode the {name} pixel data ({detail})")


def _read_with_pydicom(f: DicomFile, frames: list[int]) -> tuple[dict[int, np.ndarray], list[str]]:
    notes: list[str] = []
    p = f.pixels
    try:
        with open_regular(f.path) as fh:
            ds = pydicom.dcmread(fh, force=f.force)
        if "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):
            ds.file_meta = getattr(ds, "file_meta", None) or FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = p.syntax
        arr = ds.pixel_array
    except (CorruptScanError, UnsupportedScanError):
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # Rust decoders (pylibjpeg-rle) panic with a BaseException
        raise _decode_error(f, e) from None

    if p.frames == 1:
        arr = arr[None]
    elif arr.ndim == (3 if p.samples == 1 else 4) and arr.shape[0] != p.frames:
        raise CorruptScanError(f.path, f"decoded {arr.shape[0]} frames, the header says {p.frames}")
    if arr.shape[1:3] != (p.rows, p.cols):
        raise CorruptScanError(f.path, f"decoded frames of {arr.shape[1:3]}, the header says {(p.rows, p.cols)}")

    if get(ds, "ModalityLUTSequence") is not None and p.samples == 1:
        from pydicom.pixels import apply_modality_lut

        arr = apply_modality_lut(arr, ds)
        notes.append(f"{f.path.name}: Modality LUT applied")
    if p.photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
        notes.append("palette colour image converted to luminance (grey) values")
    elif p.samples >= 3:
        notes.append(f"colour ({p.photometric}) image converted to luminance (grey) values")
    out = {}
    for fr in frames:
        a = arr[fr]
        if a.ndim == 3:  # RGB(A) -> luminance
            a = a[..., :3].astype(np.float32) @ _LUMA
        out[fr] = a
    return out, notes


def _decode_file(f: DicomFile, items: list[tuple[int, Slice]], buf: np.ndarray, apply_rescale: bool) -> list[str]:
    frames = sorted({s.frame for _, s in items})
    if _fast_path(f):
        arrays, notes = _read_native(f, frames), []
    else:
        arrays, notes = _read_with_pydicom(f, frames)
        apply_rescale = apply_rescale and not any("Modality LUT" in n for n in notes)
    invert = f.pixels.photometric == "MONOCHROME1"
    tiles_cache: dict[int, np.ndarray] = {}
    for k, s in items:
        a = arrays[s.frame]
        if s.tile is not None:
            if s.frame not in tiles_cache:
                tiles_cache[s.frame] = mosaic.split(a, mosaic.n_images(f.header))
            a = tiles_cache[s.frame][s.tile]
        out = buf[k]
        if a.shape != out.shape:
            raise CorruptScanError(f.path, f"slice of {a.shape} in a series of {out.shape}")
        np.copyto(out, a, casting="unsafe")
        if apply_rescale:
            if s.slope != 1.0:
                out *= np.float32(s.slope)
            if s.intercept != 0.0:
                out += np.float32(s.intercept)
        if invert:
            np.negative(out, out=out)
    if invert:
        notes.append("MONOCHROME1 (white = low) values negated so that high is bright; header windows follow")
    return notes


def decode_into(buf: np.ndarray, slices: list[Slice], threads: int | None = None) -> list[str]:
    """Fill ``buf[k]`` (rows x columns, float32) with slice k, rescaled; return notices."""
    by_file: dict[int, tuple[DicomFile, list]] = {}
    for k, s in enumerate(slices):
        by_file.setdefault(id(s.file), (s.file, []))[1].append((k, s))
    jobs = list(by_file.values())
    workers = threads or min(4, os.cpu_count() or 1, len(jobs))
    notes: list[str] = []
    if workers <= 1:
        for f, items in jobs:
            notes.extend(_decode_file(f, items, buf, True))
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for n in pool.map(lambda job: _decode_file(job[0], job[1], buf, True), jobs):
                notes.extend(n)
    return list(dict.fromkeys(notes))
