"""MetaZoom's engine: networks, geometry, inference, scan I/O and export.  No Qt here.

The names that need torch or numba (``load_upscaler``, ``Upscaler``, ``bicubic``...)
are imported on first use (PEP 562), so ``import engine.io`` or
``metazoom-upscale --help`` does not pay for torch (~1 s) when it never runs a network.
"""

from typing import TYPE_CHECKING

from .errors import MetaZoomError, UntrainedWeightsWarning, WeightsError
from .geometry import ZoomGrid, output_size, parse_scale

#: public name -> the submodule that defines it (imported on first access)
_LAZY = {
    "bicubic": ".render.bicubic",
    "SliceFeatures": ".upscaler",
    "Upscaler": ".upscaler",
    "load_upscaler": ".upscaler",
    "pick_device": ".upscaler",
}

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
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


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
