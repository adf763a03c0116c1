"""A stand-in for ``engine.io`` while its readers are being written: NIfTI only,
through nibabel, following the contract in ``engine/io/volume.py``.

``reader.py`` uses the engine's functions as soon as they exist; this file then
only serves as a reference for the display convention the viewer expects.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from engine.errors import MetaZoomError
from engine.io.volume import PLANES, DisplaySlice, SeriesInfo, SeriesMeta, Volume


class FallbackScanError(MetaZoomError):
    def __init__(self, path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{self.path}: {reason}")


def _is_nifti(path: Path) -> bool:
    return path.name.lower().endswith((".nii", ".nii.gz"))


def open_scan(path) -> list[SeriesInfo]:
    path = Path(path)
    if not path.exists():
        raise FallbackScanError(path, "no such file or folder")
    if not _is_nifti(path):
        raise FallbackScanError(path, "only NIfTI (.nii, .nii.gz) can be opened until the DICOM reader lands")
    try:
        img = nib.load(str(path))
    except Exception as e:  # nibabel raises many types for broken files
        raise FallbackScanError(path, f"not a readable NIfTI file ({e})") from None
    return [SeriesInfo("nifti", [path], path.name, "", tuple(int(s) for s in img.shape), 1)]


def load(path_or_series, volume_index: int = 0) -> Volume:
    series = path_or_series if isinstance(path_or_series, SeriesInfo) else open_scan(path_or_series)[0]
    path = series.paths[0]
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
    except Exception as e:
        raise FallbackScanError(path, f"could not read the voxels ({e})") from None
    if data.ndim == 4:
        data = data[..., volume_index]
    if data.ndim != 3:
        raise FallbackScanError(path, f"expected a 3D volume, got {data.ndim} dimensions")
    voxels = np.nan_to_num(np.asarray(data, dtype=np.float32))
    descrip = img.header.get("descrip")
    desc = bytes(descrip).split(b"\0")[0].decode("latin-1").strip() if descrip is not None else ""
    return Volume(voxels, img.affine.astype(np.float64), SeriesMeta(description=desc or path.name), [path], "nifti")


def _ras_axes(affine: np.ndarray):
    """For each world axis R, A, S: the voxel axis closest to it and its sign."""
    codes = nib.orientations.io_orientation(affine)  # per voxel axis: (world axis, flip)
    axis_of = {}
    for vox_axis, (world_axis, flip) in enumerate(codes):
        axis_of[int(world_axis)] = (vox_axis, float(flip))
    return axis_of


def n_slices(volume: Volume, plane: str) -> int:
    normal = {"axial": 2, "coronal": 1, "sagittal": 0}[plane]
    vox_axis, _ = _ras_axes(volume.affine)[normal]
    return volume.shape[vox_axis]


def display_slice(volume: Volume, plane: str, index: int, radiological: bool = True) -> DisplaySlice:
    """Rows top->bottom, columns left->right as a radiologist reads them: axial and
    coronal with the patient's right on screen left (radiological) or on screen
    right (neurological); sagittal with anterior on the left; superior/anterior up."""
    if plane not in PLANES:
        raise ValueError(f"plane must be one of {PLANES}")
    axes = _ras_axes(volume.affine)
    spacing = volume.spacing
    # (world axis down the screen, its direction), (world axis across, direction)
    if plane == "axial":
        normal, down, across = 2, (1, -1), (0, -1 if radiological else 1)
        letters = ("A", "P", "R", "L") if radiological else ("A", "P", "L", "R")
    elif plane == "coronal":
        normal, down, across = 1, (2, -1), (0, -1 if radiological else 1)
        letters = ("S", "I", "R", "L") if radiological else ("S", "I", "L", "R")
    else:
        normal, down, across = 0, (2, -1), (1, -1)
        letters = ("S", "I", "A", "P")
    n_ax, n_flip = axes[normal]
    count = volume.shape[n_ax]
    if not 0 <= index < count:
        raise IndexError(f"slice {index} outside 0..{count - 1} of the {plane} plane")
    vox_index = index if n_flip > 0 else count - 1 - index
    sl = np.take(volume.voxels, vox_index, axis=n_ax)
    rest = [a for a in range(3) if a != n_ax]
    d_ax, d_flip = axes[down[0]]
    a_ax, a_flip = axes[across[0]]
    img = sl.transpose(rest.index(d_ax), rest.index(a_ax))
    if d_flip * down[1] < 0:
        img = img[::-1]
    if a_flip * across[1] < 0:
        img = img[:, ::-1]
    centre = np.array([(s - 1) / 2 for s in volume.shape] + [1.0])
    centre[n_ax] = vox_index
    position = float((volume.affine @ centre)[normal])
    return DisplaySlice(
        np.ascontiguousarray(img, dtype=np.float32), (spacing[d_ax], spacing[a_ax]), letters, plane, index, position
    )
