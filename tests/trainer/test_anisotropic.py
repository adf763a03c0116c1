"""Anisotropic zooms in training: pairs (r_y, r_x), rectangular patches, the
thick-slice degradation, and held-out scoring of pairs."""

from __future__ import annotations

import numpy as np
import pytest

from engine.render.bicubic import downscale
from trainer.data.crops import random_patch
from trainer.data.dataset import Crops, PatchBatches
from trainer.data.degrade import make_lr, slab_taps
from trainer.data.scales import TRAIN_SCALES, ScaleSampler, exact_patch, parse_scales, scale_key
from trainer import evaluate

from .conftest import smooth_images


def test_pair_sizes_keys_and_parsing():
    assert exact_patch((4.0, 2.2), 96) == ((24, 40), (96, 88))
    assert exact_patch(2.0, 96) == ((48, 48), (96, 96))
    assert scale_key((4.0, 2.2)) == "4x2.2" and scale_key(2.0) == "2" and scale_key((3.0, 3.0)) == "3"
    assert parse_scales("1.1,2,4x2.2,3x3") == [1.1, 2.0, (4.0, 2.2), 3.0]
    assert parse_scales([1.5, "4x1.1", [2.0, 3.0]]) == [1.5, (4.0, 1.1), (2.0, 3.0)]


def test_sampler_without_pairs_draws_the_old_isotropic_sequence():
    # the formula runs before pairs existed used: resumed square-zoom runs draw the same scales
    def old(seed, i):
        return TRAIN_SCALES[int(np.random.default_rng([seed, i, 0x5CA1E]).integers(len(TRAIN_SCALES)))]

    new = ScaleSampler(seed=5, anisotropic=0.0)
    assert [new(i) for i in range(500)] == [old(5, i) for i in range(500)]
    # with pairs, the first factor of every minibatch is still the old draw
    mixed = ScaleSampler(seed=5, anisotropic=0.5)
    assert [mixed(i) if not isinstance(mixed(i), tuple) else mixed(i)[0] for i in range(500)] == [old(5, i) for i in range(500)]


def test_bad_scales_are_refused_clearly():
    for bad in ("4x2x3", "x2", "two"):
        with pytest.raises(ValueError, match="ROWSxCOLS"):
            parse_scales(bad)
    assert parse_scales("4X2.2") == [(4.0, 2.2)]
    with pytest.raises(ValueError, match="anisotropic"):
        ScaleSampler(scales=[2.0, (4.0, 2.2)])


def test_sampler_draws_pairs_for_the_asked_fraction():
    s = ScaleSampler(seed=2, anisotropic=0.4)
    draws = [s(i) for i in range(4000)]
    pairs = [d for d in draws if isinstance(d, tuple)]
    # 40% asked; a pair whose two draws coincide (1 in 30) stays a plain number
    assert 0.35 < len(pairs) / len(draws) < 0.43
    assert all(a != b and a in TRAIN_SCALES and b in TRAIN_SCALES for a, b in pairs)
    assert len({p[0] > p[1] for p in pairs}) == 2  # both orientations
    assert draws == [ScaleSampler(seed=2, anisotropic=0.4)(i) for i in range(4000)]
    with pytest.raises(ValueError):
        ScaleSampler(anisotropic=1.5)


def test_slab_taps_average_exactly_the_covered_pixels():
    idx, w = slab_taps(12, 3)  # slabs of 4
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-6)
    x = np.arange(12.0)
    np.testing.assert_allclose((x[idx] * w).sum(1), [1.5, 5.5, 9.5], atol=1e-5)
    idx, w = slab_taps(11, 4)  # 2.75 px slabs: fractional overlaps at each end
    x = np.arange(11.0)
    # first slab [0, 2.75): pixels 0, 1 whole and 3/4 of pixel 2; second [2.75, 5.5): 1/4 of 2, 3, 4, 1/2 of 5
    means = (x[idx] * w).sum(1)
    np.testing.assert_allclose(means[:2], [(0 + 1 + 0.75 * 2) / 2.75, (0.25 * 2 + 3 + 4 + 0.5 * 5) / 2.75], atol=1e-5)
    # last slab [8.25, 11): 3/4 of pixel 8, 9 and 10 whole; nothing beyond the edge
    np.testing.assert_allclose(means[3], (0.75 * 8 + 9 + 10) / 2.75, atol=1e-5)
    assert idx.max() == 10 and np.all(w >= 0)
    # each slab's centroid is within a pixel-quantisation error of the LR pixel centre
    # the engine's geometry puts there, (i + 0.5) * s - 0.5
    np.testing.assert_allclose(means, (np.arange(4) + 0.5) * 2.75 - 0.5, atol=0.04)


