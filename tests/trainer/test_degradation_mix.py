"""Training on a random mix of acquisitions: each patch draws its own degradation, the
minibatch keeps one scale, the paper's mix gives the old batches exactly."""

from __future__ import annotations

import numpy as np
import pytest

from engine.acquisition import Degradation, acquire
from trainer.config import ConfigError, load_config
from trainer.data.dataset import Crops, PatchBatches
from trainer.data.degrade import DegradationMix, degrade, make_lr
from trainer.data.scales import exact_patch
from trainer.evaluate import bicubic_predict, score
from trainer.evaluate import test_pair as held_out_pair


def smooth_crops(n=4, size=128, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y, x = np.mgrid[:size, :size] / size
        img = 0.5 + 0.3 * np.sin(2 * np.pi * (rng.uniform(1, 4) * y + rng.uniform(1, 4) * x)) + 0.05 * rng.random((size, size))
        out.append(img.astype(np.float32))
    return Crops(out, [str(i) for i in range(n)])


MIX = {"mix": {"bicubic": 0.3, "area": 0.2, "kspace": 0.5}, "noise": 0.5, "snr": [10.0, 50.0]}


def test_the_paper_mix_makes_the_old_batches_exactly():
    crops = smooth_crops()
    old = PatchBatches(crops, batch=4, mean=0.5, std=0.25, seed=3, anisotropic=0.5)
    new = PatchBatches(crops, batch=4, mean=0.5, std=0.25, seed=3, anisotropic=0.5, degradations=DegradationMix.from_config({}))
    for step in range(6):
        a, b = old.batch_at(step), new.batch_at(step)
        assert a[2] == b[2]
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
        np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())


def test_each_patch_draws_its_own_degradation_and_the_batch_keeps_its_scale():
    crops = smooth_crops()
    mix = DegradationMix.from_config(MIX)
    pb = PatchBatches(crops, batch=8, mean=0.5, std=0.25, seed=5, anisotropic=0.3, degradations=mix)
    plain = PatchBatches(crops, batch=8, mean=0.5, std=0.25, seed=5, anisotropic=0.3)
    kinds = set()
    for step in range(5):
        lr, hr, r = pb.batch_at(step)
        lr0, hr0, r0 = plain.batch_at(step)
        assert r == r0  # the same scale, patches and flips as without the mix
        np.testing.assert_array_equal(hr.numpy(), hr0.numpy())
        m, _ = exact_patch(r, 96)
        assert lr.shape == (8, 1, *m)
        for k in range(8):
            d = mix.draw(np.random.default_rng([5, step, k, 0xDE6]))
            kinds.add(d.kind)
            want = degrade(hr[k, 0].numpy(), m, r, d, np.random.default_rng([5, step, k, 0xDE6]))
            # the patch's own draw reproduces it (the generator continues past the draw)
            rng = np.random.default_rng([5, step, k, 0xDE6])
            d2 = mix.draw(rng)
            np.testing.assert_allclose(lr[k, 0].numpy(), (acquire(hr[k, 0].numpy(), m, d2, rng) - 0.5) / 0.25, atol=1e-5)
            if d.kind == "bicubic" and d.snr is None:  # the paper's degradation, to float rounding
                np.testing.assert_allclose(want, make_lr(hr[k, 0].numpy(), m, r), atol=1e-5)
    assert kinds == {"bicubic", "area", "kspace"}


def test_mix_draws_follow_the_configured_frequencies():
    mix = DegradationMix.from_config(MIX)
    rng = np.random.default_rng(0)
    draws = [mix.draw(rng) for _ in range(2000)]
    frac = {k: np.mean([d.kind == k for d in draws]) for k in ("bicubic", "area", "kspace")}
    assert frac["bicubic"] == pytest.approx(0.3, abs=0.04) and frac["kspace"] == pytest.approx(0.5, abs=0.04)
    ks = [d for d in draws if d.kind == "kspace"]
    assert np.mean([d.snr is not None for d in ks]) == pytest.approx(0.5, abs=0.05)
    assert all(d.snr is None for d in draws if d.kind != "kspace")  # noise_other = 0
    snrs = np.array([d.snr for d in ks if d.snr is not None])
    assert snrs.min() >= 10 and snrs.max() <= 50 and np.median(snrs) == pytest.approx(np.sqrt(500), rel=0.15)  # log-uniform
    assert {d.filter for d in ks} == {"none", "hamming", "hann", "tukey", "fermi"}


