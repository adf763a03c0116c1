"""NIfTI-1/2 (``.nii``, ``.nii.gz``): header via nibabel, voxels streamed by us.

nibabel parses the header and picks the best affine (sform, else qform, else
pixdim).  The voxels are read slab by slab straight into the float32 volume, so
peak memory is the volume plus one slab, whatever the stored type, and a short
file is caught before anything large is allocated: the declared size is checked
against the file size (uncompressed) or against gzip's best possible ratio
(compressed).
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from .errors import CorruptScanError, UnsupportedScanError, VolumeIndexError
from .files import NOT_REGULAR, is_regular_file, open_regular
from .limits import check_affine, check_memory, check_shape
from .sources import NiftiSource
from .finite import replace_non_finite
from .volume import SeriesInfo, SeriesMeta, Volume, WindowPreset

SUFFIXES = (".nii", ".nii.gz")
#: deflate cannot compress better than ~1032:1; a .gz declaring more is corrupt.
_GZIP_MAX_RATIO = 1032
#: Raw bytes read per slab.
_SLAB_BYTES = 16 << 20


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def _is_gz(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _open_image(path: Path):
    """nibabel's image (header only; nibabel reads no voxels here)."""
    import nibabel as nib

    if not is_regular_file(path):  # nibabel opens by name: a named pipe would block it
        raise UnsupportedScanError(path, NOT_REGULAR)
    try:
        img = nib.load(str(path))
    except FileNotFoundError:
        raise
    except Exception as e:  # nibabel raises many types for a broken header
        raise CorruptScanError(path, f"not a readable NIfTI header ({type(e).__name__}: {e})") from None
    if isinstance(img, nib.Cifti2Image):
        raise UnsupportedScanError(path, "a CIFTI-2 file (surface/grayordinate data), not a volume")
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise UnsupportedScanError(path, f"{type(img).__name__} is not NIfTI")
    return img


class _Layout:
    """What the header declares, checked: shape, stored type, where the voxels are."""

    def __init__(self, path: Path, img):
        hdr = img.header
        self.path = path
        try:
            ndim = int(hdr["dim"][0])
            dims = [int(d) for d in hdr["dim"][1 : 1 + ndim]] if 1 <= ndim <= 7 else None
        except (ValueError, TypeError, OverflowError):
            dims = None
        if dims is None:
            raise CorruptScanError(path, f"dim[0] = {hdr['dim'][0]} is not a number of dimensions in 1..7")
        if any(d <= 0 for d in dims):
            raise CorruptScanError(path, f"zero or negative dimension in {tuple(dims)}")
        if ndim < 2:
            raise UnsupportedScanError(path, f"a {ndim}D NIfTI is not an image")
        try:
            dtype = hdr.get_data_dtype()
        except Exception as e:
            raise CorruptScanError(path, f"unknown NIfTI datatype code {hdr['datatype']} ({e})") from None
        if dtype.fields is not None:
            raise UnsupportedScanError(path, f"RGB/RGBA NIfTI (datatype {dtype}) is not supported; convert it to grey values first")
        if dtype.kind == "c":
            raise UnsupportedScanError(path, f"complex NIfTI data ({dtype}) is not supported; save the magnitude")
        if dtype.kind not in "iuf" and dtype.kind != "b":
            raise UnsupportedScanError(path, f"NIfTI datatype {dtype} is not supported")
        dims = dims + [1] * (3 - len(dims))
        self.spatial = tuple(dims[:3])
        # 4D (time) and 5D+ (e.g. vector components, dim 5 after a time dim of 1): every
        # 3D volume is a contiguous block in NIfTI's Fortran order, so they are numbered
        # 0..N-1 across all dimensions beyond the third and the picker offers them all
        self.volume_dims = tuple(dims[3:])
        self.n_volumes = math.prod(self.volume_dims) if self.volume_dims else 1
        self.shape = self.spatial + ((self.n_volumes,) if self.n_volumes > 1 else ())
        check_shape(path, self.spatial, "the NIfTI volume")
        self.dtype = dtype
        # nibabel moves the offset and scaling from the header into the array proxy
        # (img.header then reads vox_offset 0, scl_slope NaN): take them from there
        proxy = img.dataobj
        self.offset = int(getattr(proxy, "offset", hdr.get_data_offset()))
        self.volume_bytes = math.prod(self.spatial) * dtype.itemsize
        self.total_bytes = self.volume_bytes * self.n_volumes
        if self.offset < 0:
            raise CorruptScanError(path, f"negative voxel offset {self.offset}")
        size = path.stat().st_size
        if _is_gz(path):
            if self.total_bytes + self.offset > _GZIP_MAX_RATIO * size + (1 << 20):
                raise CorruptScanError(
                    path, f"declares {self.total_bytes} bytes of voxels, more than a {size}-byte gzip file can hold (truncated or corrupt)"
                )
        elif self.offset + self.total_bytes > size:
            raise CorruptScanError(
                path, f"truncated: the header declares {self.total_bytes} bytes of voxels from byte {self.offset}, the file has {size} bytes"
            )
        slope, inter = getattr(proxy, "slope", 1.0), getattr(proxy, "inter", 0.0)
        self.slope = 1.0 if slope is None or not np.isfinite(slope) or slope == 0 else float(slope)
        self.inter = 0.0 if inter is None or not np.isfinite(inter) else float(inter)


