"""The trunk compiled by OpenVINO, Intel's inference runtime, for CPUs with native bf16.

Why: on a 2-core AMX Xeon OpenVINO's bf16 trunk encodes a 512x512 slice in ~215 ms
against ~593 ms for oneDNN's bf16 path through PyTorch (issue 19, same process,
interleaved).  On AVX2-only CPUs it loses to the Winograd trunk (``winograd.py``;
``python -m engine.bench`` prints both), so the engine uses it only where the CPU
runs bf16 natively (``Upscaler`` decides).

The graph is built straight from the folded trunk's weights with OpenVINO's own
operations (milliseconds; converting the torch module by tracing took ~30 s on 2
busy cores), with a dynamic height and width so every tile and window the engine
asks for runs on one model.  Compiling takes a second or two: it runs on a
background thread at load (the engine encodes with its fallback meanwhile), and
OpenVINO caches the compiled model on disk (``CACHE_DIR``), so later starts load it.

Threads: OpenVINO fixes a compiled model's thread count, while the viewer sizes
each worker's team per call (numba's thread-local ``set_num_threads``).  So one
compiled model is kept per team size, made on first use (from the disk cache).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numba
import numpy as np
import torch.nn as nn


def cache_dir() -> Path:
    """Where OpenVINO keeps compiled models: the user's cache directory."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "metazoom" / "openvino"


def openvino_missing() -> str | None:
    """None when OpenVINO can be imported, else why not (for the backend's name)."""
    try:
        import openvino  # noqa: F401
    except Exception as e:  # ImportError, or a broken install raising anything
        return f"{type(e).__name__}: {e}"
    return None


def _conv(ops, x, conv: nn.Conv2d):
    w = conv.weight.detach().cpu().numpy().astype(np.float32)
    pad = list(conv.padding)
    y = ops.convolution(x, ops.constant(w), list(conv.stride), pad, pad, list(conv.dilation))
    if conv.bias is not None:
        b = conv.bias.detach().cpu().numpy().astype(np.float32).reshape(1, -1, 1, 1)
        y = ops.add(y, ops.constant(b))
    return y


def _prelu(ops, x, prelu: nn.PReLU, channels: int):
    a = prelu.weight.detach().cpu().numpy().astype(np.float32)
    return ops.prelu(x, ops.constant(np.broadcast_to(a, (channels,)).copy()))


def trunk_graph(folded_trunk: nn.Module):
    """The folded ``SRGANTrunk`` (BatchNorm folded, see ``inference_trunk.fold_trunk``)
    as an OpenVINO model: (1, 1, h, w) float32 in, h and w dynamic; out (1, h + 2, w + 2, C)
    float32, the features channels-last with a zero border (``WinogradTrunk``'s layout)."""
    import openvino as ov
    import openvino.opset13 as ops

    c = folded_trunk.head[0].out_channels
    lr = ops.parameter(ov.PartialShape([1, 1, -1, -1]), ov.Type.f32, name="lr")
    head = _prelu(ops, _conv(ops, lr, folded_trunk.head[0]), folded_trunk.head[1], c)
    x = head
    for block in folded_trunk.blocks:
        body = list(block.body)
        if len(body) != 3 or not isinstance(body[1], nn.PReLU):
            raise ValueError("the OpenVINO trunk needs folded blocks: conv, PReLU, conv")
        y = _conv(ops, _prelu(ops, _conv(ops, x, body[0]), body[1], c), body[2])
        x = ops.add(x, y)
    tail = list(folded_trunk.tail)
    if len(tail) != 1:
        raise ValueError("the OpenVINO trunk needs a folded tail: one conv")
    x = ops.add(head, _conv(ops, x, tail[0]))
    neck = list(getattr(folded_trunk, "neck", None) or [])
    for i in range(0, len(neck), 2):
        x = _prelu(ops, _conv(ops, x, neck[i]), neck[i + 1], c)
    # channels-last with a zero border of one pixel: the layout the CPU renderer reads
    x = ops.transpose(x, ops.constant(np.array([0, 2, 3, 1], np.int64)))
    border = ops.constant(np.array([0, 1, 1, 0], np.int64))
    x = ops.pad(x, border, border, "constant", ops.constant(np.float32(0)))
    out = ops.result(x, name="features")
    return ov.Model([out], [lr], "metazoom_trunk")


