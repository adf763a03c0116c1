"""The CPU trunk's Winograd convolutions against PyTorch's direct ones."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from engine.networks.blocks import SRGANTrunk
from engine.render.inference_trunk import fold_trunk
from engine.render.winograd import WinogradTrunk, winograd_filters


def _trunk(seed=0, blocks=2, channels=16, neck=False):
    torch.manual_seed(seed)
    t = SRGANTrunk(1, channels, blocks, neck=neck).eval()
    with torch.no_grad():  # BatchNorm statistics and PReLU slopes that are not the defaults
        for m in t.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
            if isinstance(m, nn.PReLU):
                m.weight.uniform_(0.05, 0.4)
    return t


@pytest.mark.parametrize("shape,neck", [((1, 1), False), ((3, 5), False), ((8, 8), False), ((17, 30), False),
                                        ((64, 61), False), ((3, 5), True), ((17, 30), True), ((8, 8), True),
                                        ((17, 30), 2), ((5, 9), 3)])
def test_winograd_trunk_matches_torch(shape, neck, rng):
    trunk = _trunk(neck=neck)
    lr = rng.standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = trunk(torch.from_numpy(lr)[None, None])[0].permute(1, 2, 0).numpy()
    got = WinogradTrunk(fold_trunk(trunk))(lr)
    assert got.shape == (shape[0] + 2, shape[1] + 2, 16)
    # the zero border is the renderer's padding: it must stay zero
    assert not got[0].any() and not got[-1].any() and not got[:, 0].any() and not got[:, -1].any()
    inner = got[1:-1, 1:-1]
    scale = np.abs(want).max()
    assert scale > 0.1
    assert np.abs(inner - want).max() <= 1e-5 * scale + 1e-6


def test_winograd_filters_reproduce_one_tile():
    """One 6x6 tile through the transforms equals the 4x4 cross-correlation."""
    rng = np.random.default_rng(3)
    g = rng.standard_normal((1, 1, 3, 3))
    d = rng.standard_normal((6, 6))
    u = winograd_filters(g).reshape(6, 6).astype(np.float64)
    bt = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                   [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], float)
    at = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], float)
    y = at @ ((bt @ d @ bt.T) * u) @ at.T
    want = np.array([[np.sum(d[i:i + 3, j:j + 3] * g[0, 0]) for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(y, want, atol=1e-5)


def test_concurrent_encodes_match_sequential(random_upscaler, rng):
    """The viewer encodes on two threads at once (a frame's slice and a prefetch):
    each call has its own scratch, so neither sees the other's tiles."""
    from concurrent.futures import ThreadPoolExecutor

    imgs = [rng.random((40 + 8 * i, 52)).astype(np.float32) for i in range(4)]
    want = [random_upscaler.encode(im).feats for im in imgs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = list(pool.map(lambda im: random_upscaler.encode(im).feats, imgs * 2))
    for i, g in enumerate(got):
        np.testing.assert_array_equal(g, want[i % 4])


@pytest.mark.parametrize("chunk", [1, 3])
def test_tile_rows_split_into_several_work_units(monkeypatch, chunk, rng):
    """Rows of tiles wider than ``CHUNK_TILES`` are split, the last unit partial."""
    from engine.render import winograd

    monkeypatch.setattr(winograd, "CHUNK_TILES", chunk)
    trunk = _trunk(seed=1)
    lr = rng.standard_normal((13, 29)).astype(np.float32)  # 8 tiles a row: 8 units of 1, or 3 + 3 + 2
    with torch.no_grad():
        want = trunk(torch.from_numpy(lr)[None, None])[0].permute(1, 2, 0).numpy()
    got = WinogradTrunk(fold_trunk(trunk))(lr)
    assert np.abs(got[1:-1, 1:-1] - want).max() <= 1e-5 * np.abs(want).max() + 1e-6
    assert not got[:, -1].any() and not got[-1].any()


def test_other_architectures_are_refused():
    trunk = _trunk()
    trunk.tail[0] = nn.Conv2d(16, 16, 5, padding=2)
    with pytest.raises(ValueError, match="3x3"):
        WinogradTrunk(fold_trunk(trunk))