def _affine(path: Path, img) -> np.ndarray:
    try:
        affine = np.asarray(img.header.get_best_affine(), dtype=np.float64)
    except Exception as e:
        raise CorruptScanError(path, f"unreadable affine ({e})") from None
    if not np.all(np.isfinite(affine)):
        raise CorruptScanError(path, "the affine (sform/qform) holds NaN or Inf")
    if not _is_invertible(affine[:3, :3]):
        raise CorruptScanError(path, "the affine is degenerate (a zero voxel size or collinear axes)")
    check_affine(path, affine)  # and sane: voxel sizes of 1e-38 or 1e30 mm are not a scan's
    return affine


def _is_invertible(m: np.ndarray) -> bool:
    norms = np.linalg.norm(m, axis=0)
    if np.any(norms <= 0) or not np.all(np.isfinite(norms)):
        return False
    # scale-free test: the unit column directions must span 3D
    return abs(np.linalg.det(m / norms)) > 1e-6


def probe(path: Path) -> SeriesInfo:
    """Header-only look at a NIfTI file, for the series picker."""
    img = _open_image(path)
    layout = _Layout(path, img)
    _affine(path, img)
    return SeriesInfo(
        kind="nifti",
        paths=[path],
        description=_description(img, path),
        modality="",
        shape=layout.shape,
        n_files=1,
        uid="",
        key=None,
    )


def _description(img, path: Path) -> str:
    try:
        d = bytes(img.header["descrip"]).split(b"\0")[0].decode("latin-1").strip()
    except Exception:
        d = ""
    return d or path.name


def _open_raw(path: Path):
    raw = open_regular(path)
    return gzip.GzipFile(fileobj=raw, mode="rb") if _is_gz(path) else raw


def load(path: Path, volume_index: int = 0) -> Volume:
    """Read one 3D volume (``volume_index`` of a 4D file) as float32, scaled, NaN-free.

    What export needs of the file is ``meta.nifti`` (a ``sources.NiftiSource``: a copy
    of nibabel's header, the file's scaling, its sform and qform codes), and
    ``meta.volume_index``, ``meta.n_volumes``.
    """
    img = _open_image(path)
    layout = _Layout(path, img)
    affine = _affine(path, img)
    if not 0 <= volume_index < layout.n_volumes:
        raise VolumeIndexError(path, f"volume {volume_index} asked for; the file holds {layout.n_volumes} (0..{layout.n_volumes - 1})")

    nx, ny, nz = layout.spatial
    check_memory(path, nx * ny * nz * 4, "the NIfTI volume (float32)")
    voxels = np.empty((nx, ny, nz), dtype=np.float32, order="F")
    plane_bytes = nx * ny * layout.dtype.itemsize
    step = max(1, _SLAB_BYTES // plane_bytes)
    buf = bytearray(min(nz, step) * plane_bytes)
    try:
        with _open_raw(path) as f:
            f.seek(layout.offset + volume_index * layout.volume_bytes)
            for z0 in range(0, nz, step):
                nzs = min(step, nz - z0)
                view = memoryview(buf)[: nzs * plane_bytes]
                got = _read_exactly(f, view)
                if got < len(view):
                    raise CorruptScanError(path, f"truncated: voxel data ends {len(view) - got} bytes early (slice {z0 + got // plane_bytes} of {nz})")
                raw = np.frombuffer(view, dtype=layout.dtype).reshape((nx, ny, nzs), order="F")
                out = voxels[:, :, z0 : z0 + nzs]
                np.copyto(out, raw, casting="unsafe")
                if layout.slope != 1.0:
                    out *= np.float32(layout.slope)
                if layout.inter != 0.0:
                    out += np.float32(layout.inter)
                del raw, view
    except (OSError, EOFError, zlib.error) as e:
        raise CorruptScanError(path, f"cannot read the voxels ({type(e).__name__}: {e})") from None

    meta = SeriesMeta(description=_description(img, path))
    unit_note = _spatial_unit_note(img)
    if unit_note:
        meta.warnings.append(unit_note)
    hdr = img.header
    try:
        cal_lo, cal_hi = float(hdr["cal_min"]), float(hdr["cal_max"])
        if np.isfinite(cal_lo) and np.isfinite(cal_hi) and cal_hi > cal_lo:
            meta.windows.append(WindowPreset("header (cal_min/cal_max)", (cal_lo + cal_hi) / 2, cal_hi - cal_lo))
    except (KeyError, ValueError, TypeError):
        pass
    note = replace_non_finite(voxels)
    if note:
        meta.warnings.append(note)
    if layout.n_volumes > 1:
        where = ""
        if len(layout.volume_dims) > 1:
            index = np.unravel_index(volume_index, layout.volume_dims, order="F")
            where = f" (index {tuple(int(i) + 1 for i in index)} along dimensions 4-{3 + len(layout.volume_dims)}, from 1)"
        meta.warnings.append(f"{3 + len(layout.volume_dims)}D file: showing volume {volume_index + 1} of {layout.n_volumes}{where}")
    meta.nifti = NiftiSource(
        header=hdr.copy(),
        scaling=(layout.slope, layout.inter),
        sform_code=int(hdr["sform_code"]),
        qform_code=int(hdr["qform_code"]),
    )
    meta.volume_index, meta.n_volumes = volume_index, layout.n_volumes
    return Volume(voxels=voxels, affine=affine, meta=meta, source=[path], kind="nifti")


def _read_exactly(f, view: memoryview) -> int:
    """readinto until the view is full or the file ends; returns bytes read."""
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def _spatial_unit_note(img) -> str | None:
    """nibabel (and we) read the affine as mm; say so when the header says otherwise."""
    try:
        xyz, _ = img.header.get_xyzt_units()
    except Exception:
        return None
    if xyz in ("meter", "micron"):
        return f"the header gives spatial units in {xyz}s; the affine is read as millimetres"
    return None
