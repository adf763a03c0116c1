"""The running average of the generator's weights (``train.ema``): the formula, resume
bit for bit, what the run's checks score and what export ships."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

from trainer.checkpoint import last_checkpoint
from trainer.ema import WeightAverage
from trainer.run_config import parse_config
from trainer.train import Trainer


def test_the_average_follows_the_formula():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    avg = WeightAverage(net, 0.9)
    start = net[0].weight.detach().clone()
    want = start.clone()
    for n in range(1, 101):
        with torch.no_grad():
            net[0].weight.add_(1.0)  # one "optimiser step"
        net[1].num_batches_tracked += 1
        avg.update(net)
        d = min(0.9, (1 + n) / (10 + n))  # capped early so a fresh network is not remembered for long
        want = d * want + (1 - d) * net[0].weight.detach()
    torch.testing.assert_close(avg.model[0].weight, want)
    assert avg.updates == 100 and avg.current_decay() == 0.9  # the cap (1 + n) / (10 + n) passes 0.9 at n = 80
    assert int(avg.model[1].num_batches_tracked) == 100  # counters are copied, not averaged
    # the average lags the weights: it sits between the start and where they are now
    assert (avg.model[0].weight < net[0].weight).all() and (avg.model[0].weight > start).all()
    assert not any(p.requires_grad for p in avg.model.parameters())


def test_decay_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        WeightAverage(nn.Linear(1, 1), 1.0)


def test_resume_keeps_the_average_bit_for_bit(tiny_cfg, tiny_crops, tmp_path):
    cfg = copy.deepcopy(tiny_cfg)
    cfg["train"]["ema"] = 0.99
    straight = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    straight.run(4)
    cfg2 = copy.deepcopy(cfg)
    cfg2["out"] = str(tmp_path / "resumed")
    first = Trainer(parse_config(cfg2), crops=tiny_crops, quiet=True)
    first.run(2)
    first.save()
    second = Trainer(parse_config(cfg2), crops=tiny_crops, quiet=True, resume=last_checkpoint(cfg2["out"]))
    assert second.ema.updates == 2
    second.run(4)
    a, b = straight.ema.state_dict(), second.ema.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # and the average is not the trained weights
    assert any(not torch.equal(a[k], straight.G.state_dict()[k]) for k in a if a[k].is_floating_point())


def test_checks_score_the_average_and_export_ships_it(tiny_cfg, tiny_crops, tmp_path, monkeypatch):
    import trainer.train as train_mod
    from engine.weights import load_weights, read_info
    from trainer.export import export

    cfg = copy.deepcopy(tiny_cfg)
    cfg["train"]["ema"] = 0.9
    tr = Trainer(parse_config(cfg), crops=tiny_crops, test_crops=tiny_crops, quiet=True)
    tr.run(3)
    scored = []

    class Spy(train_mod.ModelPredictor):
        def __init__(self, model, *a, **k):
            scored.append(model)
            super().__init__(model, *a, **k)

    monkeypatch.setattr(train_mod, "ModelPredictor", Spy)
    assert tr.quick_eval()["score"] > -100
    assert scored == [tr.ema.model]
    path = tr.save()
    out = export(path, tmp_path / "w.safetensors")
    model, info = load_weights(out)
    for k, v in model.state_dict().items():
        assert torch.equal(v, tr.ema.state_dict()[k]), k
    assert "running average" in read_info(out).training["weights"]
    assert read_info(out).training["stages"][-1]["ema"] == 0.9
    raw = export(path, tmp_path / "raw.safetensors", averaged=False)
    model, info = load_weights(raw)
    for k, v in model.state_dict().items():
        assert torch.equal(v, tr.G.state_dict()[k]), k
    assert "weights" not in info.training


def test_an_average_turned_on_mid_run_starts_from_the_restored_weights(tiny_cfg, tiny_crops, tmp_path):
    plain = Trainer(parse_config(tiny_cfg), crops=tiny_crops, quiet=True)
    plain.run(2)
    plain.save()
    cfg = copy.deepcopy(tiny_cfg)
    cfg["train"]["ema"] = 0.999
    later = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True, resume=last_checkpoint(cfg["out"]))
    assert later.step == 2 and later.ema.updates == 0
    for k, v in later.G.state_dict().items():
        assert torch.equal(v, later.ema.state_dict()[k]), k


def test_averaged_checkpoints_keep_both_kinds_of_weights(tiny_cfg, tiny_crops, tmp_path):
    """``metazoom-train average`` of checkpoints with running averages averages the trained
    weights and the running averages each with their own kind; export labels which it took."""
    from engine.weights import load_weights, read_info
    from trainer.checkpoint import average_checkpoints, generator_state
    from trainer.export import export

    cfg = copy.deepcopy(tiny_cfg)
    cfg["train"]["ema"] = 0.9
    tr = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    paths = []
    for n in (2, 3):
        tr.run(n)
        paths.append(tr.save())
    mean = average_checkpoints(paths, tmp_path / "mean.ckpt.safetensors")
    for averaged in (True, False):
        want = [generator_state(p, averaged)[0] for p in paths]
        got, meta = generator_state(mean, averaged)
        assert meta["weights_taken"] == ("running average" if averaged else "trained")
        for k, v in got.items():
            if v.is_floating_point():
                torch.testing.assert_close(v, (want[0][k].double() + want[1][k].double()).div(2).to(v.dtype))
    info = read_info(export(mean, tmp_path / "w.safetensors"))
    assert "running average" in info.training["weights"] and len(info.training["mean_of_checkpoints"]) == 2
    assert info.metrics == {}  # the run's own check scored one checkpoint, not this mean
    raw = read_info(export(mean, tmp_path / "raw.safetensors", averaged=False))
    assert "weights" not in raw.training


def test_a_run_started_from_a_checkpoint_takes_its_average_and_says_so(tiny_cfg, tiny_crops, tmp_path):
    from engine.weights import read_info
    from trainer.export import export

    cfg = copy.deepcopy(tiny_cfg)
    cfg["train"]["ema"] = 0.9
    first = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    first.run(3)
    path = first.save()
    cfg2 = copy.deepcopy(tiny_cfg)
    cfg2["out"] = str(tmp_path / "second")
    cfg2["model"]["init"] = str(path)
    second = Trainer(parse_config(cfg2), crops=tiny_crops, quiet=True)
    for k, v in second.G.state_dict().items():
        assert torch.equal(v, first.ema.state_dict()[k]), k
    second.run(1)
    stages = read_info(export(second.save(), tmp_path / "w.safetensors")).training["stages"]
    assert stages[-1]["started_from_weights"] == "running average"
