"""``Volume``: a loaded scan, whatever it came from (NIfTI or DICOM).

This file is the contract the readers fill and the viewer, exporters and trainer
read.  Voxels are indexed ``[i, j, k]`` along the affine's voxel axes (as nibabel's
``get_fdata``); the affine maps voxel indices to RAS+ millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .sources import DicomSource, NiftiSource, Reformat

PLANES = ("axial", "coronal", "sagittal")


@dataclass
class WindowPreset:
    """A display window in the scan's units."""

    name: str
    center: float
    width: float


@dataclass
class SeriesMeta:
    """What a series says about itself (all optional)."""

    description: str = ""
    modality: str = ""
    windows: list[WindowPreset] = field(default_factory=list)
    patient_name: str = ""
    patient_id: str = ""
    study_uid: str = ""
    series_uid: str = ""
    frame_of_reference_uid: str = ""
    study_date: str = ""
    units: str = ""
    #: free-form notices for the user (missing slices, uneven spacing, RGB converted...)
    warnings: list[str] = field(default_factory=list)
    #: which volume of a 4D series (or a NIfTI file with more dimensions) this is, of how many
    volume_index: int = 0
    n_volumes: int = 1
    #: what the reader keeps of its source (one of the two), and of the stored plane when export reformatted it
    dicom: DicomSource | None = None
    nifti: NiftiSource | None = None
    reformat: Reformat | None = None

    @property
    def acquired_headers(self) -> tuple:
        """The DICOM headers of the acquired images (a reformat's: those it was cut
        from), for what every source image says (rescale, burned-in text)."""
        if self.reformat is not None and self.reformat.source is not None:
            return self.reformat.source.headers
        return self.dicom.headers if self.dicom is not None else ()


@dataclass
class SeriesInfo:
    """One series found by ``open_scan``: enough to list it in a picker and load it."""

    kind: str  # "nifti" or "dicom"
    paths: list[Path]
    description: str = ""
    modality: str = ""
    shape: tuple[int, ...] = ()
    n_files: int = 0
    uid: str = ""
    key: object = None  # reader-private: how to find this series again
    #: notices found while scanning (files skipped, missing slices...); ``load`` repeats them in meta.warnings
    warnings: list[str] = field(default_factory=list)

    @property
    def n_volumes(self) -> int:
        """Volumes in a 4D series (``load(..., volume_index=)`` picks one); 1 for 3D."""
        return int(self.shape[3]) if len(self.shape) > 3 else 1

    @property
    def label(self) -> str:
        dims = "x".join(str(s) for s in self.shape) if self.shape else "?"
        return f"{self.description or '(no description)'} | {self.modality or '?'} | {dims} | {self.n_files} file(s)"


@dataclass
class DisplaySlice:
    """One slice as a radiologist sees it: rows top->bottom, columns left->right on screen.

    ``pixels``: 2D float32.  ``spacing``: (row_mm, col_mm), the physical size of a
    display pixel along screen y and x (true aspect = col_mm / row_mm).
    ``letters``: orientation letters at the (top, bottom, left, right) edges.
    ``position_mm``: the slice's position along the plane's normal (world mm).
    """

    pixels: np.ndarray
    spacing: tuple[float, float]
    letters: tuple[str, str, str, str]
    plane: str
    index: int
    position_mm: float


@dataclass
class Volume:
    voxels: np.ndarray  # float32, (I, J, K)
    affine: np.ndarray  # 4x4 float64, voxel -> RAS+ mm
    meta: SeriesMeta = field(default_factory=SeriesMeta)
    source: list[Path] = field(default_factory=list)
    kind: str = ""  # "nifti" or "dicom"

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.voxels.shape[:3])

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size (mm) along i, j, k: the norms of the affine's columns."""
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))
