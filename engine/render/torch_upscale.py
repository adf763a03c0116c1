"""Meta-Upscale in torch: differentiable (training) and device-agnostic (CUDA/MPS render).

Two exact forms of ``out[i, j] = <table[q_y(i), q_x(j)], window(src_y(i), src_x(j))>``:

* ``strided``: for an axis factor P/Q (lowest terms, P <= EXACT_PHASES), output pixel
  ``P t + a`` reads LR pixel ``Q t + src(a)`` with phase ``phase(a)``.  So the
  output pixels of one offset pair (src(a), src(b)) are one stride-Q convolution
  whose output channels are their filters, and the whole image is Q_y * Q_x
  convolutions followed by a pixel-shuffle.  For integer factors that is one
  convolution + pixel-shuffle.  It costs the floor (one 576-term dot product per
  output pixel), forwards and backwards, through oneDNN/cuDNN.
* ``windows``: any factor and any region, in bands of output rows: gathers each
  band's 3x3 windows (bounded memory) and contracts with the per-pixel filters.
  Used for quantised phases and for the CUDA/MPS viewport render.
"""

from __future__ import annotations

from math import gcd

import torch
import torch.nn.functional as F

from ..geometry import EXACT_PHASES, ZoomGrid, axis_map
from .bicubic import taps
from .phase_table import positions


def bicubic_torch(lr: torch.Tensor, out_shape, region=None) -> torch.Tensor:
    """Bicubic on the engine grid as two small matmuls (differentiable, any device)."""
    B, C, h, w = lr.shape
    H, W = out_shape
    top, left, height, width = (0, 0, H, W) if region is None else region
    ri, rwt = taps(h, H, top, height)
    ci, cwt = taps(w, W, left, width)
    My = torch.zeros(height, h, dtype=lr.dtype, device=lr.device)
    My.index_put_((torch.arange(height).repeat_interleave(ri.shape[1]).to(lr.device), torch.from_numpy(ri.ravel()).to(lr.device)),
                  torch.from_numpy(rwt.ravel()).to(lr.device, lr.dtype), accumulate=True)
    Mx = torch.zeros(width, w, dtype=lr.dtype, device=lr.device)
    Mx.index_put_((torch.arange(width).repeat_interleave(ci.shape[1]).to(lr.device), torch.from_numpy(ci.ravel()).to(lr.device)),
                  torch.from_numpy(cwt.ravel()).to(lr.device, lr.dtype), accumulate=True)
    return My @ lr @ Mx.T


