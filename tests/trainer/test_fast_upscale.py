"""The training kernel equals the engine's differentiable Meta-Upscale, values and gradients."""

from __future__ import annotations

import pytest
import torch

from engine import networks
from engine.render.torch_upscale import meta_upscale
from trainer.bench import paper_style_upscale
from trainer.data.scales import exact_sizes
from trainer.fast_upscale import meta_upscale_cpu


@pytest.mark.parametrize("scale, gate", [(1.1, False), (2.0, False), (2.3, True), (3.7, False), (1.1, True)])
def test_numba_upscale_matches_engine(scale, gate):
    torch.manual_seed(0)
    args = {"channels": 8, "blocks": 1, "hidden": 16, "residual_bicubic": True, "scale_gate": gate}
    model = networks.make({"name": "meta_srgan", "args": args})
    torch.nn.init.normal_(model.weights.net[2].weight, std=0.05)
    m, n = exact_sizes(scale, 48)
    lr = torch.randn(2, 1, m, m)
    g = torch.randn(2, 1, n, n)
    grads = []
    outs = []
    for fn in (meta_upscale, meta_upscale_cpu, paper_style_upscale):
        model.zero_grad()
        feats = model.features(lr).detach().requires_grad_()
        out = fn(model, lr, scale, feats=feats) if fn is meta_upscale else fn(model, lr, scale, feats)
        (out * g).sum().backward()
        outs.append(out.detach())
        grads.append((feats.grad.clone(), model.weights.net[2].weight.grad.clone(), model.weights.net[0].weight.grad.clone()))
    assert outs[1].shape == (2, 1, n, n)
    for k in (1, 2):
        torch.testing.assert_close(outs[k], outs[0], rtol=1e-4, atol=1e-4)
        for a, b in zip(grads[k], grads[0]):
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
