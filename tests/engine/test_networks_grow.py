"""Growing trained Meta-SRGAN weights into a larger network that computes the same
function at first: a neck where there was none, more neck layers, a fourth
weight-network input (``engine.networks.meta_srgan.grow_state``)."""

from __future__ import annotations

import pytest
import torch

from engine import networks
from engine.networks.meta_srgan import grow_state, grown_from
from engine.render.torch_upscale import meta_upscale


def _net(**args):
    torch.manual_seed(0)
    net = networks.make({"name": "meta_srgan", "args": {"channels": 8, "blocks": 1, "hidden": 16, **args}}).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.PReLU):
                m.weight.uniform_(0.05, 0.4)  # slopes that bend, so an identity neck is really tested
    return net


@pytest.mark.parametrize("have,want", [({}, {"neck": True}), ({"neck": True}, {"neck": 2}), ({}, {"neck": 3}),
                                       ({"neck": 2}, {"neck": 2, "aspect_input": True})])
def test_grown_network_computes_what_it_did(have, want):
    small, big = _net(**have), _net(**want)
    big.load_state_dict(grow_state(big, small.state_dict()))
    lr = torch.rand(1, 1, 11, 13)
    with torch.no_grad():
        for scale in (1.7, 3.0, (2.5, 1.2)):
            torch.testing.assert_close(meta_upscale(big, lr, scale), meta_upscale(small, lr, scale), rtol=0, atol=1e-5)
    assert grown_from({"name": "meta_srgan", "args": have}, {"name": "meta_srgan", "args": want})


def test_a_network_does_not_shrink():
    assert not grown_from({"name": "meta_srgan", "args": {"neck": 2}}, {"name": "meta_srgan", "args": {"neck": True}})
    with pytest.raises(ValueError, match="do not grow"):
        _net(neck=True).load_state_dict(grow_state(_net(neck=True), _net(neck=2).state_dict()))
