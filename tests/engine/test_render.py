"""The fast Meta-Upscale against the paper-style reference, and its invariants."""

import numpy as np
import pytest
import torch

from engine.geometry import ZoomGrid
from engine.render.reference import reference_upscale
from engine.render.torch_upscale import meta_upscale, windows_upscale


def psnr(a, b):
    rng = float(b.max() - b.min())
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return np.inf if mse == 0 else 10 * np.log10(rng**2 / mse)


def reference(up, feats_t, lr, scale, shape, region=None):
    """The reference in the engine's output units (no residual: the fixture has none)."""
    out = reference_upscale(up.model, feats_t, scale, shape, region)[0].numpy().copy()
    return out


@pytest.fixture
def slice_and_features(random_upscaler, rng):
    img = (rng.random((33, 41)) * 900 + 100).astype(np.float32)
    f = random_upscaler.encode(img)
    ft = random_upscaler.features_tensor(f.lr)
    return img, f, ft


def normalised(up, f, out):
    """Undo the engine's denormalisation so outputs compare with the reference."""
    return (out - (up.mean * (f.hi - f.lo) + f.lo)) / (up.std * (f.hi - f.lo))


@pytest.mark.parametrize("scale", [1.1, 1.5, 2.0, 2.37, 2.5, 3.0, 3.3, 3.7, 4.0, (1.5, 3.7), (4.0, 1.25)])
def test_fast_render_matches_reference(random_upscaler, slice_and_features, scale):
    img, f, ft = slice_and_features
    fast = normalised(random_upscaler, f, random_upscaler.render(f, scale))
    ref = reference(random_upscaler, ft, f.lr, scale, img.shape)
    assert fast.shape == ref.shape
    my, mx = ZoomGrid.make(img.shape, scale).axis_maps()
    if not (my.quantised or mx.quantised):
        assert psnr(fast, ref) > 100  # exact phases: the same sums up to float32 rounding
    else:
        # phases within 1/32 px, and no bicubic part here: the whole output is the learned
        # correction, from an untrained weight network far steeper in phase than
        # a trained one (which gives 73-87 dB with its bicubic part: engine.bench)
        assert psnr(fast, ref) > 48


@pytest.mark.parametrize("scale,region", [(2.0, (5, 7, 20, 31)), (3.3, (0, 90, 40, 45)), ((1.7, 2.9), (13, 1, 9, 100))])
def test_region_is_exactly_a_crop_of_the_whole(random_upscaler, slice_and_features, scale, region):
    _, f, _ = slice_and_features
    whole = random_upscaler.render(f, scale)
    t, l, h, w = region
    # the same dot products; only the SIMD summation order may differ with the region's
    # alignment (AVX2 vs AVX-512 machines): float32 rounding of 576-term sums, ~1e-7 of
    # the image's range
    tol = 1e-6 * float(whole.max() - whole.min())
    np.testing.assert_allclose(random_upscaler.render(f, scale, region), whole[t : t + h, l : l + w], rtol=0, atol=tol)


@pytest.mark.parametrize("scale", [2.0, 2.5, 3.0, (1.5, 2.0), 2.37])
def test_differentiable_torch_path_matches_cpu_kernel(random_upscaler, slice_and_features, scale):
    img, f, ft = slice_and_features
    fast = normalised(random_upscaler, f, random_upscaler.render(f, scale))
    with torch.no_grad():
        tt = meta_upscale(random_upscaler.model, torch.from_numpy(f.lr)[None, None], scale, feats=ft)[0, 0].numpy()
    np.testing.assert_allclose(tt, fast, atol=2e-4)


def test_windows_path_matches_strided_path(random_upscaler, slice_and_features):
    from engine.geometry import ZoomGrid
    from engine.render.phase_table import phase_table

    _, f, ft = slice_and_features
    g = ZoomGrid.make(f.shape, 2.5)
    my, mx = g.axis_maps()
    table = phase_table(random_upscaler.model.weights, my, mx, torch.device("cpu"))
    with torch.no_grad():
        a = windows_upscale(ft, table, my, mx, band_pixels=500)
        b = meta_upscale(random_upscaler.model, torch.from_numpy(f.lr)[None, None], 2.5, feats=ft)
    torch.testing.assert_close(a, b, atol=2e-5, rtol=0)


