"""Anisotropic zooms in training: pairs (r_y, r_x), rectangular patches, the
thick-slice degradation, and held-out scoring of pairs."""

from __future__ import annotations

import numpy as np
import pytest

from engine.render.bicubic import downscale
from trainer.data.crops import augment, random_patch
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
    old, new = ScaleSampler(seed=5), ScaleSampler(seed=5, anisotropic=0.0)
    assert [old(i) for i in range(200)] == [new(i) for i in range(200)]


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
    np.testing.assert_allclose((x[idx] * w).sum(1)[:2], [(0 + 1 + 0.75 * 2) / 2.75, (0.25 * 2 + 3 + 4 + 0.5 * 5) / 2.75], atol=1e-5)


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


def test_augmented_rectangular_patch_keeps_its_shape():
    p = np.zeros((96, 40))
    for code in range(8):
        q = augment(np.zeros((40, 96)) if code % 2 else p, code)
        assert q.shape == (96, 40)


def test_held_out_scoring_of_a_pair():
    crops = smooth_images(3, 128)
    lr, hr = evaluate.test_pair(crops[0], (4.0, 2.2))
    assert lr.shape == (32, 55) and hr.shape == (128, 121)
    res = evaluate.score(evaluate.bicubic_predict, crops, [(4.0, 2.2), 2.0])
    assert set(res) == {(4.0, 2.2), 2.0}
    p_pair = np.mean(res[(4.0, 2.2)].psnr)
    assert 15 < p_pair < np.mean(res[2.0].psnr)  # coarser rows lose more than x2


def test_training_on_pairs_updates_logs_and_evaluates_them(tiny_cfg, tiny_crops):
    import csv
    from pathlib import Path

    from trainer.train import Trainer

    tiny_cfg["data"]["anisotropic"] = 1.0
    tiny_cfg["loss"]["adversarial"] = 0.001  # the discriminator takes rectangular patches too
    tiny_cfg["train"]["eval_scales"] = [2.0, "3x1.5"]
    tr = Trainer(tiny_cfg, crops=tiny_crops, test_crops=tiny_crops)  # not quiet: it writes train.csv
    tr.run(4)
    rows = list(csv.DictReader((Path(tiny_cfg["out"]) / "train.csv").open()))
    scales = [r["scale"] for r in rows]
    assert len(rows) == 4 and any("x" in s for s in scales)
    assert all(np.isfinite(float(r["l1"])) and float(r["d"]) > 0 for r in rows)
    res = tr.quick_eval()
    assert set(res) == {"2", "3x1.5", "score"}
    assert res["3x1.5"]["bicubic_psnr"] < res["2"]["bicubic_psnr"] + 5
