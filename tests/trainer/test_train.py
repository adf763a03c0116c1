"""The training loop: it learns, resumes bit for bit, and DDP agrees with one process."""

from __future__ import annotations

import copy
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from trainer.checkpoint import last_checkpoint
from trainer.run_config import parse_config
from trainer.train import Trainer

from .conftest import smooth_images
from trainer.data.dataset import Crops


def _params(tr: Trainer) -> dict:
    out = {f"G.{k}": v.detach().clone() for k, v in tr.G.state_dict().items()}
    if tr.D is not None:
        out.update({f"D.{k}": v.detach().clone() for k, v in tr.D.state_dict().items()})
    return out


@pytest.mark.parametrize("model", [
    {"name": "meta_srgan", "args": {"residual_bicubic": False, "channels": 8, "blocks": 1, "hidden": 16}},
    {"name": "srgan", "args": {"channels": 8, "blocks": 1, "scale": 2}},  # the paper's baselines, same tool
    {"name": "edsr", "args": {"channels": 8, "blocks": 2, "res_scale": 0.1, "scale": 2}},
])
def test_a_few_updates_lower_the_loss_on_a_fixed_batch(tiny_cfg, tiny_crops, model):
    cfg = copy.deepcopy(tiny_cfg)
    cfg["loss"]["adversarial"] = 0.0
    cfg["data"]["scales"] = [2.0]
    cfg["model"] = {**model, "init": ""}  # from scratch: plenty to learn in a few steps
    tr = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    fixed = tr.batches.batch_at(0)
    tr.batches.batch_at = lambda step, rank=0, world=1: fixed  # the same batch every update
    first = tr.update(0)["l1"]
    for s in range(1, 20):
        last = tr.update(s)["l1"]
    assert last < 0.5 * first, (first, last)


def test_resume_continues_bit_for_bit(tiny_cfg, tiny_crops, tmp_path):
    straight = Trainer(parse_config(tiny_cfg), crops=tiny_crops, quiet=True)
    straight.run(4)
    cfg = copy.deepcopy(tiny_cfg)
    cfg["out"] = str(tmp_path / "resumed")
    first = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    first.run(2)
    first.save()
    torch.manual_seed(1234)  # disturb the global RNG: the checkpoint must restore it
    second = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True, resume=last_checkpoint(cfg["out"]))
    assert second.step == 2
    second.run(4)
    a, b = _params(straight), _params(second)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert straight.opt_g.state_dict()["state"][0]["exp_avg"].equal(second.opt_g.state_dict()["state"][0]["exp_avg"])
    assert straight.sched_g.state_dict() == second.sched_g.state_dict()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, cfg, out):
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        crops = Crops(smooth_images(6), [str(i) for i in range(6)])
        tr = Trainer(parse_config(cfg), rank=rank, world=world, crops=crops, quiet=True)
        tr.record_grads = True
        tr.update(0)
        if rank == 0:
            save_file({k: v.contiguous() for k, v in tr.last_grads.items()}, out)
        dist.barrier()  # tear down together: gloo can abort a process whose peer already left
    finally:
        dist.destroy_process_group()
    # gloo's worker threads can abort the interpreter's own teardown (a known gloo
    # race, about 1 run in 20 here); the result is on disk, so leave at once
    os._exit(0)


def test_two_process_ddp_gradients_equal_one_process(tiny_cfg, tiny_crops, tmp_path):
    """2 CPU processes (gloo), each with half of the global minibatch, give the
    generator the gradients one process gets from the same minibatch in two shards
    (BatchNorm statistics are per shard in both: DDP does not synchronise them)."""
    cfg = copy.deepcopy(tiny_cfg)
    cfg["loss"]["adversarial"] = 0.001
    out = str(tmp_path / "ddp_grads.safetensors")
    mp.start_processes(_ddp_worker, args=(2, _free_port(), cfg, out), nprocs=2, join=True, start_method="spawn")
    ddp = load_file(out)
    single_cfg = copy.deepcopy(cfg)
    single_cfg["train"]["accumulate"] = 2
    tr = Trainer(parse_config(single_cfg), crops=tiny_crops, quiet=True)
    tr.record_grads = True
    tr.update(0)
    assert ddp.keys() == tr.last_grads.keys()
    for k, g in tr.last_grads.items():
        torch.testing.assert_close(ddp[k], g, rtol=1e-4, atol=1e-6, msg=k)
    # and the shards really differ from the whole batch (the test would be vacuous otherwise)
    whole = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    whole.record_grads = True
    whole.update(0)
    assert not all(torch.allclose(whole.last_grads[k], g) for k, g in tr.last_grads.items())


def test_run_writes_logs_curves_and_checkpoints(tiny_cfg, tiny_crops):
    cfg = copy.deepcopy(tiny_cfg)
    cfg["train"].update({"ckpt_every": 2, "eval_every": 2, "eval_scales": [2.0]})
    tr = Trainer(parse_config(cfg), crops=tiny_crops, test_crops=Crops(smooth_images(2, 48, seed=5), ["a", "b"]), quiet=False)
    tr.run(4)
    out = tr.out
    rows = (out / "train.csv").read_text().splitlines()
    assert rows[0].startswith("step,scale,lr,g,l1,adv") and len(rows) == 5
    assert (out / "loss_curves.png").stat().st_size > 1000
    assert (out / "eval.jsonl").read_text().count("bicubic_psnr") == 2
    assert (out / "checkpoints" / "last.txt").read_text() == "step_0000004.ckpt.safetensors"
    assert (out / "checkpoints" / "best.ckpt.safetensors").exists()


