"""VGG weights for the perceptual loss stored as safetensors (no pickle), whole or cut."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from trainer.vgg import IMAGENET_MEAN, IMAGENET_STD, PerceptualWeightsError, VGGFeatures, load_vgg, save_vgg, vgg_features

TINY = [4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8]


def _tiny(mean=None, std=None) -> VGGFeatures:
    torch.manual_seed(0)
    return VGGFeatures(vgg_features(16, TINY), mean, std, "tiny")


def test_a_cut_stack_computes_the_first_layers_of_the_whole(tmp_path):
    vgg = _tiny()
    path = save_vgg(vgg, tmp_path / "vgg.safetensors", convs=4, half=False)
    cut = load_vgg(path)
    assert sum(isinstance(m, nn.Conv2d) for m in cut.features) == 4
    x = torch.rand(2, 1, 32, 32)
    want = nn.Sequential(*list(vgg.features)[:9])(x.expand(-1, 3, -1, -1))  # conv2_2's ReLU
    torch.testing.assert_close(cut(x), want)


def test_whole_half_precision_and_imagenet_input_survive(tmp_path):
    vgg = _tiny(IMAGENET_MEAN, IMAGENET_STD)
    back = load_vgg(save_vgg(vgg, tmp_path / "vgg.safetensors"))
    assert len(back.features) == len(vgg.features)
    torch.testing.assert_close(back.mean, vgg.mean)
    x = torch.rand(1, 1, 24, 24)
    torch.testing.assert_close(back(x), vgg(x), rtol=2e-2, atol=2e-3)  # float16 weights


def test_a_damaged_file_is_a_typed_error(tmp_path):
    bad = tmp_path / "vgg.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(PerceptualWeightsError):
        load_vgg(bad)
