"""The CUDA path against the CPU path, same weights (skipped without a CUDA GPU).

Run on a GPU machine by ``make gpu-check``; on CPU-only machines these skip.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import engine
from engine.bench import test_slice as mr_like_slice

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")]

SCALES = [1.1, 1.5, 2.37, 4.0, (2.0, 3.3), (3.7, 1.2)]


@pytest.fixture(scope="module")
def pair():
    # the float32 CPU trunk: a CPU with native bf16 would otherwise encode in bf16, whose
    # ~1e-3 relative error (measured on an H200 host: 1% of pixels off by up to 0.13%)
    # is the precision's, not the GPU path's
    return engine.load_upscaler(device="cpu", bf16=False), engine.load_upscaler(device="cuda")


def test_encode_matches_the_cpu_trunk(pair):
    cpu, gpu = pair
    img = mr_like_slice(300, 3)
    a = cpu.encode(img).feats.reshape(302, 302, -1)[1:-1, 1:-1]
    b = gpu.encode(img).feats[0].permute(1, 2, 0).cpu().numpy()
    assert np.abs(a - b).max() <= 1e-3 * max(1.0, float(np.abs(a).max()))


@pytest.mark.parametrize("scale", SCALES, ids=str)
def test_render_matches_the_cpu_render(pair, scale):
    cpu, gpu = pair
    img = mr_like_slice(200, 4)
    a = cpu.upscale(img, scale)
    b = gpu.upscale(img, scale)
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, atol=2e-4 * float(np.ptp(a)))


def test_region_and_partial_encode_match_the_whole(pair):
    _, gpu = pair
    img = mr_like_slice(256, 5)
    whole = gpu.encode(img)
    region = (100, 140, 200, 260)
    window = gpu.needs(img.shape, 2.5, region)
    part = gpu.encode(img, window=window)
    a = gpu.render(whole, 2.5, region)
    b = gpu.render(part, 2.5, region)
    np.testing.assert_allclose(b, a, atol=1e-5 * float(np.ptp(a)))
    full = gpu.render(whole, 2.5)
    np.testing.assert_allclose(a, full[100:300, 140:400], atol=1e-5 * float(np.ptp(a)))


def test_untrained_weights_render_bicubic_on_the_gpu(tmp_path):
    from engine.make_untrained import make_untrained

    up = engine.load_upscaler(make_untrained(tmp_path / "untrained.safetensors"), device="cuda")
    img = mr_like_slice(96, 6)
    for s in (1.7, (3.0, 1.4)):
        want = engine.bicubic(img, s)
        np.testing.assert_allclose(up.upscale(img, s), want, atol=1e-4 * float(np.ptp(want)))