def test_config_refuses_an_unknown_l1_relative_value():
    from trainer.config import ConfigError, load_config

    assert load_config(overrides=['loss.l1_relative="scale"'])["loss"]["l1_relative"] == "scale"
    assert load_config(overrides=["loss.l1_relative=true"])["loss"]["l1_relative"] is True
    for bad in ('"sclae"', "1"):
        with pytest.raises(ConfigError, match="l1_relative must be one of"):
            load_config(overrides=[f"loss.l1_relative={bad}"])


def _grown_by_resume(tiny_cfg, tiny_crops, tmp_path, before: dict, after: dict, steps: int, scales):
    """A run with model args ``before`` trained ``steps`` updates and saved, and a run with
    ``after`` resumed from it; both give the same outputs at ``scales``.  Returns (small,
    big, checkpoint, {name: (old Adam moments, new ones or None)})."""
    from trainer.fast_upscale import upscale

    cfg = copy.deepcopy(tiny_cfg)
    cfg["loss"]["adversarial"] = 0.0
    cfg["model"]["args"] = {**cfg["model"]["args"], "scale_gate": True, **before}
    small = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    small.run(steps)
    path = small.save()
    grown_cfg = copy.deepcopy(cfg)
    grown_cfg["out"] = str(tmp_path / "grown")
    grown_cfg["model"]["args"] = {**cfg["model"]["args"], **after}
    big = Trainer(parse_config(grown_cfg), crops=tiny_crops, quiet=True, resume=path)
    assert big.step == steps
    small.G.eval()
    big.G.eval()
    lr = torch.from_numpy(tiny_crops.images[0][:12, :16])[None, None]
    with torch.no_grad():
        for scale in scales:
            torch.testing.assert_close(upscale(big.G, lr, scale), upscale(small.G, lr, scale), rtol=0, atol=1e-5)
    old, new = small.opt_g.state_dict()["state"], big.opt_g.state_dict()["state"]
    names_small = [n for n, _ in small.G.named_parameters()]
    names_big = [n for n, _ in big.G.named_parameters()]
    moments = {n: (old.get(names_small.index(n)) if n in names_small else None, new.get(j)) for j, n in enumerate(names_big)}
    return small, big, path, moments


def test_a_run_grows_a_neck_and_an_aspect_input_and_resumes_where_it_was(tiny_cfg, tiny_crops, tmp_path):
    """A checkpoint of the shipped architecture resumes into one with ``neck`` and
    ``aspect_input`` added: the same outputs at first (identity neck, zero fourth input),
    every old weight's Adam moments kept, the new column's moments zero, then it trains."""
    small, big, path, moments = _grown_by_resume(tiny_cfg, tiny_crops, tmp_path, {}, {"neck": True, "aspect_input": True},
                                                 3, (2.0, (3.0, 1.5)))
    for name, (was, now) in moments.items():
        if was is None:
            continue
        got, want = now["exp_avg"], was["exp_avg"]
        if name == "weights.net.0.weight":
            assert got.shape == (want.shape[0], 4) and not got[:, 3].any()
            got = got[:, :3]
        assert torch.equal(got, want), name
    assert not any(now is not None for name, (_, now) in moments.items() if name.startswith("trunk.neck."))
    big.G.train()
    big.run(5)
    assert big.step == 5
    assert not torch.equal(big.G.trunk.neck[0].weight, torch.nn.init.dirac_(torch.zeros_like(big.G.trunk.neck[0].weight)))
    # exported, it says where it came from and the engine renders what the trainer computes
    import warnings

    import engine
    from engine.errors import UntrainedWeightsWarning
    from engine.weights import read_info
    from trainer.evaluate import ModelPredictor
    from trainer.export import export

    out = export(big.save(), tmp_path / "w" / "grown.safetensors")
    info = read_info(out)
    assert info.arch["args"]["neck"] and info.arch["args"]["aspect_input"]
    stages = info.training["stages"]
    assert [s["updates"] for s in stages] == [3, 2] and stages[1]["resumed_from"] == str(path)
    assert info.training["total_updates"] == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntrainedWeightsWarning)
        up = engine.load_upscaler(out, device="cpu", bf16=False)
    big.G.eval()
    lr_unit = np.random.default_rng(0).random((20, 20)).astype(np.float32)
    for scale in (2.0, (3.0, 1.5)):
        got = up.render(up.encode(lr_unit, intensity_range=(0.0, 1.0)), scale)
        np.testing.assert_allclose(got, ModelPredictor(big.G, 0.5, 0.25, bf16=False)(lr_unit, scale), atol=1e-4)


def test_a_run_with_a_neck_grows_a_second_layer_and_keeps_its_optimiser_state(tiny_cfg, tiny_crops, tmp_path):
    """neck 1 -> 2 through a resume: the same outputs at first (the new layer is the
    identity), the old layers' Adam moments kept by name, the new layer's absent."""
    _, big, _, moments = _grown_by_resume(tiny_cfg, tiny_crops, tmp_path, {"neck": True}, {"neck": 2}, 2, (2.5,))
    for name, (was, now) in moments.items():
        if was is not None:
            assert torch.equal(now["exp_avg"], was["exp_avg"]), name
    assert not any(now is not None for name, (_, now) in moments.items() if name.startswith(("trunk.neck.2", "trunk.neck.3")))
    big.G.train()
    big.run(4)
    assert not torch.equal(big.G.trunk.neck[2].weight, torch.nn.init.dirac_(torch.zeros_like(big.G.trunk.neck[2].weight)))