def test_config_mix_tables_replace_the_default_whole():
    cfg = load_config(None, ['data.degrade.mix={ kspace = 1.0 }', "data.degrade.noise=0.25"])
    assert cfg["data"]["degrade"]["mix"] == {"kspace": 1.0}
    mix = DegradationMix.from_config(cfg["data"]["degrade"])
    assert not mix.is_paper and mix.noise == 0.25
    assert DegradationMix.from_config(load_config(None)["data"]["degrade"]).is_paper
    with pytest.raises(ValueError, match="unknown"):
        DegradationMix.from_config({"mix": {"gibbs": 1.0}})
    with pytest.raises(ValueError, match="probability"):
        DegradationMix.from_config({"noise": 1.5})
    with pytest.raises(ConfigError):
        load_config(None, ["data.degrade.nosie=0.5"])


def test_realistic_config_starts_from_the_shipped_weights():
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[2] / "trainer" / "configs" / "realistic.toml")
    assert cfg["model"]["init"] == "resources/weights/meta_srgan.safetensors"
    assert cfg["data"]["normalization"] == "init"
    mix = DegradationMix.from_config(cfg["data"]["degrade"])
    assert mix.mix["bicubic"] > 0 and not mix.is_paper
    # the held-out whole volume is not trained on
    train = {s["path"] for s in cfg["data"]["train"]}
    assert not any("mni152" in p for p in train) and any("mni152" in s["path"] for s in cfg["data"]["test"])


def test_evaluation_pairs_are_seeded_per_crop_and_bicubic_is_the_old_protocol():
    crops = smooth_crops(3).images
    lr, hr = held_out_pair(crops[0], 2.0)
    np.testing.assert_array_equal(lr, make_lr(hr, lr.shape, 2.0))
    a, _ = held_out_pair(crops[0], 2.0, "kspace-noise", 0)
    b, _ = held_out_pair(crops[0], 2.0, "kspace-noise", 0)
    c, _ = held_out_pair(crops[0], 2.0, "kspace-noise", 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    clean = acquire(hr, lr.shape, Degradation("kspace"))
    assert 0.005 < np.std(a - clean) < 0.05
    res = score(bicubic_predict, crops, [2.0, 3.0], "kspace-hamming")
    assert set(res) == {2.0, 3.0} and len(res[2.0].psnr) == 3


def test_a_run_trains_on_the_mix_and_checks_every_degradation(tiny_cfg, tiny_crops):
    import copy

    from trainer.run_config import parse_config
    from trainer.train import Trainer

    from .conftest import smooth_images

    cfg = copy.deepcopy(tiny_cfg)
    cfg["data"]["degrade"] = {**cfg["data"]["degrade"], **MIX}
    cfg["train"]["eval_scales"] = [2.0, "3x1.5"]
    cfg["train"]["eval_degradations"] = ["bicubic", "kspace-noise"]
    tr = Trainer(parse_config(cfg), crops=tiny_crops, test_crops=Crops(smooth_images(2, 48, seed=5), ["a", "b"]), quiet=True)
    assert tr.batches.degradations is not None
    tr.run(2)
    res = tr.quick_eval()
    assert {"2", "3x1.5", "kspace-noise@2", "kspace-noise@3x1.5"} <= set(res)
    square = [v["psnr"] - v["bicubic_psnr"] for k, v in res.items() if k in ("2", "kspace-noise@2")]
    assert res["score"] == pytest.approx(min(square))
    assert res["kspace-noise@2"]["bicubic_psnr"] != res["2"]["bicubic_psnr"]


def test_minibatches_made_by_workers_are_the_same_degraded_ones(tiny_cfg, tiny_crops):
    import copy

    from trainer.data.prefetch import PrefetchedSteps, StepShards
    from trainer.run_config import parse_config
    from trainer.train import Trainer

    cfg = copy.deepcopy(tiny_cfg)
    cfg["data"]["degrade"] = {**cfg["data"]["degrade"], **MIX}
    tr = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    shards = StepShards(tr.batches, 1)
    stream = PrefetchedSteps(shards, 0, 3, workers=1)
    for step in range(3):
        (a, b, r), = stream.take(step)
        (c, d, q), = shards.at(step)
        assert r == q
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
