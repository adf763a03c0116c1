import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine import bicubic
from engine.geometry import output_size
from engine.render.bicubic import cubic, downscale, resample


def naive_bicubic(img, out_shape, a):
    """Direct 2D sum over the 4x4 neighbourhood, replicated borders: an independent oracle."""
    h, w = img.shape
    H, W = out_shape
    out = np.zeros(out_shape)
    for i in range(H):
        y = (i + 0.5) * h / H - 0.5
        for j in range(W):
            x = (j + 0.5) * w / W - 0.5
            acc = 0.0
            for yy in range(int(np.floor(y)) - 1, int(np.floor(y)) + 3):
                for xx in range(int(np.floor(x)) - 1, int(np.floor(x)) + 3):
                    acc += cubic(np.array(y - yy), a) * cubic(np.array(x - xx), a) * img[min(max(yy, 0), h - 1), min(max(xx, 0), w - 1)]
            out[i, j] = acc
    return out


@pytest.mark.parametrize("scale", [2.0, 2.37, (1.5, 3.3)])
def test_matches_torch_interpolate_with_its_kernel(rng, scale):
    img = rng.random((23, 31)).astype(np.float32)
    ry, rx = scale if isinstance(scale, tuple) else (scale, scale)
    size = (output_size(23, ry), output_size(31, rx))
    ours = bicubic(img, scale, a=-0.75)
    ref = F.interpolate(torch.from_numpy(img)[None, None], size=size, mode="bicubic", align_corners=False)[0, 0].numpy()
    # torch computes its source coordinates in float32; ours are exact
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_keys_kernel_matches_direct_sum(rng):
    img = rng.random((9, 11)).astype(np.float32)
    ours = bicubic(img, 2.5)
    np.testing.assert_allclose(ours, naive_bicubic(img, ours.shape, -0.5), atol=2e-6)


def test_region_is_a_crop(rng):
    img = rng.random((40, 50)).astype(np.float32)
    whole = bicubic(img, 3.7)
    part = bicubic(img, 3.7, region=(17, 33, 60, 71))
    np.testing.assert_array_equal(part, whole[17:77, 33:104])


def test_constant_stays_constant_and_downscale_is_antialiased(rng):
    const = np.full((20, 30), 7.0, np.float32)
    np.testing.assert_allclose(bicubic(const, 2.2), 7.0, atol=1e-5)
    # pixel noise must not survive a x4 downscale: the stretched kernel averages it
    noise = rng.standard_normal((256, 256)).astype(np.float32)
    small = downscale(noise, (64, 64))
    aliased = resample(noise, (64, 64), antialias=False)
    assert small.std() < 0.3 and aliased.std() > 0.6
    np.testing.assert_allclose(downscale(const, (7, 9)), 7.0, atol=1e-5)
