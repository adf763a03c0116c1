"""The panes as one picture at any resolution: frames re-rendered at k times the
screen's pixels (same field of view), windowed and laid side by side.  No Qt: the
dialog adds the overlay text and writes the file."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.windowing import window_to_uint8

from ..model import data_guard
from ..model.viewport import Viewport
from .consistency import GuardCache, display_map, one_blas_thread
from .feature_cache import encoded
from .frames import FrameRequest, SliceKey, SliceSource, bicubic_frame, mirror_region, sr_frame_mirrored, sr_scale_for, sr_window

GAP_RGB = (42, 45, 49)


@dataclass
class PaneShot:
    role: str  # bicubic | sr | difference | swipe | disagreement
    rgb: np.ndarray  # (h, w, 3) uint8
    diff_range: tuple[float, float] | None = None
    #: the consistency guard's line for an SR picture ("consistent: 99.2% ..."), if checked
    guard_text: str | None = None


def window_to_rgb(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.repeat(window_to_uint8(values, lo, hi)[..., None], 3, axis=2)


def lut_to_rgb(values: np.ndarray, hi: float, lut: np.ndarray) -> np.ndarray:
    idx = np.clip(values * (255.0 / max(hi, 1e-12)), 0, 255)
    idx = np.nan_to_num(idx, nan=0.0).astype(np.intp)
    out = lut[idx, :3].astype(np.uint8)
    out[np.isnan(values)] = 0
    return out


def _canvas(vp: Viewport, frame: np.ndarray | None, region) -> np.ndarray:
    """The pane's pixels (NaN outside the slice)."""
    w, h = vp.size
    out = np.full((h, w), np.nan, dtype=np.float32)
    if frame is None or region is None:
        return out
    (oy, ox), (top, left, fh, fw) = vp.origin, region
    out[top - oy : top - oy + fh, left - ox : left - ox + fw] = frame
    return out


def _guard(pixels, scale, region, sr, bic, data_consistent: bool, guards: GuardCache):
    """(SR as shown: projected when ``data_consistent``, its ConsistencyMap) at this
    picture's own zoom and region."""
    req = FrameRequest(0, SliceKey(0, "screenshot", 0, True), SliceSource.of(pixels), tuple(scale), tuple(region))
    with one_blas_thread():
        guard = guards.guard(req)
        if data_consistent:
            sr = guard.project(sr, region, bicubic=bic)
        return sr, guard.check(sr, region, bicubic=bic), req


def render_panes(panes, shape, spacing, zoom, center, pixels, key, window, factor: float, upscaler, cache, swipe=0.5, diff_lut=None,
                 mirror: bool = False, data_consistent: bool = False, check: bool = True):
    """``panes``: [(role, (width, height))] as on screen; ``key``: the slice's key in
    the feature ``cache``; ``mirror``: ``pixels`` are the features' slice mirrored
    (see ``frames.features_key``); ``data_consistent``: SR pictures projected onto the
    acquired data, as on screen; ``check``: the consistency guard checks each SR picture
    (its line, and the ``disagreement`` pane's map).  Returns [PaneShot] at ``factor``
    times the pixels, the same field of view."""
    lo, hi = window[0] - window[1] / 2, window[0] + window[1] / 2
    shots = []
    frames = {}
    guards = GuardCache()
    checked_here = True  # the guard checks where it does on screen (the zoom on screen, not the picture's)
    for role, (w, h) in panes:
        vp = Viewport(tuple(shape), tuple(spacing), zoom * factor, tuple(center), (max(1, round(w * factor)), max(1, round(h * factor))))
        region = vp.region()
        cache_key = (vp.size, region)
        if cache_key not in frames:
            bic = bicubic_frame(pixels, vp.scale, region) if region else None
            sr = None
            if region and upscaler is not None and sr_scale_for(vp.scale) is not None and role != "bicubic":
                stored = (lambda: np.ascontiguousarray(pixels[:, ::-1])) if mirror else (lambda: pixels)
                at = mirror_region(pixels.shape, vp.scale, region) if mirror else region
                feats = encoded(cache, key, upscaler, stored, sr_window(upscaler, pixels.shape, vp.scale, at))
                sr, _ = sr_frame_mirrored(upscaler, feats, pixels.shape, vp.scale, region, mirror)
            checked = None
            checked_here = data_guard.checkable((vp.scale[0] / factor, vp.scale[1] / factor))
            if sr is not None and (check or data_consistent) and checked_here:
                sr, cm, req = _guard(pixels, vp.scale, region, sr, bic, data_consistent, guards)
                checked = (cm, _canvas(vp, display_map(cm, req), region))
            frames[cache_key] = (_canvas(vp, bic, region), None if sr is None else _canvas(vp, sr, region), checked)
        bic, sr, checked = frames[cache_key]
        best = sr if sr is not None else bic
        line = None
        if checked is not None and check:
            line = data_guard.overlay_line(checked[0].summary(), True, data_consistent)
        elif sr is not None and check and not checked_here:
            line = data_guard.NOT_CHECKED
        if role == "bicubic":
            shots.append(PaneShot(role, window_to_rgb(bic, lo, hi)))
        elif role == "sr":
            shots.append(PaneShot(role, window_to_rgb(best, lo, hi), guard_text=line))
        elif role == "disagreement":
            ratio = checked[1] if checked is not None else np.full(bic.shape, np.nan, np.float32)
            shots.append(PaneShot(role, lut_to_rgb(ratio, data_guard.SCALE_TOP, data_guard.disagreement_lut()),
                                  (0.0, data_guard.SCALE_TOP), guard_text=line))
        elif role == "swipe":
            rgb = window_to_rgb(bic, lo, hi)
            cut = int(round(swipe * rgb.shape[1]))
            rgb[:, cut:] = window_to_rgb(best[:, cut:], lo, hi)
            rgb[:, max(cut - 1, 0) : cut + 1] = (61, 143, 214)
            shots.append(PaneShot(role, rgb, guard_text=line))
        else:
            d = np.abs(best - bic)
            finite = d[np.isfinite(d)]
            top = max(float(np.percentile(finite, 99.5)) if finite.size else 0.0, 1e-3 * max(window[1], 1e-6))
            shots.append(PaneShot(role, lut_to_rgb(d, top, diff_lut), (0.0, top), guard_text=line))
    return shots


def side_by_side(shots: list[PaneShot], gap: int) -> tuple[np.ndarray, list[int]]:
    """One RGB image of the panes left to right; returns it and each pane's left x."""
    h = max(s.rgb.shape[0] for s in shots)
    w = sum(s.rgb.shape[1] for s in shots) + gap * (len(shots) - 1)
    out = np.empty((h, w, 3), np.uint8)
    out[:] = GAP_RGB
    x, lefts = 0, []
    for s in shots:
        out[: s.rgb.shape[0], x : x + s.rgb.shape[1]] = s.rgb
        lefts.append(x)
        x += s.rgb.shape[1] + gap
    return out, lefts
