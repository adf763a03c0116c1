"""A training update on CUDA against the same update on the CPU (skipped without a GPU)."""

from __future__ import annotations

import copy

import pytest
import torch

from trainer.run_config import parse_config
from trainer.train import Trainer

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")]


def _grads(tr: Trainer, step: int) -> tuple[float, dict]:
    tr.G.zero_grad()
    (lr, hr, r, _), = list(tr._shards(step))
    loss = torch.nn.functional.l1_loss(tr.fwd(lr, r), hr)
    loss.backward()
    return float(loss.detach()), {k: p.grad.detach().cpu() for k, p in tr.G.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("step", [0, 1, 5])  # square zooms and whatever the sampler draws next
def test_loss_and_gradients_match_the_cpu(tiny_cfg, tiny_crops, step):
    cfg = copy.deepcopy(tiny_cfg)
    cfg["loss"]["adversarial"] = 0.0
    cpu = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    gpu = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True, device=torch.device("cuda"))
    gpu.G.load_state_dict(cpu.G.state_dict())
    la, ga = _grads(cpu, step)
    lb, gb = _grads(gpu, step)
    assert abs(la - lb) <= 1e-5 * max(abs(la), 1e-3)
    for k in ga:
        scale = float(ga[k].abs().max()) + 1e-12
        assert float((ga[k] - gb[k]).abs().max()) <= 1e-3 * scale, k


def test_ten_updates_follow_the_cpu_run(tiny_cfg, tiny_crops):
    cfg = copy.deepcopy(tiny_cfg)
    cfg["loss"]["adversarial"] = 0.0
    cpu = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    gpu = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True, device=torch.device("cuda"))
    gpu.G.load_state_dict(cpu.G.state_dict())
    for s in range(10):
        a, b = cpu.update(s)["l1"], gpu.update(s)["l1"]
        assert abs(a - b) <= 1e-3 * a, (s, a, b)
