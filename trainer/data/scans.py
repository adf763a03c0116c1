"""Scans for training, read and sliced as the viewer reads and shows them.

``engine.io.load`` reads every NIfTI file and DICOM series (the viewer's reader, with
its typed ``ScanError``), and the training slices are ``engine.io.plane_slices``: a training
slice is the pixels of the viewer's display slice, and a ``keep`` range such as
``-20:`` counts the viewer's slice numbers (from 0), so a held-out block is the block a
reader sees at the end of the stack.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import PathError
from engine.io import Volume, load
from engine.io.nifti import is_nifti

#: Volumes kept in memory per process (train and test sources often share a scan).
CACHED_VOLUMES = 4


class TrainingDataError(PathError):
    """A training source is missing, unreadable or empty."""


_CACHE: dict[Path, Volume] = {}


def read_volume(path) -> Volume:
    """A NIfTI file or a folder holding one DICOM series, through ``engine.io.load``."""
    path = Path(path).resolve()
    if path not in _CACHE:
        if len(_CACHE) >= CACHED_VOLUMES:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[path] = load(path)
    return _CACHE[path]


def brats_files(folder, modality: str) -> list[Path]:
    """BraTS-style layout: one subfolder per case holding ``<case>_<modality>.nii[.gz]``
    (e.g. ``_t1ce``); also accepts the files directly in ``folder``."""
    folder = Path(folder)
    suffix = modality if modality.startswith("_") else f"_{modality}"
    hits = sorted(p for p in folder.rglob("*") if is_nifti(p) and p.name.lower().split(".nii")[0].endswith(suffix.lower()))
    if not hits:
        raise TrainingDataError(folder, f"no NIfTI files ending in {suffix}.nii[.gz]")
    return hits
