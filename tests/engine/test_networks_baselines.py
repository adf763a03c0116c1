"""The baselines' generators: sizes, and SRGAN's optional bicubic start."""

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
