"""The MRI VGG made from the training crops: its labels, its scale, its file."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from tests.trainer.conftest import smooth_images
from trainer.data.dataset import Crops
from trainer.mri_vgg import CONVS, KINDS, ZOOMS, fold_batchnorm, make_sample, train, trainable_trunk, unit_energy
from trainer.vgg import load_vgg, save_vgg, vgg_features


def test_a_sample_is_labelled_with_what_made_it():
    crop = smooth_images(1, size=64)[0]
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        s = make_sample(crop, 32, rng)
        seen.add(s.kind)
        assert s.image.shape == (32, 32) and s.image.dtype == np.float32
        assert 0 <= s.rotation < 4
        if s.kind == 0:  # the HR patch: a piece of the crop itself, no zoom, no noise
            assert s.log_zoom == 0.0 and not s.noisy
            assert np.isin(s.image, crop).all()
        else:
            assert math.log(ZOOMS[0]) - 1e-6 <= s.log_zoom <= math.log(ZOOMS[1]) + 1e-6
            assert not np.isin(s.image, crop).all()
    assert seen == set(range(len(KINDS)))


def test_unit_energy_scales_the_features_and_nothing_else():
    torch.manual_seed(0)
    feats = vgg_features(16, [4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8])[: 2 * CONVS + 3]
    x = torch.rand(3, 1, 32, 32)
    before = feats(x.expand(-1, 3, -1, -1)).detach()
    c = unit_energy(feats, x)
    after = feats(x.expand(-1, 3, -1, -1)).detach()
    torch.testing.assert_close(after, before * c)
    assert abs(float(after.pow(2).mean()) - 1.0) < 1e-5


def test_a_short_run_stores_a_unit_range_trunk_through_relu4_3(tmp_path):
    crops = Crops(smooth_images(4, size=48), [str(i) for i in range(4)])
    vgg, stats = train(crops, steps=3, batch_size=4, patch=32, log=lambda s: None)
    assert {"acc_kind", "acc_noisy", "acc_rotation", "energy_scale"} <= stats.keys()
    back = load_vgg(save_vgg(vgg, tmp_path / "mri.safetensors", half=False, source="test trunk"))
    assert sum(isinstance(m, nn.Conv2d) for m in back.features) == CONVS
    assert isinstance(back.features[-1], nn.ReLU)
    assert float(back.mean.abs().max()) == 0.0 and float(back.std.min()) == 1.0  # unit-range input
    assert back.source.startswith("test trunk")
    x = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(back(x), vgg(x))
    assert back(x).shape == (2, 128, 4, 4)


def test_folding_batchnorm_keeps_the_trained_function():
    torch.manual_seed(0)
    trunk = trainable_trunk()
    with torch.no_grad():  # statistics and affine maps that are not the identity
        trunk(torch.rand(8, 3, 32, 32) * 2)
        for m in trunk:
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 2.0)
                m.bias.uniform_(-0.2, 0.2)
    trunk.eval()
    plain = fold_batchnorm(trunk)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(plain(x), trunk(x), rtol=1e-4, atol=1e-5)
