"""PNG export: one windowed 8-bit greyscale file per slice.

The window maps ``[center - width/2, center + width/2]`` to 0..255 by the panes' rule
(``engine.windowing``), so a PNG holds the grey levels on screen.  The pixel
size goes into ``pHYs`` (so the true aspect survives), the provenance, window,
plane and slice position into text chunks (``Software``, ``Description`` as JSON).
"""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ..windowing import levels, window_to_uint8
from .provenance import SOFTWARE, Provenance, software_version


def png_bytes(pixels_u8: np.ndarray, spacing_mm: tuple[float, float], description: dict) -> bytes:
    """Encode an 8-bit image; ``spacing_mm`` = (row, column) pixel size in mm."""
    info = PngInfo()
    info.add_text("Software", f"{SOFTWARE} {software_version()}")
    info.add_itxt("Description", json.dumps(description, sort_keys=True))
    row_mm, col_mm = spacing_mm
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels_u8), mode="L").save(
        buf, format="PNG", pnginfo=info, dpi=(25.4 / col_mm, 25.4 / row_mm), compress_level=6
    )
    return buf.getvalue()


class PngWriter:
    """Writes each slice of one stream to its own staged PNG."""

    def __init__(self, staging, finals: dict[int, object], window, provenance: Provenance):
        self.staging = staging
        self.finals = finals
        self.window = window
        self.provenance = provenance

    def add(self, index: int, image: np.ndarray, where: dict) -> None:
        desc = self.provenance.as_dict()
        desc["window"] = {"name": self.window.name, "center": self.window.center, "width": self.window.width}
        desc["slice"] = where
        grey = window_to_uint8(image, *levels((self.window.center, self.window.width)))
        data = png_bytes(grey, tuple(where["pixel_spacing_mm"]), desc)
        with self.staging.open(self.finals[index]) as f:
            f.write(data)

    def close(self) -> None:
        pass

    def discard(self) -> None:
        pass
