"""NIfTI export: the enlarged stored slices as one volume in the source's data type, affine exact.

Each stored slice ``k`` is enlarged in its voxel axes ``i, j`` from ``(n_i, n_j)`` to
``(m_i, m_j) = (round(r n_i), round(r n_j))``.  New voxel ``u`` sits at old index
``(u + 0.5) / f - 0.5`` (``f = m / n``, pixel centres), so

    A_new = A_old @ S,  S = [[1/f_i, 0, 0, (1/f_i - 1)/2],
                             [0, 1/f_j, 0, (1/f_j - 1)/2],
                             [0, 0, 1, k0], [0, 0, 0, 1]]

(``k0``: the first exported slice) keeps the field-of-view edges (voxel -0.5 and
n - 0.5) exactly where they were in world space.  nibabel's ``rescale_affine``
pins the centre voxel instead and misses by a fraction of a voxel.  The sform and
qform codes of the source are kept.

Values (``NiftiValues``): a source stored as integers (a NIfTI of int16, uint8...
with its ``scl_slope``/``scl_inter``; a DICOM series of integers with one shared
rescale) comes out in that type and scaling: each value clipped to the source's range
(ringing beyond it is not signal, as in TIFF and DICOM export) and rounded to the
source's own step, the precision it was acquired with.  Anything else (a float
source, DICOM slices with differing rescales) is written as float32, as computed.

The file is streamed: header (nibabel), then each slice as it is computed
(NIfTI is Fortran order, so a k-slice is one contiguous block); ``.nii.gz`` goes
through gzip with a zero mtime and no name, so the bytes depend only on content.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from fractions import Fraction

import nibabel as nib
import numpy as np

from ..io.sources import NiftiSource
from .provenance import Provenance

#: the integer types a DICOM series' stored values go into, smallest first
_DICOM_TYPES = (np.int16, np.uint16, np.int32)


@dataclass(frozen=True)
class NiftiValues:
    """How the voxels are stored: ``value = stored * slope + inter`` in ``dtype``; for an
    integer ``dtype`` values are clipped to ``[lo, hi]`` first and rounded."""

    dtype: np.dtype
    slope: float = 1.0
    inter: float = 0.0
    lo: float = -np.inf
    hi: float = np.inf

    @classmethod
    def for_source(cls, volume, lo: float, hi: float, dicom_rescale: tuple[float, float] | None) -> "NiftiValues":
        """The source's type and scaling (see the module's docstring); ``lo, hi``: the
        source's value range; ``dicom_rescale``: the rescale every source DICOM slice
        shares, with the voxels on its grid (None when they do not share one)."""
        float32 = cls(np.dtype(np.float32))
        if volume.kind == "nifti":
            source = volume.meta.nifti
            if source is None or source.header.get_data_dtype().kind not in "iu":
                return float32
            hdr = source.header
            slope, inter = source.scaling
            return cls(np.dtype(hdr.get_data_dtype().newbyteorder("<")), slope, inter, lo, hi)
        if volume.kind == "dicom" and dicom_rescale is not None:
            slope, inter = dicom_rescale
            low, high = round((lo - inter) / slope), round((hi - inter) / slope)
            for t in _DICOM_TYPES:
                if np.iinfo(t).min <= low and high <= np.iinfo(t).max:
                    return cls(np.dtype(t).newbyteorder("<"), slope, inter, lo, hi)
        return float32

    def stored(self, values: np.ndarray) -> np.ndarray:
        if self.dtype.kind == "f":
            return np.asarray(values, dtype=self.dtype)
        v = np.clip(np.asarray(values, dtype=np.float64), self.lo, self.hi)
        s = np.rint((v - self.inter) / self.slope)
        info = np.iinfo(self.dtype)
        return np.clip(s, info.min, info.max).astype(self.dtype)


def scaled_affine(affine: np.ndarray, factors: tuple[Fraction | float, Fraction | float], k0: int = 0) -> np.ndarray:
    """``A_old @ S``: the affine of the enlarged slices ``k0, k0+1, ...`` (see module doc)."""
    fi, fj = (float(f) for f in factors)
    s = np.eye(4)
    s[0, 0], s[1, 1] = 1.0 / fi, 1.0 / fj
    s[0, 3], s[1, 3] = (1.0 / fi - 1.0) / 2.0, (1.0 / fj - 1.0) / 2.0
    s[2, 3] = float(k0)
    return np.asarray(affine, dtype=np.float64) @ s


def source_codes(source: NiftiSource | None, kind: str) -> tuple[int, int]:
    """(sform_code, qform_code) to keep: the source NIfTI file's, else scanner (1) for
    DICOM and aligned (2) for anything else."""
    default = 1 if kind == "dicom" else 2
    s, q = (source.sform_code, source.qform_code) if source is not None else (default, default)
    if s == 0 and q == 0:  # the reader used pixdim only: say so, but keep a usable affine
        s = 2
    return s, q


def nifti_header(shape, affine, codes, window, provenance: Provenance, source_header=None,
                 values: NiftiValues | None = None, anonymize: bool = False):
    """A NIfTI-1 header for voxels of ``shape`` stored as ``values`` says (default float32),
    with ``affine`` (float64, RAS).  ``anonymize``: the source's intent name (free text) is
    not copied."""
    values = values or NiftiValues(np.dtype(np.float32))
    hdr = nib.Nifti1Header(endianness="<")
    if source_header is not None:
        try:  # units and intent of the source; its dims, scaling and text are not ours
            hdr.set_xyzt_units(*source_header.get_xyzt_units())
            code, params, name = source_header.get_intent()
            hdr.set_intent(code, params, "" if anonymize else name)
        except Exception:  # a foreign header field: not worth failing an export
            hdr.set_xyzt_units("mm", "sec")
    else:
        hdr.set_xyzt_units("mm", "sec")
    hdr.set_data_shape(tuple(int(s) for s in shape))
    hdr.set_data_dtype(values.dtype)
    sform_code, qform_code = codes
    hdr.set_sform(affine, code=sform_code)
    hdr.set_qform(affine, code=qform_code, strip_shears=True)
    hdr.set_slope_inter(values.slope, values.inter)
    hdr["cal_min"] = window.center - window.width / 2
    hdr["cal_max"] = window.center + window.width / 2
    hdr["descrip"] = provenance.short().encode("ascii", "replace")[:79]
    hdr.extensions.append(nib.nifti1.Nifti1Extension("comment", provenance.to_json().encode()))
    return hdr


class NiftiWriter:
    """Streams one stream's enlarged stored slices into a staged ``.nii``/``.nii.gz``."""

    def __init__(self, staging, final, header: nib.Nifti1Header, expected_slices: int, values: NiftiValues | None = None):
        self.values = values or NiftiValues(np.dtype(np.float32))
        self.expected = expected_slices
        self.written = 0
        self._raw = staging.open(final)
        self._out = self._raw
        try:
            if str(final).lower().endswith(".gz"):
                self._out = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=1)
            header.write_to(self._out)
            offset = int(header.get_data_offset())
            here = self._out.tell()
            if here < offset:
                self._out.write(b"\0" * (offset - here))
        except BaseException:  # not yet registered for discard(): release the file here
            self.discard()
            raise
        self.shape = header.get_data_shape()

    def add(self, index: int, image: np.ndarray, where: dict | None = None) -> None:
        if image.shape != tuple(self.shape[:2]):
            raise ValueError(f"slice of shape {image.shape}, the volume needs {tuple(self.shape[:2])}")
        # Fortran order: i fastest, so the k-slice block is image.T in C order
        self._out.write(np.ascontiguousarray(self.values.stored(image.T)).tobytes())
        self.written += 1

    def close(self) -> None:
        if self.written != self.expected:
            raise ValueError(f"{self.written} slices written, {self.expected} declared")
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()

    def discard(self) -> None:
        try:
            if self._out is not self._raw:
                self._out.close()
        finally:
            self._raw.close()
