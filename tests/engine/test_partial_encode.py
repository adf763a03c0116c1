"""Encoding only the part of a slice a view shows (``encode(window=...)``), and the rest
later (``encode_more``): the same pixels as a whole-slice encode, and a clear error
for a region outside what was encoded."""

import numpy as np
import pytest

from engine.features import BLOCK, SliceFeatures, no_blocks


@pytest.fixture
def img(rng):
    return (rng.random((100, 120)) * 900 + 40).astype(np.float32)


def test_window_renders_as_the_whole_slice(random_upscaler, img):
    up = random_upscaler
    whole = up.encode(img)
    for scale, region in [(2.0, (60, 70, 50, 64)), ((3.0, 2.2), (100, 20, 90, 80)), (1.37, (0, 0, 40, 40))]:
        need = up.needs(img.shape, scale, region)
        part = up.encode(img, window=need)
        assert part.covers(need) and not part.complete
        np.testing.assert_allclose(up.render(part, scale, region), up.render(whole, scale, region), rtol=1e-5, atol=1e-2)


def test_window_is_rounded_to_blocks_and_costs_only_its_share(random_upscaler, img):
    part = random_upscaler.encode(img, window=(20, 33, 10, 10))
    # rows 20..29 -> block 1; cols 33..42 -> blocks 2; one block of 16x16 of 7x8 blocks
    assert part.done.sum() == 1 and part.done[1, 2]
    full = random_upscaler.encode(img)
    assert part.nbytes == pytest.approx(full.feats.nbytes / 56 + img.size * 4, abs=1)
    assert full.nbytes == full.feats.nbytes + img.size * 4


def test_region_outside_the_window_is_refused(random_upscaler, img):
    up = random_upscaler
    part = up.encode(img, window=up.needs(img.shape, 3.0, (0, 0, 60, 60)))
    with pytest.raises(ValueError, match="encode_more"):
        up.render(part, 3.0, (200, 250, 60, 60))


def test_encode_more_completes_the_slice(random_upscaler, img):
    up = random_upscaler
    part = up.encode(img, window=(40, 40, 20, 20))
    up.encode_more(part, up.needs(img.shape, 2.0, (150, 0, 50, 240)))  # a pan down: more blocks
    assert not part.complete
    up.encode_more(part)
    assert part.complete and part.done is None
    np.testing.assert_allclose(part.feats, up.encode(img).feats, atol=1e-4)
    np.testing.assert_allclose(up.upscale(img, 2.5), up.render(part, 2.5), rtol=1e-5, atol=1e-2)


def test_missing_parts_are_encoded_as_few_rectangles():
    f = SliceFeatures((100, 120), None, np.zeros((100, 120), np.float32), 0.0, 1.0, "cpu", done=no_blocks((100, 120)))
    f.mark_done((0, 0, 3 * BLOCK, 4 * BLOCK))  # top-left 3x4 blocks encoded
    # an L-shaped gap: rows of blocks 0-2 miss cols 4-5, rows 3-5 miss cols 0-5
    assert f.missing((0, 0, 90, 90)) == [(0, 64, 48, 32), (48, 0, 48, 96)]
    assert f.missing((0, 0, 40, 60)) == []
    # the last block row and column are clipped to the slice (100 = 6 * 16 + 4)
    assert f.missing((97, 117, 3, 3)) == [(96, 112, 4, 8)]


def test_window_outside_the_slice_is_an_error(random_upscaler, img):
    with pytest.raises(ValueError, match="holds no pixel"):
        random_upscaler.encode(img, window=(500, 0, 10, 10))


def test_partial_features_in_the_gpu_layout(random_upscaler, img):
    """encode_more on (1, C, h, w) tensors, the GPU's layout (exercised on the CPU)."""
    import torch

    up = random_upscaler
    lr = up.encode(img).lr
    t = SliceFeatures(img.shape, torch.zeros((1, up.channels, *img.shape)), lr, 0.0, 1.0, "tensor", done=no_blocks(img.shape))
    up.encode_more(t, (30, 40, 20, 20))
    want = up.features_tensor(lr)
    assert t.covers((30, 40, 20, 20)) and not t.complete
    np.testing.assert_allclose(t.feats[:, :, 30:50, 40:60], want[:, :, 30:50, 40:60], atol=1e-4)
    assert float(t.feats[:, :, 80:, 100:].abs().max()) == 0.0  # untouched


def test_the_ring_around_a_view_is_four_rectangles():
    f = SliceFeatures((512, 512), None, np.zeros((512, 512), np.float32), 0.0, 1.0, "cpu", done=no_blocks((512, 512)))
    f.mark_done((160, 160, 192, 192))
    assert f.missing() == [(0, 0, 160, 512), (160, 0, 192, 160), (160, 352, 192, 160), (352, 0, 160, 512)]
    for rect in f.missing():
        f.mark_done(rect)
    assert f.complete and f.missing() == []


def test_gpu_layout_features_count_their_whole_tensor():
    import torch

    lr = np.zeros((64, 64), np.float32)
    f = SliceFeatures((64, 64), torch.zeros((1, 8, 64, 64)), lr, 0.0, 1.0, "cuda", done=no_blocks((64, 64)))
    f.mark_done((0, 0, 16, 16))
    assert f.nbytes == 8 * 64 * 64 * 4 + lr.nbytes  # a GPU allocates it all at once


@pytest.mark.parametrize("neck", [True, 2])
def test_a_network_with_a_neck_encodes_windows_and_tiles_as_the_whole(rng, img, neck):
    """The neck is one more 3x3 layer (or more): the halo grows with it, so windows still equal
    the whole-slice encode, and the Winograd trunk (the CPU default) equals torch's."""
    import torch

    from engine import networks
    from engine.render.torch_upscale import meta_upscale
    from engine.upscaler import Upscaler
    from engine.weights import WeightsInfo

    torch.manual_seed(3)
    arch = {"name": "meta_srgan", "args": {"channels": 16, "blocks": 1, "neck": neck, "aspect_input": True}}
    model = networks.make(arch).eval()
    with torch.no_grad():
        for prelu in list(model.trunk.neck)[1::2]:
            prelu.weight.fill_(0.3)  # PReLUs that bend
    assert model.radius == 4 + 2 + 1 + int(neck)
    up = Upscaler(model, WeightsInfo(arch=arch, training={"trained": True}), torch.device("cpu"), bf16=False)
    whole = up.encode(img)
    scale, region = (3.0, 2.2), (100, 20, 90, 80)
    need = up.needs(img.shape, scale, region)
    part = up.encode(img, window=need)
    np.testing.assert_allclose(up.render(part, scale, region), up.render(whole, scale, region), rtol=1e-5, atol=1e-2)
    with torch.no_grad():
        want = meta_upscale(model, torch.from_numpy(whole.lr)[None, None], scale)[0, 0].numpy()
    got = (up.render(whole, scale) - (up.mean * (whole.hi - whole.lo) + whole.lo)) / (up.std * (whole.hi - whole.lo))
    np.testing.assert_allclose(got, want, atol=2e-3 * np.abs(want).max())
