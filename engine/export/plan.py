"""What an export will do, decided before any slice is computed: the slices, the
output streams (SR, bicubic), every file's name, and every refusal (format, plane,
scale, slices, a target that is the source or already exists).

File names in a folder destination: ``{base}_x{scale}[_{plane}]_{sr|bicubic}[_{number:04d}].{ext}``
where ``number`` counts slices from 1, as the viewer's overlay does (``slices`` and the
indices here count from 0), and ``base`` is the source's name (``name`` if given; an opaque ``deid-...`` when
de-identifying).  A file destination (``out.nii.gz``, ``out.tif``, or for a single
slice ``out.png``/``out.dcm``) names the first stream's file; the bicubic companion
gets ``_bicubic`` before the extension.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from ..geometry import scale_key
from ..io.planes import display_slice, n_slices
from ..io.volume import PLANES
from .burned_in import burned_in_reason
from .errors import BurnedInTextError, ExportRequestError
from .paths import refuse_existing, refuse_source
from .reformat import reformatted, stored_range
from .request import FORMATS, PLANE_FORMATS, ExportRequest
from .enlarge import Method, sr_part
from .request_checks import check_scale, check_size, check_values, slice_indices

_SUFFIXES = {"nifti": (".nii.gz", ".nii"), "tiff": (".tif", ".tiff"), "png": (".png",), "dicom": (".dcm",)}


@dataclass
class ExportPlan:
    """What ``run_export`` will do: slices, streams and the files each writes."""

    request: ExportRequest
    plane: str | None  # None: stored slices (NIfTI, DICOM)
    indices: range
    streams: list[Method]
    in_shape: tuple[int, int]
    out_shape: tuple[int, int]
    outputs: dict[str, dict[int, Path] | Path]  # tag -> {index: file} or one file
    folder: Path
    base: str
    reformat: str | None = None  # NIfTI/DICOM of a plane other than the stored one (request.volume is reformatted)

    @property
    def factors(self) -> tuple[Fraction, Fraction]:
        return tuple(Fraction(o, i) for o, i in zip(self.out_shape, self.in_shape))

    def files(self) -> list[Path]:
        out = []
        for v in self.outputs.values():
            out.extend(v.values() if isinstance(v, dict) else [v])
        return out


def _clean_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "scan"


def base_name(request: ExportRequest) -> str:
    """File name base in a folder destination: ``name``, else the source's name
    (a de-identified export uses an opaque one: source names can identify)."""
    if request.name:
        return _clean_name(request.name)
    v = request.volume
    src = v.source[0] if v.source else None
    part = v.meta.dicom.part if v.meta.dicom is not None else ""  # one of several image sets of one series
    if request.anonymize:  # salted: nobody can recompute it from a guessed source path
        salt = request.uid_seed or secrets.token_hex(16)
        key = f"{salt}|{src}|{v.meta.series_uid}|{part}|{v.meta.volume_index}"
        return "deid-" + hashlib.sha256(key.encode()).hexdigest()[:10]
    if src is None:
        return "scan"
    name = src.name
    for suf in (".nii.gz", ".nii", ".dcm"):
        if name.lower().endswith(suf):
            name = name[: -len(suf)]
            break
    if v.kind == "dicom" and len(v.source) > 1:
        name = src.parent.name or name
    return _clean_name(f"{name}_{part}" if part else name)


def _with_tag(path: Path, tag: str) -> Path:
    """``out.nii.gz`` -> ``out_bicubic.nii.gz``."""
    name = path.name
    for suf in (".nii.gz", ".nii", ".tiff", ".tif", ".png", ".dcm"):
        if name.lower().endswith(suf):
            return path.with_name(f"{name[: -len(suf)]}_{tag}{name[-len(suf):]}")
    return path.with_name(f"{name}_{tag}")


def plan_export(request: ExportRequest) -> ExportPlan:
    """Check the request and decide every output file; raises ``ExportError``s.  The
    plan's ``request`` is the one to carry out: the checked scale, and for a plane
    other than the stored one the reformatted volume (``request`` itself is unchanged)."""
    fmt = request.format
    if fmt not in FORMATS:
        raise ExportRequestError(None, f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    volume = request.volume
    if volume.voxels.ndim != 3 or min(volume.voxels.shape) < 1:
        raise ExportRequestError(None, f"expected a 3D volume, got voxels of shape {volume.voxels.shape}")
    if request.anonymize and not request.accept_burned_in:
        reason = burned_in_reason(volume)
        if reason:
            raise BurnedInTextError(
                volume.source[0] if volume.source else None,
                f"its pixels may carry burned-in text such as names or dates ({reason}); de-identification "
                "cleans the header only. Export without de-identification, or accept the burned-in text "
                "(--accept-burned-in; in the export dialog, 'Pixels may show text: export anyway'): the files "
                "then say BurnedInAnnotation YES and do not claim the identity removed",
            )
    reformat = None
    sr = request.upscaler is not None
    scale = check_scale(request.scale, sr)
    request = replace(request, scale=scale)
    check_values(request.window, request.intensity_range if sr else None)

    if fmt in PLANE_FORMATS:
        plane = request.plane or "axial"
        if plane not in PLANES:
            raise ExportRequestError(None, f"plane must be one of {', '.join(PLANES)}, got {plane!r}")
        indices = slice_indices(request.slices, n_slices(volume, plane))
        in_shape = display_slice(volume, plane, indices[0]).pixels.shape
    else:
        if isinstance(scale, tuple):
            raise ExportRequestError(
                None, f"{fmt} keeps the stored slices and records their geometry in the header: give one zoom factor "
                "(a rows x columns pair is for PNG and TIFF pictures of a plane)"
            )
        plane = None
        if request.plane not in (None, "stored"):
            if request.plane not in PLANES:
                raise ExportRequestError(None, f"plane must be one of {', '.join(PLANES)}, got {request.plane!r}")
            plane_slices = slice_indices(request.slices, n_slices(volume, request.plane))
            stored = stored_range(volume, request.plane, plane_slices)
            if stored is not None:  # the acquired plane: its own slices, headers and all
                request = replace(request, plane=None, slices=stored)
            else:  # the plane's slices as the stored ones of a volume with permuted axes: exact, no resampling
                if volume.meta.dicom is not None and volume.meta.dicom.irregular_stack:
                    raise ExportRequestError(
                        None, f"the stored slices are not evenly spaced (slices missing or uneven spacing: see the "
                        f"scan's notes), so a {fmt} volume of "
                        f"{request.plane} slices would place them wrongly; export the stored plane, or PNG/TIFF pictures")
                reformat = request.plane
                request = replace(request, volume=reformatted(volume, reformat), plane=None)
                volume = request.volume
        indices = slice_indices(request.slices, volume.shape[2])
        in_shape = volume.shape[:2]
    out_shape = check_size(in_shape, scale)

    streams = []
    if sr:
        streams.append(Method("sr", "Meta-SRGAN", sr_part(scale)))
    if request.include_bicubic or not sr:
        streams.append(Method("bicubic", "bicubic", None))

    dest = request.destination
    as_file = dest.name.lower().endswith(_SUFFIXES[fmt])
    base = base_name(request)
    scale_tag = f"x{scale_key(scale)}"  # x2.5, or x5.49x1.5 (rows x columns)
    outputs: dict[str, dict[int, Path] | Path] = {}
    if as_file and fmt in ("png", "dicom") and len(indices) != 1:
        raise ExportRequestError(dest, f"a {dest.suffix} file holds one slice; give a folder to export {len(indices)} slices")
    folder = dest.parent if as_file else dest
    for i, s in enumerate(streams):
        first = i == 0
        if fmt in ("nifti", "tiff"):
            if as_file:
                outputs[s.tag] = dest if first else _with_tag(dest, s.tag)
            else:
                ext = ".nii.gz" if fmt == "nifti" else ".tif"
                named = plane or reformat
                mid = f"_{named}" if named else ""
                outputs[s.tag] = dest / f"{base}_{scale_tag}{mid}_{s.tag}{ext}"
        else:
            ext = ".png" if fmt == "png" else ".dcm"
            named = plane or reformat
            mid = f"_{named}" if named else ""
            if as_file:
                outputs[s.tag] = {indices[0]: dest if first else _with_tag(dest, s.tag)}
            else:
                outputs[s.tag] = {k: dest / f"{base}_{scale_tag}{mid}_{s.tag}_{k + 1:04d}{ext}" for k in indices}
    plan = ExportPlan(request, plane, indices, streams, tuple(in_shape), out_shape, outputs, folder, base, reformat)
    files = plan.files()
    refuse_source(files, volume.source, source_is_dicom=volume.kind == "dicom")
    refuse_existing(files, request.overwrite)
    return plan
