"""The readers the viewer calls: ``engine.io``'s, in one place.

(An earlier fallback reader for NIfTI only, from before ``engine.io`` existed, is gone:
it hid a broken install, e.g. a DICOM codec failing to import, behind a misleading
"NIfTI only" message; an import error now surfaces as itself.)
"""

from __future__ import annotations

import engine.io as _io


def open_scan(path):
    # one DICOM file picked in the viewer stands for its series (Horos, Slicer, FSLeyes)
    return _io.open_scan(path, whole_series=True)


def load(path_or_series, volume_index: int = 0):
    return _io.load(path_or_series, volume_index=volume_index)


def display_slice(volume, plane, index, radiological=True):
    return _io.display_slice(volume, plane, index, radiological=radiological)


def n_slices(volume, plane):
    return _io.n_slices(volume, plane)


def slice_geometry(volume, plane, index, radiological=True):
    from engine.io.display import slice_geometry as geometry

    return geometry(volume, plane, index, radiological=radiological)
