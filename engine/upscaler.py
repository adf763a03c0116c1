"""``Upscaler``: encode a slice once, render any zoom of any region fast.

Data flow: slice (any units) -> normalised LR -> trunk features (cached by the
caller, one per slice) -> phase table (cached here, one per zoom) -> the
Meta-Upscale kernel over the requested region only -> back to the input's units.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
import numpy as np
import torch

from .features import FEATURE_DTYPE, SliceFeatures, checked_window, no_blocks
from .geometry import ZoomGrid, parse_scale, source_rect
from .render.bicubic import resample
from .intensity import checked_range
from .render.cpu_kernel import meta_upscale_kernel
from .render.low_zoom_kernel import low_zoom, low_zoom_kernel
from .render.inference_trunk import InferenceTrunk, fold_trunk
from .render.phase_table import cpu_layout, phase_table
from .render.openvino_trunk import OpenVINOTrunk, openvino_missing
from .render.torch_upscale import bicubic_torch, windows_upscale
from .render.winograd import WinogradTrunk
from .weights import WeightsInfo, load_weights


def pick_device(device: str = "auto") -> torch.device:
    """auto -> CUDA, then MPS, then CPU.  Asking for an absent device is a ValueError."""
    device = str(device).lower()
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device not in ("cpu", "cuda", "mps") and not device.startswith("cuda:"):
        raise ValueError(f"device must be auto, cpu, cuda or mps, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for but MPS is not available")
    return torch.device(device)


def cpu_has_bf16() -> bool:
    """True when oneDNN can run bf16 convolutions natively (AVX512-BF16 / AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


#: The CPU trunk's runtimes (``Upscaler(runtime=...)``).
RUNTIMES = ("auto", "openvino", "winograd", "torch")

#: Input pixels around each source pixel that the Meta-Upscale reads (its 3x3 window).
WINDOW_HALO = 1


class Upscaler:
    """A loaded Meta-SRGAN ready to zoom slices.  Thread-safe for concurrent renders."""

    #: Slices larger than this (pixels per side) are encoded in tiles.
    TILE = 512

    def __init__(self, model: torch.nn.Module, info: WeightsInfo, device: torch.device, bf16: bool | None = None,
                 winograd: bool | None = None, runtime: str = "auto"):
        """``runtime`` (the CPU trunk): "auto" (below), "openvino", "winograd" or "torch".
        ``winograd=True``/``False`` is "winograd"/"torch" (when ``runtime`` is "auto").

        auto, measured with ``python -m engine.bench`` (docs/BENCHMARKS.md): on a CPU
        with native bf16 (AMX / AVX512-BF16) OpenVINO's bf16 trunk (2.8x oneDNN's bf16
        through PyTorch on an AMX Xeon); elsewhere the float32 Winograd trunk, which
        beats OpenVINO's and ONNX Runtime's float32 and int8 trunks on AVX2.  GPUs run
        the float32 PyTorch trunk.  When OpenVINO cannot load, or while it compiles (in
        the background, at load), the trunk it replaces runs: PyTorch bf16, or Winograd
        for float32.  ``backend`` names what runs."""
        if getattr(model, "registry_name", None) != "meta_srgan":
            raise ValueError("Upscaler needs a meta_srgan network")
        self.model = model.to(device).eval()
        self.info = info
        self.device = device
        self.channels = model.channels
        if model.out_channels != 1:
            raise ValueError("MetaZoom renders grayscale: the network must have one output channel")
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        native_bf16 = device.type == "cpu" and cpu_has_bf16()
        if bf16 is None:
            bf16 = native_bf16
        self.bf16 = bool(bf16)
        if runtime == "auto":
            if winograd is not None or device.type != "cpu":
                runtime = "winograd" if winograd else "torch"
            elif self.bf16:
                runtime = "openvino" if native_bf16 else "torch"
            else:
                runtime = "winograd"
        if runtime != "torch" and device.type != "cpu":
            raise ValueError(f"the {runtime} trunk runs on the CPU; {device.type} runs the PyTorch trunk")
        if runtime == "winograd" and self.bf16:
            raise ValueError("the Winograd trunk is the float32 CPU trunk")
        self.runtime = runtime
        # the trunk that runs when OpenVINO is absent, fails or is still compiling
        fallback = "winograd" if runtime == "winograd" or (runtime == "openvino" and not self.bf16) else "torch"
        self._winograd = WinogradTrunk(fold_trunk(self.model.trunk)) if fallback == "winograd" else None
        self._trunk_net = None if fallback == "winograd" else \
            InferenceTrunk(self.model.trunk, self.bf16 and device.type == "cpu").to(device)
        self._openvino = None
        self.runtime_error: str | None = None  # why the asked-for runtime does not run
        if runtime == "openvino":
            self.runtime_error = openvino_missing()
            if self.runtime_error is None:
                self._openvino = OpenVINOTrunk(fold_trunk(self.model.trunk), "bf16" if self.bf16 else "f32")
        norm = info.normalization
        self.mean, self.std = float(norm["mean"]), float(norm["std"])
        self.p_lo, self.p_hi = float(norm.get("low_percentile", 0.5)), float(norm.get("high_percentile", 99.5))
        self._tables: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        """What computes the trunk now, in words for the overlay and About, e.g.
        "OpenVINO bf16", "Winograd fp32", "PyTorch bf16 (OpenVINO unavailable)"."""
        if self._winograd is not None:
            name = "Winograd fp32"
        else:
            name = "PyTorch bf16" if self._trunk_net.dtype == torch.bfloat16 else "PyTorch fp32"
        ov = self._openvino
        if ov is not None:
            if not ov.ready.is_set():
                return f"{name} (OpenVINO compiling)"
            if ov.error is None:
                return ov.name
            self.runtime_error = ov.error
        if self.runtime_error is not None:
            return f"{name} (OpenVINO unavailable)"
        return name

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the runtime the engine asked for has compiled (or failed); True when done."""
        return self._openvino is None or self._openvino.ready.wait(timeout)

    # -- intensities ------------------------------------------------------------
    def intensity_range(self, slice2d: np.ndarray) -> tuple[float, float]:
        """The robust range (percentiles) that maps the slice to [0, 1]."""
        finite = slice2d[np.isfinite(slice2d)]
        if finite.size == 0:
            return 0.0, 1.0
        lo, hi = np.percentile(finite, [self.p_lo, self.p_hi])
        if not hi > lo:
            lo, hi = float(finite.min()), float(finite.max())
        if not hi > lo:
            hi = lo + 1.0
        return float(lo), float(hi)

    def _normalise(self, slice2d, intensity_range):
        x = np.asarray(slice2d, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"expected a 2D slice, got shape {x.shape}")
        if x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"empty slice {x.shape}")
        if intensity_range is None:
            lo, hi = self.intensity_range(x)
        else:
            lo, hi = checked_range(intensity_range)
        x = np.nan_to_num(x, nan=lo, posinf=hi, neginf=lo)
        v = ((x - lo) / (hi - lo) - self.mean) / self.std
        return np.ascontiguousarray(v, dtype=np.float32), float(lo), float(hi)

    # -- encode -----------------------------------------------------------------
    def _padded_features(self, lr: np.ndarray) -> np.ndarray:
        """CPU trunk features of one (tile of a) slice, zero-bordered (h + 2, w + 2, C)."""
        ov = self._openvino
        if ov is not None and ov.ready.is_set() and ov.error is None:
            try:
                return ov(lr)
            except Exception as e:  # the fallback from now on; ``backend`` says so
                ov.error = f"{type(e).__name__}: {e}"
        if self._winograd is not None:
            return self._winograd(lr)
        f = self._trunk_net(torch.from_numpy(lr)[None, None])[0]
        h, w = lr.shape
        padded = np.zeros((h + 2, w + 2, self.channels), dtype=FEATURE_DTYPE)
        padded[1:-1, 1:-1] = f.permute(1, 2, 0).numpy()
        return padded

    def _tiles(self, shape, tile):
        """(y0, y1, x0, x1) of each tile and (ya, yb, xa, xb), it with a halo wider than
        the trunk's receptive field (so tiled == untiled)."""
        h, w = shape
        halo = self.model.radius + 1
        for y0 in range(0, h, tile):
            for x0 in range(0, w, tile):
                y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
                yield (y0, y1, x0, x1), (max(y0 - halo, 0), min(y1 + halo, h), max(x0 - halo, 0), min(x1 + halo, w))

    def _cpu_features(self, lr: np.ndarray, tile: int) -> np.ndarray:
        h, w = lr.shape
        if h <= tile and w <= tile:
            return self._padded_features(lr)
        out = np.zeros((h + 2, w + 2, self.channels), dtype=FEATURE_DTYPE)
        for (y0, y1, x0, x1), (ya, yb, xa, xb) in self._tiles(lr.shape, tile):
            f = self._padded_features(np.ascontiguousarray(lr[ya:yb, xa:xb]))
            out[1 + y0 : 1 + y1, 1 + x0 : 1 + x1] = f[1 + y0 - ya : 1 + y1 - ya, 1 + x0 - xa : 1 + x1 - xa]
        return out

    def features_tensor(self, lr: np.ndarray, tile: int | None = None) -> torch.Tensor:
        """Trunk features (1, C, h, w) float32 on the device, computed as ``encode``
        computes them (in tiles with a halo on large slices)."""
        tile = tile or self.TILE
        if self.device.type == "cpu":
            f = self._cpu_features(lr, tile)[1:-1, 1:-1]
            return torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1)))[None]
        h, w = lr.shape
        x = torch.from_numpy(lr)[None, None].to(self.device)
        if h <= tile and w <= tile:
            return self._trunk_net(x)
        out = torch.empty((1, self.channels, h, w), dtype=torch.float32, device=self.device)
        for (y0, y1, x0, x1), (ya, yb, xa, xb) in self._tiles(lr.shape, tile):
            f = self._trunk_net(x[:, :, ya:yb, xa:xb])
            out[:, :, y0:y1, x0:x1] = f[:, :, y0 - ya : y1 - ya, x0 - xa : x1 - xa]
        return out

    def encode(self, slice2d: np.ndarray, intensity_range=None, tile: int | None = None, window=None) -> SliceFeatures:
        """Run the trunk once on a slice (raw intensities, any units).

        ``intensity_range=(lo, hi)`` fixes the normalisation (e.g. the volume's
        range, so all slices share it); by default the slice's 0.5-99.5 percentiles
        (of the whole slice, even when only a window is encoded, so a window's
        features equal the whole slice's there).
        ``window=(top, left, height, width)`` in input pixels encodes only that part
        (rounded out to whole coverage blocks): what a zoomed-in view shows, see
        ``needs``; ``encode_more`` adds the rest later.
        """
        lr, lo, hi = self._normalise(slice2d, intensity_range)
        if window is None:
            if self.device.type == "cpu":
                feats = self._cpu_features(lr, tile or self.TILE).ravel()
            else:
                feats = self.features_tensor(lr, tile)
            return SliceFeatures(lr.shape, feats, lr, lo, hi, self.device.type)
        checked_window(lr.shape, window)  # fail before allocating
        h, w = lr.shape
        if self.device.type == "cpu":
            # np.zeros maps fresh zero pages: only the encoded part takes memory
            feats = np.zeros((h + 2) * (w + 2) * self.channels, dtype=FEATURE_DTYPE)
        else:
            feats = torch.zeros((1, self.channels, h, w), dtype=torch.float32, device=self.device)
        features = SliceFeatures(lr.shape, feats, lr, lo, hi, self.device.type, done=no_blocks(lr.shape))
        return self.encode_more(features, window, tile)

    def encode_more(self, features: SliceFeatures, window=None, tile: int | None = None) -> SliceFeatures:
        """Encode the parts of ``window`` (None = the whole slice) that ``features``
        lacks, in place; returns ``features``.  Two threads may extend the same
        features at once: blocks both found missing are written twice, with the same
        features to float rounding, and each is marked done only once written."""
        tile = tile or self.TILE
        halo = self.model.radius + 1
        h, w = features.shape
        for rect in features.missing(window):
            y0, x0, rh, rw = rect
            y1, x1 = y0 + rh, x0 + rw
            ya, yb, xa, xb = max(y0 - halo, 0), min(y1 + halo, h), max(x0 - halo, 0), min(x1 + halo, w)
            part = np.ascontiguousarray(features.lr[ya:yb, xa:xb])
            if features.device == "cpu":
                f = self._cpu_features(part, tile)
                whole = features.feats.reshape(h + 2, w + 2, self.channels)
                whole[1 + y0 : 1 + y1, 1 + x0 : 1 + x1] = f[1 + y0 - ya : 1 + y1 - ya, 1 + x0 - xa : 1 + x1 - xa]
            else:
                f = self.features_tensor(part, tile)
                features.feats[:, :, y0:y1, x0:x1] = f[:, :, y0 - ya : y1 - ya, x0 - xa : x1 - xa]
            features.mark_done(rect)  # after the write: a render checks coverage first
        return features

    def needs(self, shape, scale, region=None) -> tuple[int, int, int, int]:
        """The input window ``(top, left, height, width)`` whose features ``render``
        reads for ``region`` of the ``scale`` zoom of a ``shape`` slice: pass it to
        ``encode(window=...)`` to encode only what a view shows."""
        grid = ZoomGrid.make(tuple(shape), parse_scale(scale))
        return source_rect(*grid.axis_maps(region), grid.shape, WINDOW_HALO)

    # -- render -----------------------------------------------------------------
    def _table(self, my, mx):
        key = (my.n_in, my.n_out, mx.n_in, mx.n_out)
        with self._lock:
            if key in self._tables:
                self._tables.move_to_end(key)
                return self._tables[key]
        t = phase_table(self.model.weights, my, mx, self.device)
        t = cpu_layout(t) if self.device.type == "cpu" else t
        with self._lock:
            self._tables[key] = t
            while len(self._tables) > 8:
                self._tables.popitem(last=False)
        return t

    def _plan(self, shape, scale, region):
        """The zoomed grid, the region in it, its axis maps and the zoom's phase table."""
        grid = ZoomGrid.make(tuple(shape), parse_scale(scale))
        region = grid.region(region)
        my, mx = grid.axis_maps(region)
        return grid, region, my, mx, self._table(my, mx)

    def prepare(self, shape, scale, region=None) -> None:
        """Compute the phase table ``render`` will need for this zoom of a ``shape``
        slice now (the weight network, a few ms), e.g. while a bicubic frame is being
        shown, so the render itself starts with it cached."""
        self._plan(shape, scale, region)

    def render(self, features: SliceFeatures, scale, region=None) -> np.ndarray:
        """The Meta-SRGAN zoom of an encoded slice, float32 in the input's units.

        ``scale``: a number or ``(r_y, r_x)``, each in (1, 4].  The zoomed grid is
        ``round(r * n)`` pixels per axis (``engine.geometry.ZoomGrid``);
        ``region = (top, left, height, width)`` in its output pixels, None = all.
        Only the region is computed.
        """
        if not isinstance(features, SliceFeatures):
            raise TypeError("render takes the SliceFeatures that encode returned")
        grid, region, my, mx, table = self._plan(features.shape, scale, region)
        if features.done is not None:
            reads = source_rect(my, mx, features.shape, WINDOW_HALO)
            if not features.covers(reads):
                raise ValueError(f"these features cover only part of the slice, not the input pixels {reads} "
                                 "this region reads: encode_more(features, upscaler.needs(...)) first")
        if features.device == "cpu":
            out = np.empty((region[2], region[3]), dtype=np.float32)
            row_stride = (features.shape[1] + 2) * self.channels
            kernel = low_zoom_kernel if low_zoom(mx) else meta_upscale_kernel
            kernel(
                features.feats, row_stride, self.channels, table, len(mx.phases),
                my.src, my.phase_index, mx.src, mx.phase_index, out,
            )
            if self.model.residual_bicubic:
                out += resample(features.lr, grid.out_shape, region)
        else:
            # the bicubic half on the GPU too: on the CPU it would take longer than the
            # whole Meta-Upscale render does on the GPU
            with torch.no_grad():
                t = windows_upscale(features.feats, table, my, mx)
                if self.model.residual_bicubic:
                    lr = torch.from_numpy(features.lr).to(self.device)[None, None]
                    t = t + bicubic_torch(lr, grid.out_shape, region)
                out = t[0, 0].float().cpu().numpy()
        return self._denormalise(out, features)

    def _denormalise(self, v: np.ndarray, features: SliceFeatures) -> np.ndarray:
        scale = np.float32(self.std * (features.hi - features.lo))
        offset = np.float32(self.mean * (features.hi - features.lo) + features.lo)
        v *= scale
        v += offset
        return v

    def upscale(self, slice2d: np.ndarray, scale, intensity_range=None) -> np.ndarray:
        """Whole-slice Meta-SRGAN zoom: ``round(r * n)`` pixels per axis, sampled with the
        per-axis factor ``n_out / n`` so the field of view is exactly the input's."""
        parse_scale(scale)  # fail before running the trunk
        return self.render(self.encode(slice2d, intensity_range), scale)


def load_upscaler(weights=None, device: str = "auto", bf16: bool | None = None, runtime: str = "auto") -> Upscaler:
    """Load a Meta-SRGAN weights file (None = the bundled weights) onto ``device``
    (auto|cpu|cuda|mps; auto picks CUDA, then MPS, then CPU); ``runtime``: the CPU
    trunk's (see ``Upscaler``)."""
    dev = pick_device(device)
    model, info = load_weights(weights, expect="meta_srgan")
    return Upscaler(model, info, dev, bf16=bf16, runtime=runtime)
