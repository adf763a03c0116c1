"""The baselines' generators: sizes, and SRGAN's optional bicubic start."""

import pytest
import torch

from engine import bicubic, networks


def test_srgan_with_a_bicubic_start_is_bicubic_before_training():
    m = networks.make({"name": "srgan", "args": {"channels": 8, "blocks": 1, "residual_bicubic": True}}).eval()
    lr = torch.rand(1, 1, 12, 10)
    with torch.no_grad():
        out = m(lr)[0, 0].numpy()
    assert out.shape == (24, 20)
    torch.testing.assert_close(torch.from_numpy(out), torch.from_numpy(bicubic(lr[0, 0].numpy(), 2.0)), atol=1e-5, rtol=0)


def test_parameter_counts_match_the_paper():
    count = lambda spec: sum(p.numel() for p in networks.make(spec).parameters())  # noqa: E731
    assert abs(count({"name": "meta_srgan", "args": {}}) - 0.561e6) < 0.01e6  # paper: 0.561M
    assert count({"name": "edsr", "args": {}}) > 40e6  # 32 blocks x 256 features


@pytest.mark.parametrize("out_channels", [1, 3])
def test_wide_conv_to_few_is_the_conv_forward_and_backward(out_channels):
    """SRGAN's 9x9 last layer runs as 1x1 conv + fold on the CPU: the same function and
    the same gradients as the conv it replaces."""
    from engine.networks.baselines import wide_conv_to_few

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(8, out_channels, 9, padding=4)
    x = torch.randn(2, 8, 13, 17, requires_grad=True)
    g = torch.randn(2, out_channels, 13, 17)
    ref = conv(x)
    (ref * g).sum().backward()
    want = (x.grad.clone(), conv.weight.grad.clone(), conv.bias.grad.clone())
    x.grad = conv.weight.grad = conv.bias.grad = None
    got = wide_conv_to_few(x, conv)
    (got * g).sum().backward()
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, atol=1e-5)
    for a, b in zip((x.grad, conv.weight.grad, conv.bias.grad), want):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)