def _strided(feats: torch.Tensor, filt_y, filt_x, table: torch.Tensor, n_out, factors) -> torch.Tensor:
    """The stride-Q convolution form.  ``table``: (Py, Px, out, C, 3, 3)."""
    B, C, h, w = feats.shape
    (Hout, Wout), ((Py_, Qy), (Px_, Qx)) = n_out, factors
    my_src, my_q = filt_y
    mx_src, mx_q = filt_x
    out_ch = table.shape[2]
    fpad = F.pad(feats, (1, 1, 1, 1))
    Tm, Um = -(-Hout // Py_), -(-Wout // Px_)
    pieces, order = [], []
    for oy in sorted(set(my_src)):
        a_list = [a for a in range(Py_) if my_src[a] == oy]
        for ox in sorted(set(mx_src)):
            b_list = [b for b in range(Px_) if mx_src[b] == ox]
            wts = table[[my_q[a] for a in a_list]][:, [mx_q[b] for b in b_list]]  # na, nb, out, C, 3, 3
            wts = wts.reshape(-1, C, 3, 3)
            res = F.conv2d(fpad[:, :, oy:, ox:], wts, stride=(Qy, Qx))
            res = res[:, :, :Tm, :Um]
            if res.shape[2] < Tm or res.shape[3] < Um:
                res = F.pad(res, (0, Um - res.shape[3], 0, Tm - res.shape[2]))
            pieces.append(res)
            order += [(a, b, o) for a in a_list for b in b_list for o in range(out_ch)]
    cat = torch.cat(pieces, dim=1)
    perm = sorted(range(len(order)), key=lambda k: order[k])
    cat = cat[:, perm].view(B, Py_, Px_, out_ch, Tm, Um)
    out = cat.permute(0, 3, 4, 1, 5, 2).reshape(B, out_ch, Tm * Py_, Um * Px_)
    return out[:, :, :Hout, :Wout]


def windows_upscale(feats: torch.Tensor, table: torch.Tensor, my, mx, band_pixels: int = 1 << 18) -> torch.Tensor:
    """Any factor, any region: bands of output rows, each gathering its windows.

    ``table``: (Py, Px, out, C, 3, 3); ``my``/``mx``: AxisMaps of the region.
    Returns (B, out, h, w).
    """
    B, C, h, w = feats.shape
    out_ch = table.shape[2]
    fpad = F.pad(feats, (1, 1, 1, 1))
    dev = feats.device
    sy = torch.from_numpy(my.src).to(dev)
    sx = torch.from_numpy(mx.src).to(dev)
    qy = torch.from_numpy(my.phase_index).to(dev)
    qx = torch.from_numpy(mx.phase_index).to(dev)
    d = torch.arange(3, device=dev)
    cols = (sx[:, None] + d[None, :])  # (w_out, 3) padded col index
    wout = len(mx.src)
    rows_per_band = max(1, band_pixels // max(wout, 1))
    bands = []
    tab = table.reshape(table.shape[0], table.shape[1], out_ch, C * 9)
    for r0 in range(0, len(my.src), rows_per_band):
        r1 = min(r0 + rows_per_band, len(my.src))
        rows = sy[r0:r1, None] + d[None, :]  # (hb, 3)
        win = fpad[:, :, rows[:, :, None, None], cols[None, None, :, :]]  # B, C, hb, 3, w, 3
        win = win.permute(0, 2, 4, 1, 3, 5).reshape(B, r1 - r0, wout, C * 9)
        filt = tab[qy[r0:r1, None], qx[None, :]]  # hb, w, out, C*9
        bands.append(torch.einsum("bhwk,hwok->bohw", win, filt))
    return torch.cat(bands, dim=2)


def _filters_per_class(m, period):
    """Source offset and phase index of each residue class a in [0, period)."""
    base_src = m.src[0]
    return [int(s - base_src) for s in m.src[:period]], [int(q) for q in m.phase_index[:period]]


def meta_upscale(model, lr: torch.Tensor, scale, region=None, feats: torch.Tensor | None = None) -> torch.Tensor:
    """Differentiable Meta-Upscale of a normalised LR batch (B, 1, h, w).

    The output grid is ``engine.geometry.ZoomGrid`` of ``scale`` (whole slice unless
    ``region``).  The weight network runs once per distinct phase pair.
    """
    B, _, h, w = lr.shape
    grid = ZoomGrid.make((h, w), scale)
    region = grid.region(region)
    H, W = grid.out_shape
    my, mx = grid.axis_maps(region)
    if feats is None:
        feats = model.features(lr)
    pos = positions(my.phases, mx.phases, float(my.factor), float(mx.factor)).to(lr.device)
    table = model.weights(pos).float()
    table = table.view(len(my.phases), len(mx.phases), *table.shape[1:])
    whole = region == (0, 0, H, W)
    Py, Qy = H // gcd(H, h), h // gcd(H, h)
    Px, Qx = W // gcd(W, w), w // gcd(W, w)
    # the stride-Q form is Q_y * Q_x small convolutions, forwards and twice backwards: cheap
    # in oneDNN, but on a GPU each is a nearly empty launch (an H200 trained 1.2 updates/s
    # that way); the gathered windows are a handful of launches at any zoom
    if whole and Py <= EXACT_PHASES and Px <= EXACT_PHASES and lr.device.type == "cpu":
        out = _strided(feats.float(), _filters_per_class(my, Py), _filters_per_class(mx, Px), table, (H, W), ((Py, Qy), (Px, Qx)))
    else:
        out = windows_upscale(feats.float(), table, my, mx)
    if model.residual_bicubic:
        out = out + bicubic_torch(lr.float(), (H, W), region)
    return out
