"""Test doubles for the viewer: a recording upscaler and small synthetic scans."""

from __future__ import annotations

import threading
import time

import numpy as np

from engine import bicubic
from engine.features import SliceFeatures, no_blocks
from engine.geometry import ZoomGrid, parse_scale, source_rect
from engine.io.volume import SeriesMeta, Volume, WindowPreset
from engine.weights import WeightsInfo


def FakeFeatures(shape, pixels, window=None) -> SliceFeatures:
    """The engine's features container (coverage and all) around the raw pixels."""
    f = SliceFeatures(tuple(shape), None, pixels, 0.0, 1.0, "cpu", done=None if window is None else no_blocks(shape))
    for rect in f.missing(window):
        f.mark_done(rect)
    return f


class FakeDevice:
    type = "cpu"


class RecordingUpscaler:
    """Renders bicubic + ``offset`` (so SR and bicubic differ by a known amount) and
    records every call.  ``delay_s`` slows renders to make stale requests likely."""

    def __init__(self, offset: float = 1.0, delay_s: float = 0.0, encode_delay_s: float = 0.0, trained: bool = True):
        self.offset = offset
        self.delay_s = delay_s
        self.encode_delay_s = encode_delay_s
        self.device = FakeDevice()
        self.backend = "Winograd fp32"  # what Upscaler.backend names
        self.channels = 64  # the features' channels, as Upscaler.channels (sizes the prefetch)
        self.info = WeightsInfo(arch={"name": "meta_srgan", "args": {}}, training={"trained": trained})
        self.renders: list[tuple[tuple[float, float], tuple[int, int, int, int]]] = []
        self.encodes: list[tuple[int, int]] = []
        self.windows: list = []  # the window of each encode / encode_more (None = whole slice)
        self._lock = threading.Lock()

    def encode(self, slice2d, intensity_range=None, window=None):
        if self.encode_delay_s:
            time.sleep(self.encode_delay_s)
        px = np.asarray(slice2d, dtype=np.float32).copy()
        with self._lock:
            self.encodes.append(px.shape)
            self.windows.append(window)
        return FakeFeatures(px.shape, px, window)

    def encode_more(self, features, window=None):
        if self.encode_delay_s:
            time.sleep(self.encode_delay_s)
        with self._lock:
            self.windows.append(window)
        for rect in features.missing(window):
            features.mark_done(rect)
        return features

    def needs(self, shape, scale, region=None):
        grid = ZoomGrid.make(tuple(shape), parse_scale(scale))
        return source_rect(*grid.axis_maps(region), grid.shape, 1)

    def render(self, features, scale, region=None):
        parse_scale(scale)  # the real engine's range check
        if not features.covers(self.needs(features.shape, scale, region)):
            raise ValueError("region outside the encoded part")  # as the engine refuses
        if self.delay_s:
            time.sleep(self.delay_s)
        with self._lock:
            self.renders.append((tuple(float(s) for s in (scale if isinstance(scale, tuple) else (scale, scale))), tuple(region)))
        return bicubic(features.lr, scale, region) + np.float32(self.offset)


def synthetic_volume(shape=(160, 144, 12), spacing=(0.5, 0.5, 1.5), windows=True, seed=0) -> Volume:
    """A smooth phantom (not noise, so zooms and differences mean something)."""
    rng = np.random.default_rng(seed)
    i, j, k = np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij")
    vox = 800 * np.exp(-(i**2 + j**2) * 3) * (1 + 0.3 * np.cos(6 * k)) + 20 * rng.standard_normal(shape)
    vox[shape[0] // 4, :, :] = 1500  # a bright line: orientation is checkable
    affine = np.diag([*spacing, 1.0])
    meta = SeriesMeta(description="phantom", modality="MR", windows=[WindowPreset("header", 400.0, 800.0)] if windows else [])
    return Volume(vox.astype(np.float32), affine, meta, [], "nifti")


def write_nifti(path, volume: Volume | None = None):
    import nibabel as nib

    volume = volume or synthetic_volume()
    nib.save(nib.Nifti1Image(volume.voxels, volume.affine), str(path))
    return path
