"""The 2D slices a DICOM file holds, each with its own geometry, rescale and window.

Four layouts:
- a classic single-frame image: one slice;
- an enhanced multi-frame image (MR/CT/...): one slice per frame, geometry, pixel
  measures, rescale and window from the per-frame functional groups, falling back
  to the shared ones;
- a Siemens mosaic: one slice per tile (see ``mosaic.py``);
- a classic multi-frame without functional groups (RT dose, NM, cine): frames
  stacked along the normal at GridFrameOffsetVector or the slice spacing.
"""

from __future__ import annotations

import numpy as np

from . import mosaic
from .dicom_header import (
    DicomFile,
    Slice,
    checked_gap,
    checked_orientation,
    checked_position,
    checked_spacing,
    get,
    number,
    text,
    windows_of,
)
from .errors import CorruptScanError
from .limits import MAX_POSITION_MM


def file_slices(dfile: DicomFile) -> list[Slice]:
    """The 2D slices ``dfile`` holds, in the file's order."""
    ds = dfile.header
    if get(ds, "PerFrameFunctionalGroupsSequence") is not None or get(ds, "SharedFunctionalGroupsSequence") is not None:
        return _enhanced(dfile)
    if mosaic.is_mosaic(ds):
        return mosaic.tiles(dfile, _classic(dfile, frame=0))
    if dfile.pixels.frames > 1:
        return _classic_multiframe(dfile)
    return [_classic(dfile, frame=0)]


def _image_type(ds, index: int = 2) -> str:
    it = get(ds, "ImageType")
    try:
        return str(it[index]).upper() if it is not None and len(it) > index else ""
    except (TypeError, IndexError):
        return ""


def _rescale(dfile: DicomFile, ds) -> tuple[float, float]:
    slope = number(ds, "RescaleSlope")
    intercept = number(ds, "RescaleIntercept", 0.0)
    if slope is None:
        # RT dose stores Gy as pixel x DoseGridScaling
        slope = number(ds, "DoseGridScaling", 1.0)
    if get(ds, "RescaleSlope") is not None and number(ds, "RescaleSlope") is None:
        dfile.notes.append(f"{dfile.path.name}: unreadable RescaleSlope, 1 used")
    return slope, intercept


def _order(ds, frame: int) -> tuple:
    """Sort key for repeats at one position: time, acquisition, instance, frame."""
    return (
        number(ds, "TemporalPositionIdentifier", 0, kind=int),
        number(ds, "AcquisitionNumber", 0, kind=int),
        number(ds, "InstanceNumber", 0, kind=int),
        frame,
    )


def _classic(dfile: DicomFile, frame: int) -> Slice:
    ds, path = dfile.header, dfile.path
    slope, intercept = _rescale(dfile, ds)
    gap = checked_gap(ds, path)
    spacing = checked_spacing(ds, path) or checked_spacing(ds, path, "ImagerPixelSpacing")
    return Slice(
        file=dfile,
        frame=frame,
        tile=None,
        rows=dfile.pixels.rows,
        cols=dfile.pixels.cols,
        position=checked_position(ds, path),
        orientation=checked_orientation(ds, path),
        pixel_spacing=spacing,
        gap=gap,
        slope=slope,
        intercept=intercept,
        windows=windows_of(ds),
        echo=text(ds, "EchoNumbers"),
        image_type=_image_type(ds),
        order=_order(ds, frame),
        instance=number(ds, "InstanceNumber", kind=int),
    )


def _classic_multiframe(dfile: DicomFile) -> list[Slice]:
    first = _classic(dfile, 0)
    n = dfile.pixels.frames
    offsets = get(first.file.header, "GridFrameOffsetVector")
    steps = None
    if offsets is not None:
        try:
            steps = np.array([float(v) for v in offsets], dtype=np.float64)
        except (TypeError, ValueError):
            steps = None
        if steps is not None and (steps.size != n or not np.all(np.abs(steps) <= MAX_POSITION_MM)):
            dfile.notes.append(f"{dfile.path.name}: GridFrameOffsetVector does not match the {n} frames; frames stacked evenly")
            steps = None
    if steps is not None:
        steps = steps - steps[0]
    else:
        steps = np.arange(n, dtype=np.float64) * (first.gap or 1.0)
        if first.position is not None:
            dfile.notes.append(
                f"{dfile.path.name}: multi-frame without per-frame positions; frames stacked every {first.gap or 1.0:g} mm along the normal"
            )
    out = []
    for f in range(n):
        s = _classic(dfile, f) if f == 0 else _copy(first, frame=f)
        if first.position is not None and first.orientation is not None:
            s.position = first.position + steps[f] * first.normal
        s.order = _order(dfile.header, f)
        out.append(s)
    return out


