"""Export enhanced slices: PNG (windowed 8-bit), 16-bit TIFF, NIfTI (exact affine),
DICOM (derived series with provenance, optional de-identification).

The one entry point, for the viewer's export dialog and ``metazoom-upscale``::

    from engine.export import ExportRequest, run_export
    for p in run_export(ExportRequest(volume, "out/", upscaler, scale=2.5, format="dicom")):
        bar.set(p.done, p.total)          # close() the generator to cancel
    p.outputs                             # on the last report (p.finished)
"""

from .errors import BurnedInTextError, ExportError, ExportRequestError, ExportWriteError, SourceTargetError, TargetExistsError
from .request import FORMATS, PLANE_FORMATS, ExportRequest, Progress
from .plan import ExportPlan, plan_export
from .run import run_export
from .enlarge import volume_intensity_range
from .reformat import stored_index
from .request_checks import parse_slices

__all__ = [
    "BurnedInTextError",
    "FORMATS",
    "PLANE_FORMATS",
    "ExportError",
    "ExportPlan",
    "ExportRequest",
    "ExportRequestError",
    "ExportWriteError",
    "Progress",
    "SourceTargetError",
    "TargetExistsError",
    "parse_slices",
    "plan_export",
    "run_export",
    "stored_index",
    "volume_intensity_range",
]
