"""16-bit TIFF export: one multi-page file per stream, a page per slice.

Full dynamic range: values are stored as ``uint16`` with the volume's
``ValueMapping`` (``value = stored * slope + intercept``; whole-number scans that
fit keep slope 1).  Every page's ImageDescription is JSON holding that mapping, the
window (in scan units and in stored values), the provenance and the slice's plane,
index and position; X/YResolution give the pixel size (pixels per centimetre).
Pages are written as they come, so memory stays at one slice.
"""

from __future__ import annotations

import json

import numpy as np
import tifffile

from .provenance import SOFTWARE, Provenance, software_version
from .value_mapping import ValueMapping

#: Above this many bytes of pixels, write BigTIFF (classic TIFF stops at 4 GiB).
_BIGTIFF_BYTES = 3 << 30


class TiffWriter:
    def __init__(self, staging, final, mapping: ValueMapping, window, provenance: Provenance, expected_bytes: int):
        self.mapping = mapping
        self.window = window
        self.provenance = provenance
        self._file = staging.open(final)
        try:
            self._tif = tifffile.TiffWriter(self._file, bigtiff=expected_bytes > _BIGTIFF_BYTES)
        except BaseException:  # not yet registered for discard(): release the file here
            self._file.close()
            raise

    def add(self, index: int, image: np.ndarray, where: dict) -> None:
        m, w = self.mapping, self.window
        desc = self.provenance.as_dict()
        desc["value_mapping"] = m.as_dict()
        desc["window"] = {
            "name": w.name,
            "center": w.center,
            "width": w.width,
            "stored_range": [m.stored(w.center - w.width / 2), m.stored(w.center + w.width / 2)],
        }
        desc["slice"] = where
        row_mm, col_mm = where["pixel_spacing_mm"]
        self._tif.write(
            m.to_uint16(image),
            photometric="minisblack",
            description=json.dumps(desc, sort_keys=True),
            resolution=(10.0 / col_mm, 10.0 / row_mm),
            resolutionunit="CENTIMETER",
            software=f"{SOFTWARE} {software_version()}",
            metadata=None,
            contiguous=False,
        )

    def close(self) -> None:
        self._tif.close()
        self._file.close()

    def discard(self) -> None:
        try:
            self._tif.close()
        except Exception:  # already failing: only release the file
            pass
        self._file.close()