def test_gradients_flow_through_the_strided_form():
    from engine import networks

    torch.manual_seed(0)
    m = networks.make({"name": "meta_srgan", "args": {"channels": 8, "blocks": 1}})
    lr = torch.rand(2, 1, 12, 10)
    out = m(lr, 2.5)
    assert out.shape == (2, 1, 30, 25)
    out.square().mean().backward()
    assert m.weights.net[0].weight.grad.abs().sum() > 0
    assert m.trunk.head[0].weight.grad.abs().sum() > 0


def test_tiled_encode_equals_untiled(random_upscaler, rng):
    img = rng.random((70, 90)).astype(np.float32)
    whole = random_upscaler.encode(img, tile=4096)
    tiled = random_upscaler.encode(img, tile=24)
    # Winograd's rounding depends on where its 4x4 tiles fall, which tiling moves:
    # equal to float32 rounding (a halo one pixel too narrow is off by ~7e-3)
    np.testing.assert_allclose(tiled.feats, whole.feats, atol=1e-4)


def test_output_is_in_input_units(random_upscaler, rng):
    img = rng.random((20, 24)).astype(np.float32)
    a = random_upscaler.upscale(img, 2.2)
    b = random_upscaler.upscale(img * 1000 - 50, 2.2)
    np.testing.assert_allclose(b, a * 1000 - 50, rtol=1e-4, atol=0.05)


def test_nan_and_inf_are_tolerated(random_upscaler, rng):
    img = rng.random((16, 16)).astype(np.float32)
    img[3, 4] = np.nan
    img[5, 6] = np.inf
    out = random_upscaler.upscale(img, 2)
    assert np.isfinite(out).all()


def test_bf16_trunk_stays_close(rng):
    from engine.upscaler import Upscaler, cpu_has_bf16

    if not cpu_has_bf16():
        pytest.skip("this CPU has no native bf16")
    from engine import networks
    from engine.weights import WeightsInfo

    torch.manual_seed(3)
    arch = {"name": "meta_srgan", "args": {"blocks": 2, "residual_bicubic": True}}
    m = networks.make(arch).eval()
    torch.nn.init.normal_(m.weights.net[2].weight, std=0.01)
    info = WeightsInfo(arch=arch)
    img = rng.random((40, 40)).astype(np.float32)
    a = Upscaler(m, info, torch.device("cpu"), bf16=False).upscale(img, 2.5)
    b = Upscaler(m, info, torch.device("cpu"), bf16=True).upscale(img, 2.5)
    assert psnr(b, a) > 40


@pytest.mark.parametrize("scale", [1.1, 2.0, (1.5, 3.7)])
def test_scale_gate_scales_every_filter_by_one_minus_inverse_scale(random_upscaler, slice_and_features, scale):
    """``scale_gate``: the learned correction is multiplied by 1 - 1/r in the weight
    network itself, so the CPU kernel, the torch path and the reference all apply it."""
    img, f, ft = slice_and_features
    model = random_upscaler.model
    pos = torch.tensor([[0.1, -0.3, 1 / 1.1], [0.0, 0.25, 0.5], [0.4, 0.4, 1.0]])
    with torch.no_grad():
        plain = model.weights(pos)
        model.weights.scale_gate = True
        try:
            gated = model.weights(pos)
            torch.testing.assert_close(gated, plain * (1 - pos[:, 2]).view(-1, 1, 1, 1, 1))
            assert float(gated[2].abs().max()) == 0.0  # at r = 1 there is nothing to add
            random_upscaler._tables.clear()  # phase tables cached before the gate was on
            fast = normalised(random_upscaler, f, random_upscaler.render(f, scale))
            ref = reference(random_upscaler, ft, f.lr, scale, img.shape)
            tt = meta_upscale(model, torch.from_numpy(f.lr)[None, None], scale, feats=ft)[0, 0].numpy()
        finally:
            model.weights.scale_gate = False
            random_upscaler._tables.clear()
    assert psnr(fast, ref) > 48  # quantised phases at x3.7 (see test_fast_render_matches_reference)
    np.testing.assert_allclose(tt, fast, atol=2e-4)