def test_make_lr_slabs_the_coarse_axis_and_keeps_bicubic_on_the_other():
    rng = np.random.default_rng(0)
    hr = rng.random((96, 88)).astype(np.float32)
    iso = make_lr(hr[:88], (44, 44), 2.0)
    np.testing.assert_array_equal(iso, downscale(hr[:88], (44, 44)))
    lr = make_lr(hr, (24, 40), (4.0, 2.2))
    assert lr.shape == (24, 40)
    # rows: the mean of 4 HR rows, then columns as bicubic does them
    cols_only = downscale(hr.reshape(24, 4, 88).mean(1), (24, 40))
    np.testing.assert_allclose(lr, cols_only, atol=1e-5)
    # the transposed pair slabs the columns
    np.testing.assert_allclose(make_lr(hr.T.copy(), (40, 24), (2.2, 4.0)), lr.T, atol=1e-5)
    # nearly equal factors (non-square pixels, not thick slices) keep bicubic on both axes
    near = make_lr(hr[:88, :88], (40, 44), (2.2, 2.0))
    np.testing.assert_array_equal(near, downscale(hr[:88, :88], (40, 44)))


def test_random_patch_and_batches_of_a_pair():
    rng = np.random.default_rng(1)
    crop = np.arange(128 * 128, dtype=np.float32).reshape(128, 128)
    p = random_patch(crop, (96, 40), rng)
    assert p.shape == (96, 40) and np.all(np.diff(p[:, 0]) == 128)
    crops = Crops(smooth_images(4, 128), [str(i) for i in range(4)])
    pb = PatchBatches(crops, batch=4, mean=0.5, std=0.25, seed=3, anisotropic=1.0)
    seen = 0
    for step in range(12):
        lr, hr, r = pb.batch_at(step)
        if not isinstance(r, tuple):
            continue
        seen += 1
        (my, mx), (ny, nx) = exact_patch(r, 96)
        assert lr.shape == (4, 1, my, mx) and hr.shape == (4, 1, ny, nx)
        np.testing.assert_allclose(lr[1, 0].numpy(), (make_lr(hr[1, 0].numpy(), (my, mx), r) - 0.5) / 0.25, atol=1e-5)
    assert seen >= 10


def test_pair_patches_are_whole_flipped_or_rotated_blocks_of_the_crop():
    """Every HR patch of a pair minibatch is a contiguous block of the crop in one of
    the 8 orientations, with the pair's shape (no cropped-off transposes)."""
    crop = (np.arange(128)[:, None] * 1000 + np.arange(128)[None, :]).astype(np.float32)
    pb = PatchBatches(Crops([crop] * 2, ["a", "b"]), batch=8, mean=0.0, std=1.0, seed=4, anisotropic=1.0)
    orientations = set()
    for step in range(6):
        _, hr, r = pb.batch_at(step)
        if not isinstance(r, tuple):
            continue
        (_, _), (ny, nx) = exact_patch(r, 96)
        for p in hr[:, 0].numpy().astype(np.int64):
            assert p.shape == (ny, nx)
            dy, dx = p[1, 0] - p[0, 0], p[0, 1] - p[0, 0]  # one step down, one across, in crop units
            assert {abs(dy), abs(dx)} == {1, 1000}
            assert np.all(np.diff(p, axis=0) == dy) and np.all(np.diff(p, axis=1) == dx)
            orientations.add((dy, dx))
    assert len(orientations) >= 6  # the flips and 90-degree turns all occur


def test_held_out_scoring_of_a_pair():
    crops = smooth_images(3, 128)
    lr, hr = evaluate.test_pair(crops[0], (4.0, 2.2))
    assert lr.shape == (32, 55) and hr.shape == (128, 121)
    res = evaluate.score(evaluate.bicubic_predict, crops, [(4.0, 2.2), 2.0])
    assert set(res) == {(4.0, 2.2), 2.0}
    p_pair, p2 = np.mean(res[(4.0, 2.2)].psnr), np.mean(res[2.0].psnr)
    assert p_pair < p2 - 1.0  # rows four times coarser lose clearly more than x2
    # and the pair's LR is the slab model, not bicubic on both axes
    lr_bic = downscale(hr, lr.shape)
    assert np.abs(lr - lr_bic).max() > 1e-3


def test_training_on_pairs_updates_logs_and_evaluates_them(tiny_cfg, tiny_crops):
    import csv
    from pathlib import Path

    from trainer.run_config import parse_config
    from trainer.train import Trainer

    tiny_cfg["data"]["anisotropic"] = 1.0
    tiny_cfg["loss"]["adversarial"] = 0.001  # the discriminator takes rectangular patches too
    tiny_cfg["train"]["eval_scales"] = [2.0, "3x1.5"]
    tr = Trainer(parse_config(tiny_cfg), crops=tiny_crops, test_crops=tiny_crops)  # not quiet: it writes train.csv
    tr.run(4)
    rows = list(csv.DictReader((Path(tiny_cfg["out"]) / "train.csv").open()))
    scales = [r["scale"] for r in rows]
    assert len(rows) == 4 and any("x" in s for s in scales)
    assert all(np.isfinite(float(r["l1"])) and float(r["d"]) > 0 for r in rows)
    res = tr.quick_eval()
    assert set(res) == {"2", "3x1.5", "score", "score_pairs"}
    # the best-checkpoint score stays the square zooms' worst gain; pairs get their own
    assert res["score"] == pytest.approx(res["2"]["psnr"] - res["2"]["bicubic_psnr"])
    assert res["score_pairs"] == pytest.approx(res["3x1.5"]["psnr"] - res["3x1.5"]["bicubic_psnr"])
