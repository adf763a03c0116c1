"""Minibatches made ahead in worker processes are the ones the run would make itself."""

from __future__ import annotations

import copy

import torch

from trainer.data.prefetch import PrefetchedSteps, StepShards
from trainer.run_config import parse_config
from trainer.train import Trainer


def test_prefetched_steps_equal_inline_batches(tiny_cfg, tiny_crops):
    tr = Trainer(parse_config(tiny_cfg), crops=tiny_crops, quiet=True)
    shards = StepShards(tr.batches, accumulate=2)
    stream = PrefetchedSteps(shards, 3, 7, workers=2)
    assert stream.take(4) is None  # out of order: the caller makes it itself
    for step in range(3, 7):
        got, want = stream.take(step), shards.at(step)
        assert len(got) == 2
        for (lr_a, hr_a, r_a), (lr_b, hr_b, r_b) in zip(got, want):
            assert r_a == r_b and torch.equal(lr_a, lr_b) and torch.equal(hr_a, hr_b)
    assert stream.take(7) is None


def test_a_run_with_workers_trains_the_same_weights(tiny_cfg, tiny_crops, tmp_path):
    plain = Trainer(parse_config(tiny_cfg), crops=tiny_crops, quiet=True)
    plain.run(4)
    cfg = copy.deepcopy(tiny_cfg)
    cfg["out"] = str(tmp_path / "workers")
    cfg["train"]["workers"] = 2
    fed = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    fed.run(4)
    a, b = plain.G.state_dict(), fed.G.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_timed_run_stops_at_its_time(tiny_cfg, tiny_crops):
    tr = Trainer(parse_config(tiny_cfg), crops=tiny_crops, quiet=True)
    tr.run(10**6, seconds=1.0)
    assert 0 < tr.step < 10**6
