"""MetaZoom's engine: networks, geometry, inference, scan I/O and export.  No Qt here."""

from .errors import MetaZoomError, UntrainedWeightsWarning, WeightsError
from .geometry import ZoomGrid, output_size, parse_scale
from .render.bicubic import bicubic
from .upscaler import SliceFeatures, Upscaler, load_upscaler, pick_device

__all__ = [
    "MetaZoomError",
    "SliceFeatures",
    "UntrainedWeightsWarning",
    "Upscaler",
    "WeightsError",
    "ZoomGrid",
    "bicubic",
    "load_upscaler",
    "output_size",
    "parse_scale",
    "pick_device",
]
