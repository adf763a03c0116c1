"""Losses: the perceptual term loads a (tiny) VGG weights file and fails clearly without one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainer.losses import AdversarialLoss, L1Loss, PerceptualLoss, adversarial_d, adversarial_g, typical_bicubic_l1
from trainer.vgg import PerceptualWeightsError, load_vgg, vgg_features

TINY = [2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6]


def test_perceptual_loads_a_small_torchvision_state_dict(tmp_path):
    torch.manual_seed(0)
    feats = vgg_features(16, TINY)
    sd = {f"features.{k}": v for k, v in feats.state_dict().items()}
    sd["classifier.0.weight"] = torch.zeros(2, 2)  # torchvision files carry the classifier too
    torch.save(sd, tmp_path / "vgg16_tiny.pth")
    vgg = load_vgg(tmp_path / "vgg16_tiny.pth")
    assert "VGG16" in vgg.source
    x = torch.rand(2, 1, 32, 32)
    loss = PerceptualLoss(vgg, loss_weight=0.5)
    assert loss(x, x).value.item() == 0.0
    y = (x + 0.2 * torch.rand_like(x)).requires_grad_()
    val, term = loss(y, x)
    assert val.item() == 0.5 * term.item()
    val.backward()
    assert val.item() > 0 and y.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in vgg.parameters())
    # features: ImageNet-normalised, gray repeated
    ref = feats(((x.expand(-1, 3, -1, -1)) - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
    torch.testing.assert_close(vgg(x), ref)


def test_perceptual_loads_an_onnx_vgg16(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, c, cur = [], [], 3, "x"
    for i, w in enumerate(TINY):
        W = rng.standard_normal((w, c, 3, 3)).astype(np.float32)
        inits += [numpy_helper.from_array(W, f"w{i}"), numpy_helper.from_array(np.full(w, 0.1, np.float32), f"b{i}")]
        nodes.append(helper.make_node("Conv", [cur, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        cur, c = f"r{i}", w
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info(cur, TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph), str(tmp_path / "tiny.onnx"))
    vgg = load_vgg(tmp_path / "tiny.onnx")
    convs = [m for m in vgg.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13
    np.testing.assert_array_equal(convs[4].weight.detach().numpy(), numpy_helper.to_array(inits[8]))
    assert vgg(torch.rand(1, 1, 32, 32)).shape == (1, 6, 2, 2)


def test_perceptual_without_weights_stops_clearly(tmp_path):
    with pytest.raises(PerceptualWeightsError, match="loss.vgg_weights"):
        load_vgg("")
    with pytest.raises(PerceptualWeightsError, match="not found"):
        load_vgg(tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(PerceptualWeightsError, match="weights_only"):
        load_vgg(tmp_path / "junk.pth")


def test_adversarial_terms_are_eq4():
    real = torch.tensor([3.0, 2.0])
    fake = torch.tensor([-1.0, 0.5])
    d = torch.sigmoid
    expected_d = -(torch.log(d(real)).mean() + torch.log(1 - d(fake)).mean())
    torch.testing.assert_close(adversarial_d(real, fake), expected_d)
    torch.testing.assert_close(adversarial_g(fake), -torch.log(d(fake)).mean())


def test_typical_bicubic_l1_is_the_fitted_line():
    assert [round(typical_bicubic_l1(r), 4) for r in (1.1, 2.0, 4.0)] == [0.0086, 0.0185, 0.0405]


def test_each_term_is_its_weight_times_the_term_and_logs_the_term():
    torch.manual_seed(0)
    sr, hr = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)
    l1 = (sr - hr).abs().mean()
    got = L1Loss(2.0)(sr, hr, 2.0)
    assert torch.equal(got.value, l1) and torch.equal(got.weighted, 2.0 * l1)
    logits = torch.tensor([-1.0, 0.5])
    adv = AdversarialLoss(0.001)(logits)
    assert torch.equal(adv.value, adversarial_g(logits)) and torch.equal(adv.weighted, 0.001 * adversarial_g(logits))


def test_relative_l1_divides_by_what_bicubic_gets_wrong():
    torch.manual_seed(0)
    sr, hr, bic = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)
    l1 = (sr - hr).abs().mean()
    by_scale = L1Loss(1.0, "scale")
    assert not by_scale.needs_bicubic
    # a pair counts as the geometric mean of its zooms: 4 x 1 is x2
    for scale in (2.0, (4.0, 1.0)):
        assert torch.equal(by_scale(sr, hr, scale).weighted, l1 / typical_bicubic_l1(2.0))
    for mode in ("batch", True):
        by_batch = L1Loss(1.0, mode)
        assert by_batch.needs_bicubic
        got = by_batch(sr, hr, 2.0, bic)
        assert torch.equal(got.weighted, l1 / (bic - hr).abs().mean()) and torch.equal(got.value, l1)
