"""``SliceFeatures``: the trunk's output for one slice, whole or only where it was asked for.

A viewer zoomed to x3 shows a third of a slice; encoding only that part (plus the
trunk's halo) makes a slice the user scrolls onto show its Meta-SRGAN frame 2-3x
sooner.  So features may be *partial*: the array always has the whole slice's
shape (zeros where nothing was encoded: a lazily zeroed allocation costs no memory
until written) and a mask of ``BLOCK`` x ``BLOCK`` input-pixel blocks says which
parts hold real features.  ``render`` refuses a region that reads outside them;
``Upscaler.encode_more`` fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Side of a coverage block, in input (LR) pixels.
BLOCK = 16
#: The features' element type on the CPU (the kernels read float32), and the
#: normalised slice's.
FEATURE_DTYPE = np.dtype(np.float32)


def whole_slice_nbytes(shape, channels: int) -> int:
    """What a whole slice's CPU features hold (``SliceFeatures.nbytes`` once complete):
    the zero-padded (h + 2, w + 2, ``channels``) features and the normalised slice.
    The viewer sizes its prefetch by it."""
    h, w = int(shape[0]), int(shape[1])
    return (h + 2) * (w + 2) * int(channels) * FEATURE_DTYPE.itemsize + h * w * FEATURE_DTYPE.itemsize


def checked_window(shape, window) -> tuple[int, int, int, int]:
    """``window = (top, left, height, width)`` in input pixels, clipped to the slice
    (None = the whole slice).  An empty window is a ValueError."""
    h, w = int(shape[0]), int(shape[1])
    if window is None:
        return (0, 0, h, w)
    if len(window) != 4:
        raise ValueError(f"window must be (top, left, height, width), got {window!r}")
    top, left, height, width = (int(v) for v in window)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + height, h), min(left + width, w)
    if y1 <= y0 or x1 <= x0:
        raise ValueError(f"window {window!r} holds no pixel of a {h}x{w} slice")
    return (y0, x0, y1 - y0, x1 - x0)


def block_span(start: int, stop: int) -> slice:
    """The coverage blocks that pixels ``start .. stop - 1`` touch."""
    return slice(start // BLOCK, -(-stop // BLOCK))


@dataclass
class SliceFeatures:
    """The trunk's output for one slice, ready to render any zoom of it.

    ``feats``: CPU: flat float32 of the zero-padded (h + 2, w + 2, C) features;
    GPU: (1, C, h, w) tensor on the device.  ``lr``: the normalised slice
    (for the bicubic residual, and for encoding more of it).  ``lo``/``hi``: the
    intensity range used to normalise, so renders come back in the input's units.
    ``done``: which ``BLOCK``-pixel blocks hold features (None = all of them).
    """

    shape: tuple[int, int]
    feats: object
    lr: np.ndarray
    lo: float
    hi: float
    device: str
    done: np.ndarray | None = field(default=None, repr=False)

    # Another thread may finish the slice meanwhile (``done`` becomes None): each
    # reader takes ``done`` once.

    @property
    def complete(self) -> bool:
        return self.covers()

    @property
    def fraction(self) -> float:
        """Share of the slice's blocks that are encoded."""
        done = self.done
        return 1.0 if done is None else float(done.mean())

    def covers(self, window=None) -> bool:
        """Whether every input pixel of ``window`` (None = the whole slice) has features."""
        done = self.done
        if done is None:
            return True
        y0, x0, h, w = checked_window(self.shape, window)
        return bool(done[block_span(y0, y0 + h), block_span(x0, x0 + w)].all())

    def missing(self, window=None) -> list[tuple[int, int, int, int]]:
        """Rectangles (top, left, height, width; input pixels, whole blocks clipped to
        the slice) that still need encoding for ``window``: each run of missing blocks
        along a block row, joined with the same runs of the rows below, so the ring
        around an encoded view costs four encodes, not the whole slice again."""
        done = self.done
        if done is None:
            return []
        h, w = self.shape
        y0, x0, wh, ww = checked_window(self.shape, window)
        rows, cols = block_span(y0, y0 + wh), block_span(x0, x0 + ww)
        open_runs: dict[tuple[int, int], int] = {}  # (first col, last col) -> first block row
        found: list[tuple[int, int, int, int]] = []  # (first row, last row, first col, last col)
        for by in range(rows.start, rows.stop + 1):
            runs = set(_runs(~done[by, cols], cols.start)) if by < rows.stop else set()
            for run in list(open_runs):
                if run not in runs:
                    found.append((open_runs.pop(run), by - 1, *run))
            for run in runs:
                open_runs.setdefault(run, by)
        found.sort()
        return [(b0 * BLOCK, c0 * BLOCK, min((b1 + 1) * BLOCK, h) - b0 * BLOCK, min((c1 + 1) * BLOCK, w) - c0 * BLOCK)
                for b0, b1, c0, c1 in found]

    def mark_done(self, rect) -> None:
        """Record that ``rect`` (whole blocks, or reaching the slice's edge) is encoded."""
        done = self.done
        if done is None:
            return
        y0, x0, h, w = rect
        done[block_span(y0, y0 + h), block_span(x0, x0 + w)] = True
        if done.all():
            self.done = None

    @property
    def nbytes(self) -> int:
        """Memory the features hold: on the CPU the encoded share of the array (its
        untouched zero pages cost nothing), on a GPU all of it; and the normalised slice."""
        f = self.feats
        if isinstance(f, np.ndarray):
            n = f.nbytes * self.fraction
        else:
            n = f.element_size() * f.nelement() if f is not None else 0
        return int(n + self.lr.nbytes)


def _runs(flags: np.ndarray, offset: int) -> list[tuple[int, int]]:
    """(first, last) index (+ ``offset``) of each run of True in ``flags``."""
    f = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(f))
    return [(offset + int(a), offset + int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def no_blocks(shape) -> np.ndarray:
    """A coverage mask with nothing encoded yet."""
    return np.zeros((-(-int(shape[0]) // BLOCK), -(-int(shape[1]) // BLOCK)), dtype=bool)