def _copy(s: Slice, **changes) -> Slice:
    from dataclasses import replace

    return replace(s, **changes)


# --- enhanced multi-frame -----------------------------------------------------


def _group(per_frame, shared, keyword):
    """The first item of a functional group macro: per-frame first, then shared."""
    for holder in (per_frame, shared):
        if holder is None:
            continue
        seq = get(holder, keyword)
        if seq is not None:
            try:
                if len(seq):
                    return seq[0]
            except TypeError:
                continue
    return None


def _frame_type(per_frame, shared) -> str:
    """What kind of image a frame is: FrameType's 4th value (M, FIELD_MAP, ...) plus
    ComplexImageComponent when it is a phase/real/imaginary part."""
    for holder in (per_frame, shared):
        if holder is None:
            continue
        try:
            keywords = [e.keyword for e in holder if e.keyword and e.keyword.endswith("FrameTypeSequence")]
        except Exception:
            continue
        for kw in keywords:
            item = _group(holder, None, kw)
            if item is None:
                continue
            ft = get(item, "FrameType")
            try:
                kind = str(ft[3] if len(ft) > 3 else ft[2]).upper() if ft is not None else ""
            except (TypeError, IndexError):
                kind = ""
            part = text(item, "ComplexImageComponent").upper()
            if part in ("PHASE", "REAL", "IMAGINARY"):
                kind = f"{kind}/{part}" if kind else part
            if kind:
                return kind
    return ""


def _enhanced(dfile: DicomFile) -> list[Slice]:
    ds, path = dfile.header, dfile.path
    n = dfile.pixels.frames
    per_frame = get(ds, "PerFrameFunctionalGroupsSequence")
    shared_seq = get(ds, "SharedFunctionalGroupsSequence")
    shared = shared_seq[0] if shared_seq is not None and len(shared_seq) else None
    if per_frame is not None and len(per_frame) != n:
        if len(per_frame) < n:
            raise CorruptScanError(path, f"{n} frames but {len(per_frame)} per-frame functional group items")
        dfile.notes.append(f"{path.name}: more per-frame functional groups than frames; extra ignored")
    top_slope, top_intercept = _rescale(dfile, ds)
    top_windows = windows_of(ds)
    top_type = _image_type(ds)
    out = []
    for f in range(n):
        pf = per_frame[f] if per_frame is not None else None
        pos_item = _group(pf, shared, "PlanePositionSequence")
        ori_item = _group(pf, shared, "PlaneOrientationSequence")
        meas = _group(pf, shared, "PixelMeasuresSequence")
        pvt = _group(pf, shared, "PixelValueTransformationSequence")
        voi = _group(pf, shared, "FrameVOILUTSequence")
        echo = _group(pf, shared, "MREchoSequence")
        content = _group(pf, shared, "FrameContentSequence")
        position = checked_position(pos_item if pos_item is not None else ds, path)
        orientation = checked_orientation(ori_item if ori_item is not None else ds, path)
        spacing = checked_spacing(meas, path) if meas is not None else None
        spacing = spacing or checked_spacing(ds, path)
        gap = (checked_gap(meas, path) if meas is not None else None) or checked_gap(ds, path)
        if pvt is not None and number(pvt, "RescaleSlope") is not None:
            slope, intercept = number(pvt, "RescaleSlope"), number(pvt, "RescaleIntercept", 0.0)
        else:
            slope, intercept = top_slope, top_intercept
        te = number(echo, "EffectiveEchoTime") if echo is not None else None
        temporal = number(content, "TemporalPositionIndex", 0, kind=int) if content is not None else 0
        out.append(
            Slice(
                file=dfile,
                frame=f,
                tile=None,
                rows=dfile.pixels.rows,
                cols=dfile.pixels.cols,
                position=position,
                orientation=orientation,
                pixel_spacing=spacing,
                gap=gap,
                slope=slope,
                intercept=intercept,
                windows=(windows_of(voi) if voi is not None else []) or top_windows,
                echo=f"TE {te:g}" if te is not None else text(ds, "EchoNumbers"),
                image_type=_frame_type(pf, shared) or top_type,
                order=(temporal, number(ds, "AcquisitionNumber", 0, kind=int), number(ds, "InstanceNumber", 0, kind=int), f),
                instance=number(ds, "InstanceNumber", kind=int),
            )
        )
    return out