def test_kernel_row_pairs_and_column_groups():
    from engine.render.cpu_kernel import column_groups, row_pairs

    first, second = row_pairs(np.array([0, 0, 1, 2, 2, 2, 3]))
    # 1 is left over from its run and the run of 2s is odd: 1 pairs with the first 2, the other two pair up
    assert first.tolist() == [0, 2, 4, 6] and second.tolist() == [1, 3, 5, -1]
    first, second = row_pairs(np.array([0, 1, 1, 2, 2]))  # an even run keeps its pairs: 0 stays alone
    assert first.tolist() == [0, 1, 3] and second.tolist() == [-1, 2, 4]
    first, second = row_pairs(np.array([3, 4, 5, 6, 7, 7, 8, 9]))  # below x2: neighbours pair
    assert first.tolist() == [0, 2, 4, 6] and second.tolist() == [1, 3, 5, 7]
    assert [a.tolist() for a in row_pairs(np.array([], np.int64))] == [[], []]
    rng = np.random.default_rng(5)
    for _ in range(200):  # every row exactly once; pairs read one input row or two neighbouring ones;
        # no two neighbours reading one input row left unpaired
        src = np.sort(rng.integers(0, 9, rng.integers(1, 30)))
        first, second = row_pairs(src)
        rows = np.concatenate([first, second[second >= 0]])
        assert sorted(rows.tolist()) == list(range(len(src)))
        paired = second >= 0
        assert (second[paired] == first[paired] + 1).all()
        assert np.isin(src[second[paired]] - src[first[paired]], [0, 1]).all()
        lone = first[~paired]
        assert not any(r + 1 < len(src) and src[r + 1] == src[r] and r + 1 not in first for r in lone)
    q = np.array([2, 0, 1, 0, 2, 1, 1, 0])
    order, starts = column_groups(q, 3, stripe=5)
    # stripe 0 (columns 0-4) by phase, then stripe 1 (5-7)
    assert order.tolist() == [1, 3, 2, 0, 4, 7, 5, 6]
    assert starts.tolist() == [0, 2, 3, 5, 6, 8, 8]
    for g in range(len(starts) - 1):
        assert len(set(q[order[starts[g] : starts[g + 1]]].tolist())) <= 1


def test_aspect_input_tells_reformat_pairs_from_square_zooms(random_upscaler, slice_and_features):
    """``aspect_input``: the weight network's fourth input ``log(r_y/r_x)`` is zero for
    square zooms, so started at zero it changes nothing; once it learns, only unequal
    pairs change, and every render path (CPU kernel, torch, reference) agrees."""
    from engine import networks
    from engine.upscaler import Upscaler
    from engine.weights import WeightsInfo

    img, f, ft = slice_and_features
    arch = {"name": "meta_srgan", "args": {"channels": 64, "blocks": 2, "aspect_input": True}}
    wide = networks.make(arch).eval()
    from engine.networks.meta_srgan import grow_state

    wide.load_state_dict(grow_state(wide, random_upscaler.model.state_dict()))
    up = Upscaler(wide, WeightsInfo(arch=arch, training={"trained": True}), torch.device("cpu"), bf16=False)
    fw = up.encode(img)
    for scale in (2.0, (4.0, 1.1)):  # started at zero: the same function as the 3-input network
        np.testing.assert_allclose(up.render(fw, scale), random_upscaler.render(f, scale), rtol=1e-5, atol=1e-3)
    with torch.no_grad():
        wide.weights.net[0].weight[:, 3].normal_(0, 0.5)
    up._tables.clear()
    np.testing.assert_allclose(up.render(fw, 2.0), random_upscaler.render(f, 2.0), rtol=1e-5, atol=1e-3)
    for scale in ((4.0, 1.1), (1.5, 3.7)):
        fast = up.render(fw, scale)
        assert np.abs(fast - random_upscaler.render(f, scale)).max() > 1.0  # it sees the pair now
        ref = reference(up, ft, fw.lr, scale, img.shape)
        assert psnr(normalised(up, fw, fast), ref) > 48
        with torch.no_grad():
            tt = meta_upscale(wide, torch.from_numpy(fw.lr)[None, None], scale, feats=ft)[0, 0].numpy()
        np.testing.assert_allclose(tt, normalised(up, fw, fast), atol=2e-4)