class OpenVINOTrunk:
    """``__call__(lr)``: the normalised (h, w) float32 slice -> features as the CPU
    renderer stores them, a zero-bordered (h + 2, w + 2, C) float32 array (as
    ``WinogradTrunk``).

    ``precision``: "bf16" or "f32" (OpenVINO's inference precision hint; a CPU
    without bf16 runs f32 whatever the hint, and ``name`` says what it runs).
    ``background``: compile on a thread; ``ready`` is set when done (``error`` holds
    why, if it failed).  Calls before then block until it is ready: ``Upscaler``
    uses its fallback until ``ready`` is set instead.
    """

    def __init__(self, folded_trunk: nn.Module, precision: str = "bf16", background: bool = True,
                 cache: Path | None = None):
        if precision not in ("bf16", "f32"):
            raise ValueError(f"precision must be bf16 or f32, got {precision!r}")
        self.channels = folded_trunk.head[0].out_channels
        self.precision = precision
        self._cache = cache if cache is not None else cache_dir()
        self._compiled: dict[int, object] = {}
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self.error: str | None = None
        self.runs = precision  # what OpenVINO actually runs, known once compiled
        threads = max(1, numba.config.NUMBA_NUM_THREADS)
        if background:
            threading.Thread(target=self._prepare, args=(folded_trunk, threads), name="metazoom-openvino-compile",
                             daemon=True).start()
        else:
            self._prepare(folded_trunk, threads)
            if self.error:
                raise RuntimeError(self.error)

    @property
    def name(self) -> str:
        return f"OpenVINO {self.runs}"

    def _prepare(self, folded_trunk: nn.Module, threads: int) -> None:
        """Build the graph and compile it for ``threads`` (off the GUI thread)."""
        try:
            import openvino as ov

            self._core = ov.Core()
            try:
                self._cache.mkdir(parents=True, exist_ok=True)
                self._core.set_property({"CACHE_DIR": str(self._cache)})
            except (OSError, RuntimeError):  # an unwritable cache: compile on every start
                pass
            self._model = trunk_graph(folded_trunk)
            self._request(threads)
        except Exception as e:  # the caller keeps its fallback and says why
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.ready.set()
        try:  # the background encodes' one-thread team too (the viewer's prefetch)
            if threads > 1 and self.error is None:
                self._request(1)
        except Exception:  # compiled on first use instead
            pass

    def _request(self, threads: int):
        """A compiled model for ``threads`` inference threads (compiled once; the GIL
        is released while OpenVINO compiles)."""
        with self._lock:
            compiled = self._compiled.get(threads)
            if compiled is None:
                from openvino import Type

                compiled = self._core.compile_model(self._model, "CPU", {
                    "INFERENCE_PRECISION_HINT": self.precision,
                    "INFERENCE_NUM_THREADS": threads,
                    "PERFORMANCE_HINT": "LATENCY",
                    "NUM_STREAMS": 1,
                })
                runs = compiled.get_property("INFERENCE_PRECISION_HINT")
                self.runs = "bf16" if runs == Type.bf16 else "f32"
                self._compiled[threads] = compiled
        # an infer request per call: two worker threads may encode at once
        return compiled.create_infer_request()

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        self.ready.wait()
        if self.error:
            raise RuntimeError(f"OpenVINO trunk unavailable: {self.error}")
        req = self._request(max(1, numba.get_num_threads()))
        return req.infer({0: np.ascontiguousarray(lr, dtype=np.float32)[None, None]})[0][0]
