"""Where opening a scan lands: one file of a series shows that image, not the middle
slice (as Horos, Weasis and OHIF do).  No Qt."""

from __future__ import annotations

import os
from pathlib import Path

from engine.io.volume import PLANES

from engine.io.planes import plane_axes


def _same(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def landing_slice(volume, opened) -> tuple[str, int] | None:
    """``(plane, index)`` of the image stored in file ``opened`` when that file is one
    slice of the loaded series; None when it is not (a folder, a NIfTI, a multi-frame
    file that holds the whole series)."""
    if opened is None or not Path(opened).is_file():
        return None
    frames = volume.meta.dicom.images if volume.meta.dicom is not None else ()
    name = Path(opened).name  # a cheap test first: a stat per slice only for the same name
    hits = [k for k, (path, frame, tile) in enumerate(frames)
            if frame is None and tile is None and Path(path).name == name and _same(path, opened)]
    if len(hits) != 1:
        return None
    k = hits[0]
    for plane in PLANES:  # the display plane whose slices are the stored images
        (nv, flipped) = plane_axes(volume, plane).normal
        if nv == 2:
            return plane, (volume.shape[2] - 1 - k) if flipped else k
    return None