def test_gradients_through_the_gathered_windows_equal_the_strided_forms(random_upscaler):
    """Off the CPU the training forward gathers windows instead of the stride-Q convolutions:
    same values, same gradients."""
    from engine.geometry import ZoomGrid
    from engine.render.phase_table import positions
    from engine.render.torch_upscale import _filters_per_class, _strided

    model = random_upscaler.model
    torch.manual_seed(3)
    feats = torch.randn(2, model.channels, 9, 11, requires_grad=True)
    h, w = 9, 11
    grid = ZoomGrid.make((h, w), (2.5, 1.5))
    (H, W), (my, mx) = grid.out_shape, grid.axis_maps()
    pos = positions(my.phases, mx.phases, float(my.factor), float(mx.factor))
    table = model.weights(pos).float().view(len(my.phases), len(mx.phases), 1, model.channels, 3, 3).detach().requires_grad_(True)
    from math import gcd

    Py, Qy, Px, Qx = H // gcd(H, h), h // gcd(H, h), W // gcd(W, w), w // gcd(W, w)
    a = _strided(feats, _filters_per_class(my, Py), _filters_per_class(mx, Px), table, (H, W), ((Py, Qy), (Px, Qx)))
    ga = torch.autograd.grad(a.square().sum(), (feats, table))
    b = windows_upscale(feats, table, my, mx, band_pixels=40)
    gb = torch.autograd.grad(b.square().sum(), (feats, table))
    torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    for x, y in zip(ga, gb):
        torch.testing.assert_close(y, x, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scale,region", [
    (1.1, None), (1.3, (3, 5, 30, 43)), (1.6, (0, 1, 52, 61)), (1.25, (7, 2, 1, 9)), ((1.2, 3.3), None),
    ((3.7, 1.1), (4, 0, 100, 45)), (2.0, (1, 1, 45, 80)), (3.7, None)])
def test_low_zoom_kernel_matches_phase_group_kernel(random_upscaler, slice_and_features, scale, region):
    """The column-order kernel computes the same 576-term sums as the phase-group one
    (regions of widths that are not multiples of four, lone rows, pairs reading one
    input row or two), up to float32 summation order."""
    from engine.render.cpu_kernel import meta_upscale_kernel
    from engine.render.low_zoom_kernel import low_zoom_kernel

    up = random_upscaler
    _, f, _ = slice_and_features
    grid, region, my, mx, table = up._plan(f.shape, scale, region)
    args = (f.feats, (f.shape[1] + 2) * up.channels, up.channels, table, len(mx.phases),
            my.src, my.phase_index, mx.src, mx.phase_index)
    grouped = meta_upscale_kernel(*args, np.full(region[2:], np.nan, np.float32))
    in_order = low_zoom_kernel(*args, np.full(region[2:], np.nan, np.float32))
    assert np.isfinite(in_order).all()
    np.testing.assert_allclose(in_order, grouped, rtol=0, atol=1e-6 * float(np.ptp(grouped)))


def test_low_zoom_kernel_takes_low_zooms_but_not_x1_5():
    from engine.geometry import axis_map
    from engine.render.low_zoom_kernel import low_zoom

    assert low_zoom(axis_map(1024, 1126))  # x1.1, quantised phases
    assert low_zoom(axis_map(512, 640))  # x1.25 = 5/4
    assert low_zoom(axis_map(500, 800))  # x1.6 = 8/5
    assert not low_zoom(axis_map(512, 768))  # x1.5 = 3/2: same-phase columns one input column apart
    assert low_zoom(axis_map(500, 900))  # x1.8
    assert not low_zoom(axis_map(512, 972))  # x1.9
    assert not low_zoom(axis_map(512, 1024))
