"""Reading scans for training: NIfTI files, DICOM series, BraTS-style folders.

``read_volume`` is the one place that touches file formats.  It prefers the engine's
reader (``engine.io.load``, shared with the viewer) and falls back to nibabel /
pydicom directly while that reader is not available, so swapping is one function.
Volumes come back as float32 (I, J, K) voxels plus a 4x4 voxel -> RAS+ affine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import MetaZoomError

PLANES = ("axial", "coronal", "sagittal")
NIFTI_SUFFIXES = (".nii", ".nii.gz")


class TrainingDataError(MetaZoomError):
    """A training source is missing, unreadable or empty."""

    def __init__(self, path, reason: str):
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


@dataclass
class ScanVolume:
    voxels: np.ndarray  # float32 (I, J, K)
    affine: np.ndarray  # 4x4 voxel -> RAS+ mm
    path: Path


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def _engine_load(path: Path):
    """``engine.io.load`` when it exists (another engineer is writing it)."""
    try:
        from engine.io import load  # type: ignore[attr-defined]
    except ImportError:
        return None
    vol = load(path)
    return ScanVolume(np.asarray(vol.voxels, dtype=np.float32), np.asarray(vol.affine, dtype=np.float64), path)


def _read_nifti(path: Path) -> ScanVolume:
    import nibabel as nib

    img = nib.load(str(path))
    data = np.asarray(img.dataobj, dtype=np.float32)
    if data.ndim == 4:  # first volume of a time series
        data = data[..., 0]
    if data.ndim != 3:
        raise TrainingDataError(path, f"expected a 3D volume, got shape {data.shape}")
    return ScanVolume(data, np.asarray(img.affine, dtype=np.float64), path)


def _read_dicom_series(folder: Path) -> ScanVolume:
    """One single-frame DICOM series in a folder, slices ordered along their normal."""
    import pydicom

    files = sorted(p for p in folder.iterdir() if p.is_file())
    slices = []
    for p in files:
        try:
            ds = pydicom.dcmread(str(p))
        except Exception:  # noqa: BLE001  (non-DICOM files beside the series)
            continue
        if "PixelData" in ds:
            slices.append(ds)
    if not slices:
        raise TrainingDataError(folder, "no DICOM images found")
    iop = np.asarray(slices[0].ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(iop[:3], iop[3:])
    slices.sort(key=lambda d: float(np.dot(normal, np.asarray(d.ImagePositionPatient, dtype=np.float64))))
    arrs = []
    for d in slices:
        a = d.pixel_array.astype(np.float32)
        a = a * float(getattr(d, "RescaleSlope", 1) or 1) + float(getattr(d, "RescaleIntercept", 0) or 0)
        arrs.append(a)
    # (rows, cols, slices) -> voxel (i = column, j = row, k = slice), as dcm2niix
    vox = np.stack(arrs, axis=-1).transpose(1, 0, 2)
    ps = [float(v) for v in slices[0].PixelSpacing]
    p0 = np.asarray(slices[0].ImagePositionPatient, dtype=np.float64)
    pn = np.asarray(slices[-1].ImagePositionPatient, dtype=np.float64)
    step = (pn - p0) / max(len(slices) - 1, 1)
    aff = np.eye(4)
    aff[:3, 0] = iop[:3] * ps[1]
    aff[:3, 1] = iop[3:] * ps[0]
    aff[:3, 2] = step if len(slices) > 1 else normal
    aff[:3, 3] = p0
    aff = np.diag([-1, -1, 1, 1]) @ aff  # LPS -> RAS
    return ScanVolume(vox, aff, folder)


def read_volume(path) -> ScanVolume:
    """A NIfTI file or a folder holding one DICOM series, as float32 voxels + affine.
    Cached per path for the process (train and test sources often share a scan)."""
    path = Path(path).resolve()
    if path not in _CACHE:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[path] = _read_volume(path)
    return _CACHE[path]


_CACHE: dict[Path, ScanVolume] = {}


def _read_volume(path: Path) -> ScanVolume:
    if not path.exists():
        raise TrainingDataError(path, "not found")
    try:
        vol = _engine_load(path)
        if vol is not None:
            return vol
    except MetaZoomError:
        raise
    except Exception:  # noqa: BLE001  (engine reader unfinished: fall back below)
        pass
    if path.is_dir():
        return _read_dicom_series(path)
    if is_nifti(path):
        return _read_nifti(path)
    raise TrainingDataError(path, "neither a NIfTI file nor a folder of DICOM files")


def plane_axis(affine: np.ndarray, plane: str) -> int:
    """The voxel axis whose direction is closest to the plane's normal
    (axial: S, coronal: A, sagittal: R)."""
    if plane not in PLANES:
        raise ValueError(f"plane must be one of {PLANES}, got {plane!r}")
    world = {"sagittal": 0, "coronal": 1, "axial": 2}[plane]
    dirs = np.abs(affine[:3, :3]) / np.linalg.norm(affine[:3, :3], axis=0, keepdims=True)
    return int(np.argmax(dirs[world]))


def slices_of(vol: ScanVolume, plane: str, keep: slice | None = None) -> list[np.ndarray]:
    """2D slices along ``plane``; ``keep`` selects slice indices along the plane's
    normal (voxel order), e.g. ``slice(0, -20)`` to hold out the last 20."""
    ax = plane_axis(vol.affine, plane)
    n = vol.voxels.shape[ax]
    idx = range(n)[keep] if keep is not None else range(n)
    stack = np.ascontiguousarray(np.moveaxis(vol.voxels, ax, 0)[idx.start : idx.stop : idx.step])  # one strided copy
    return list(stack)


def brats_files(folder, modality: str) -> list[Path]:
    """BraTS-style layout: one subfolder per case holding ``<case>_<modality>.nii[.gz]``
    (e.g. ``_t1ce``); also accepts the files directly in ``folder``."""
    folder = Path(folder)
    suffix = modality if modality.startswith("_") else f"_{modality}"
    hits = sorted(p for p in folder.rglob("*") if is_nifti(p) and p.name.lower().split(".nii")[0].endswith(suffix.lower()))
    if not hits:
        raise TrainingDataError(folder, f"no NIfTI files ending in {suffix}.nii[.gz]")
    return hits
