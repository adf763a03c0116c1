"""``run_export``: one export, start to finish, as a generator of ``Progress``.

The viewer's export dialog and ``metazoom-upscale`` both call it, so their files are
the same bytes.  Everything that can be refused (format, plane, scale, slices, a
target that is the source or already exists) is refused by ``plan_export`` before
any slice is computed; then each slice is enlarged, handed to the writers (one per
output stream: SR, and bicubic on request) and reported, so the caller can cancel
between slices by closing the generator; nothing is moved into place until the
last slice is written (``paths.Staging``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np

from ..io.planes import display_slice
from .dicom_series import DicomExportContext, series_writer
from .errors import ExportWriteError
from .nifti import NiftiValues, NiftiWriter, nifti_header, scaled_affine, source_codes
from .paths import AbandonedStagingWarning, Staging
from .plan import ExportPlan, plan_export
from .png import PngWriter
from .provenance import Provenance, weights_record
from .request import ExportRequest, Progress
from .enlarge import Method, clean, enlarge, volume_intensity_range
from .tiff import TiffWriter
from .value_mapping import ValueMapping, pick_window, volume_stats


def _source_record(request: ExportRequest) -> dict | None:
    if request.anonymize:
        return None
    v = request.volume
    return {
        "kind": v.kind,
        "files": [p.name for p in v.source[:3]] + (["..."] if len(v.source) > 3 else []),
        "n_files": len(v.source),
        "description": v.meta.description,
        "series_uid": v.meta.series_uid or None,
        "shape": list(v.shape),
    }


def run_export(request: ExportRequest) -> Iterator[Progress]:
    """Export as the request says, yielding ``Progress`` after each slice.

    Raises ``ExportError`` (typed, names the file) before any work when the request
    cannot be done.  Closing the generator early (GUI cancel) or any exception,
    Ctrl-C included, leaves nothing behind; the last ``Progress`` has
    ``finished=True`` and the files now in place.
    """
    plan = plan_export(request)
    request = replace(request, scale=plan.request.scale)  # checked; the source volume, not a reformat of it
    volume = request.volume
    total = len(plan.indices)
    yield Progress(0, total, "preparing")

    stats = volume_stats(volume)
    mapping = ValueMapping.for_stats(stats, _source_rescale(volume))
    window = pick_window(volume, request.window)
    intensity = None
    if request.upscaler is not None:
        intensity = request.intensity_range or volume_intensity_range(request.upscaler, volume)
    created = request.timestamp or datetime.now(timezone.utc)
    weights = weights_record(request.upscaler)
    provenances = {
        s.tag: Provenance(
            tag=s.tag,
            scale=request.scale,
            sr_scale=s.sr_scale,
            sizes=tuple(zip(plan.in_shape, plan.out_shape)),
            weights=weights if s.sr_scale is not None else None,
            intensity_range=intensity if s.sr_scale is not None else None,
            created=created,
            source=_source_record(request),
            axes=("rows", "columns") if plan.plane else ("i", "j"),  # a picture's, or the stored arrays' voxel axes
            # slices of another plane than the acquired one: the file's k axis is its normal
            extra={"slices": {"plane": plan.reformat, "axes": "i = screen columns, j = screen rows, k = slice index "
                              "of the plane (radiological display), voxels permuted, not resampled"}} if plan.reformat else {},
        )
        for s in plan.streams
    }

    shared = DicomExportContext.for_request(request) if request.format == "dicom" else None
    try:
        yield from _write(plan, staging_args=(plan.folder, request.overwrite, volume.source), shared=shared,
                          provenances=provenances, mapping=mapping, window=window, created=created,
                          stats=stats, intensity=intensity)
    except OSError as e:
        raise ExportWriteError(plan.folder, f"cannot write the export ({e.strerror or e}); nothing was left behind",
                               e.errno) from e
    yield Progress(total, total, "done", tuple(plan.files()), finished=True)


def _write(plan: ExportPlan, staging_args, shared, provenances, mapping, window, created, stats, intensity):
    """The slice loop: stage every file, then move them all into place."""
    request = plan.request
    total = len(plan.indices)
    with Staging(*staging_args) as staging, ExitStack() as open_writers:
        if staging.removed:
            note = (f"removed {len(staging.removed)} staging folder(s) left in {plan.folder} by an export that was "
                    f"killed: {', '.join(p.name for p in staging.removed)}")
            warnings.warn(note, AbandonedStagingWarning, stacklevel=2)
            yield Progress(0, total, note)
        writers = []
        for s in plan.streams:
            w = _make_writer(plan, s, staging, provenances[s.tag], mapping, window, created, shared)
            open_writers.callback(w.discard)
            writers.append(w)
        for n, index in enumerate(plan.indices):
            src, where = _source_slice(plan, index)
            src = clean(src, stats.lo, stats.hi)
            for s, w in zip(plan.streams, writers):
                out = enlarge(src, request.scale, request.upscaler if s.sr_scale is not None else None, intensity)
                w.add(index, out, where)
            yield Progress(n + 1, total, f"slice {index + 1}")  # counted from 1, as on screen
        for w in writers:
            w.close()
        open_writers.pop_all()
        staging.commit()


def _source_rescale(volume) -> tuple[float, float] | None:
    """The (slope, intercept) every source DICOM slice shares, if they share one and the
    voxels lie on its grid.  (An enhanced multi-frame file keeps its rescale in per-frame
    functional groups its top-level header does not show: "no RescaleSlope" there does
    not mean whole numbers, and storing its 0.01-step values with slope 1 would round
    them away.)"""
    headers = volume.meta.acquired_headers
    pairs = set()
    for h in headers:
        try:
            pairs.add((float(h.get("RescaleSlope", 1) or 1), float(h.get("RescaleIntercept", 0) or 0)))
        except (TypeError, ValueError):
            return None
    if len(pairs) != 1:
        return None
    slope, intercept = pairs.pop()
    if not (np.isfinite(slope) and np.isfinite(intercept) and slope > 0):
        return None
    vox = volume.voxels
    step = max(1, int(round((vox.size / (1 << 18)) ** (1 / 3))))  # a strided sample, ~256k voxels
    sample = np.asarray(vox[::step, ::step, ::step], dtype=np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size:
        stored = (sample - intercept) / slope
        # float32 voxels carry a relative error of ~1e-7: allow it, in stored units
        tol = 1e-3 + 4 * np.finfo(np.float32).eps * float(np.abs(sample).max()) / slope
        if float(np.max(np.abs(stored - np.rint(stored)))) > tol:
            return None
    return slope, intercept


def _source_slice(plan: ExportPlan, index: int):
    volume = plan.request.volume
    fy, fx = plan.factors
    if plan.plane is None:
        sp = volume.spacing
        where = {
            "plane": plan.reformat or "stored",
            "index": int(index),
            "pixel_spacing_mm": [sp[0] / float(fy), sp[1] / float(fx)],
        }
        return volume.voxels[:, :, index], where
    d = display_slice(volume, plan.plane, index)
    where = {
        "plane": d.plane,
        "index": int(d.index),
        "position_mm": d.position_mm,
        "letters": {"top": d.letters[0], "bottom": d.letters[1], "left": d.letters[2], "right": d.letters[3]},
        "pixel_spacing_mm": [d.spacing[0] / float(fy), d.spacing[1] / float(fx)],
    }
    return d.pixels, where


def _make_writer(plan: ExportPlan, stream: Method, staging, provenance, mapping, window, created, shared):
    req = plan.request
    fmt = req.format
    target = plan.outputs[stream.tag]
    H, W = plan.out_shape
    if fmt == "png":
        return PngWriter(staging, target, window, provenance)
    if fmt == "tiff":
        return TiffWriter(staging, target, mapping, window, provenance, H * W * 2 * len(plan.indices))
    volume = req.volume
    if fmt == "nifti":
        affine = scaled_affine(volume.affine, plan.factors, plan.indices[0])
        nifti = volume.meta.nifti
        values = NiftiValues.for_source(volume, mapping.lo, mapping.hi, _source_rescale(volume))
        hdr = nifti_header(
            (H, W, len(plan.indices)), affine, source_codes(nifti, volume.kind), window, provenance,
            nifti.header if nifti is not None else None, values, anonymize=req.anonymize,
        )
        return NiftiWriter(staging, target, hdr, len(plan.indices), values)
    return series_writer(plan, stream, staging, provenance, mapping, window, created, shared)
