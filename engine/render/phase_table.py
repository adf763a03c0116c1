"""Phase tables: the Meta-Upscale filters for every distinct phase pair of one scale.

The weight network's input is ``(phase_y, phase_x, 1/r)`` (and, for networks built
with ``aspect_input``, ``log(r_y/r_x)``); it never sees the image,
so one zoom factor needs it only once per distinct phase pair (exactly ``p`` phases
per axis for r = p/q, at most ``PHASE_QUANT + 1`` when quantised), not once per
output pixel as in the paper's code.
"""

from __future__ import annotations

import numpy as np
import torch

from ..geometry import AxisMap


def scale_input(factor_y: float, factor_x: float) -> float:
    """The weight network's scale input ``1/r``.

    The network was built with one scale input (the paper's ``Linear(3, 256)``).
    For non-square zooms (reformatted planes of thick-slice scans) we feed the
    geometric mean ``1/sqrt(r_y r_x)``: the phases carry each axis's own
    sub-pixel position exactly, and the scale input only steers how much detail
    to restore, for which the mean area magnification is the natural summary.
    ``docs/BENCHMARKS.md`` measures what this costs against isotropic zooms.
    """
    return 1.0 / float(np.sqrt(factor_y * factor_x))


def aspect_input(factor_y: float, factor_x: float) -> float:
    """The optional fourth input ``log(r_y / r_x)``: zero for square zooms, so a
    network given it with its weights started at zero computes what it did before."""
    return float(np.log(factor_y / factor_x))


def positions(phases_y: np.ndarray, phases_x: np.ndarray, factor_y: float, factor_x: float) -> torch.Tensor:
    """(Py*Px, 4) float32 rows of (phase_y, phase_x, 1/r, log(r_y/r_x)), y-major.
    The weight network reads the first three (the paper's) or all four."""
    py, px = np.meshgrid(phases_y, phases_x, indexing="ij")
    n = py.size
    pos = np.stack([py.ravel(), px.ravel(), np.full(n, scale_input(factor_y, factor_x)),
                    np.full(n, aspect_input(factor_y, factor_x))], axis=1)
    return torch.from_numpy(pos.astype(np.float32))


@torch.no_grad()
def phase_table(predictor: torch.nn.Module, my: AxisMap, mx: AxisMap, device: torch.device) -> torch.Tensor:
    """Filters for every phase pair of ``my`` x ``mx``: (Py, Px, out, C, 3, 3) float32."""
    pos = positions(my.phases, mx.phases, float(my.factor), float(mx.factor)).to(device)
    w = predictor(pos).float()
    return w.view(len(my.phases), len(mx.phases), *w.shape[1:])


def cpu_layout(table: torch.Tensor) -> np.ndarray:
    """(Py, Px, 1, C, 3, 3) -> flat float32 of (Py, Px, 3, 3*C), the CPU kernel's
    layout: row ``dy`` of the 3x3 window is 3*C contiguous values, matching
    features stored as (rows, cols, C).  Grayscale output only."""
    if table.shape[2] != 1:
        raise ValueError("the CPU kernel renders one output channel (grayscale)")
    t = table[:, :, 0].permute(0, 1, 3, 4, 2).contiguous()  # Py, Px, dy, dx, C
    return t.cpu().numpy().ravel()
