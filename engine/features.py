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

    @property
    def complete(self) -> bool:
        return self.done is None or bool(self.done.all())

    @property
    def fraction(self) -> float:
        """Share of the slice's blocks that are encoded."""
        return 1.0 if self.done is None else float(self.done.mean())

    def covers(self, window=None) -> bool:
        """Whether every input pixel of ``window`` (None = the whole slice) has features."""
        if self.done is None:
            return True
        y0, x0, h, w = checked_window(self.shape, window)
        return bool(self.done[block_span(y0, y0 + h), block_span(x0, x0 + w)].all())

    def missing(self, window=None) -> list[tuple[int, int, int, int]]:
        """Rectangles (top, left, height, width; input pixels, whole blocks clipped to
        the slice) that still need encoding for ``window``: one per run of block rows
        that miss the same block columns, so an L-shaped gap costs two encodes, not
        its bounding box."""
        if self.done is None:
            return []
        h, w = self.shape
        y0, x0, wh, ww = checked_window(self.shape, window)
        rows, cols = block_span(y0, y0 + wh), block_span(x0, x0 + ww)
        runs: list[list[int]] = []  # [first block row, last block row, first col, last col]
        for by in range(rows.start, rows.stop):
            todo = np.flatnonzero(~self.done[by, cols])
            if todo.size == 0:
                continue
            span = [cols.start + int(todo[0]), cols.start + int(todo[-1])]
            if runs and runs[-1][1] == by - 1 and runs[-1][2:] == span:
                runs[-1][1] = by
            else:
                runs.append([by, by, *span])
        out = []
        for b0, b1, c0, c1 in runs:
            top, left = b0 * BLOCK, c0 * BLOCK
            out.append((top, left, min((b1 + 1) * BLOCK, h) - top, min((c1 + 1) * BLOCK, w) - left))
        return out

    def mark_done(self, rect) -> None:
        """Record that ``rect`` (whole blocks, or reaching the slice's edge) is encoded."""
        if self.done is None:
            return
        y0, x0, h, w = rect
        self.done[block_span(y0, y0 + h), block_span(x0, x0 + w)] = True
        if self.done.all():
            self.done = None

    @property
    def nbytes(self) -> int:
        """Memory the features hold: the encoded share of the array (its untouched
        zero pages cost nothing) and the normalised slice."""
        f = self.feats
        n = f.nbytes if isinstance(f, np.ndarray) else f.element_size() * f.nelement()
        return int(n * self.fraction + self.lr.nbytes)


def no_blocks(shape) -> np.ndarray:
    """A coverage mask with nothing encoded yet."""
    return np.zeros((-(-int(shape[0]) // BLOCK), -(-int(shape[1]) // BLOCK)), dtype=bool)
