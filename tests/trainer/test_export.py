"""Export -> engine.load_upscaler round trip, and the CLI."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import engine
from engine.errors import UntrainedWeightsWarning
from engine.weights import read_info
from trainer.checkpoint import last_checkpoint
from trainer.cli import main
from trainer.config import ConfigError, load_config
from trainer.export import export
from trainer.run_config import parse_config
from trainer.train import Trainer


def test_export_round_trips_through_the_engine(tiny_cfg, tiny_crops, tmp_path):
    tr = Trainer(parse_config(tiny_cfg), crops=tiny_crops, quiet=True)
    tr.run(3)
    ck = tr.save()
    out = tmp_path / "w" / "meta_srgan.safetensors"
    assert main(["export", str(ck), "-o", str(out)]) == 0
    info = read_info(out)
    assert info.trained and info.training["updates"] == 3
    assert info.normalization["mean"] == 0.5 and info.normalization["std"] == 0.25
    assert info.arch == {"name": "meta_srgan", "args": tiny_cfg["model"]["args"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntrainedWeightsWarning)
        up = engine.load_upscaler(out, device="cpu", bf16=False)
    # the engine renders what the trainer's network computes (eval mode, same normalisation)
    lr_unit = np.random.default_rng(0).random((20, 20)).astype(np.float32)
    got = up.render(up.encode(lr_unit, intensity_range=(0.0, 1.0)), 2.0)
    from trainer.evaluate import ModelPredictor

    want = ModelPredictor(tr.G, 0.5, 0.25, bf16=False)(lr_unit, 2.0)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_config_overrides_and_errors(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('steps = 7\n[optim]\nlr = 2e-4\n[[data.train]]\nkind = "skimage"\n')
    cfg = load_config(p, ["optim.decay=0.5", "loss.vgg_weights=/x/vgg.pth", "model.args.blocks=3"])
    assert cfg["steps"] == 7 and cfg["optim"]["lr"] == 2e-4 and cfg["optim"]["decay"] == 0.5
    assert cfg["loss"]["vgg_weights"] == "/x/vgg.pth" and cfg["model"]["args"]["blocks"] == 3
    assert cfg["optim"]["decay_every"] == 60000 and cfg["data"]["batch"] == 8  # the paper's defaults
    with pytest.raises(ConfigError):
        load_config(p, ["optim.lrr=1"])


def test_perceptual_without_weights_stops_the_run_with_a_message(tmp_path, capsys):
    p = tmp_path / "c.toml"
    p.write_text(f'out = "{tmp_path / "r"}"\n[loss]\nperceptual = 0.006\n[[data.train]]\nkind = "skimage"\nkeep = "0:1"\ncrop = "tiles"\n')
    assert main(["train", "--config", str(p), "--set", "steps=1"]) == 2
    assert "loss.vgg_weights" in capsys.readouterr().err


def test_python_dash_m_trainer_help():
    r = subprocess.run([sys.executable, "-m", "trainer", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "export" in r.stdout and "eval" in r.stdout


def test_export_stores_the_held_out_scores_from_eval(tiny_cfg, tiny_crops, tmp_path):
    tr = Trainer(parse_config(tiny_cfg), crops=tiny_crops, quiet=True)
    tr.run(2)
    ck = tr.save()
    results = {"data_range": 1.0, "n_crops": 5, "models": {"meta_srgan": "ck"},
               "results": {"2": {"bicubic": {"psnr_mean": 30.0, "ssim_mean": 0.9},
                                 "meta_srgan": {"psnr_mean": 31.23456, "ssim_mean": 0.91234}}}}
    rj = tmp_path / "results.json"
    rj.write_text(json.dumps(results))
    out = tmp_path / "w.safetensors"
    assert main(["export", str(ck), "-o", str(out), "--metrics", str(rj)]) == 0
    m = read_info(out).metrics
    assert m["held_out"] == {"2": {"psnr": 31.235, "ssim": 0.9123, "bicubic_psnr": 30.0, "bicubic_ssim": 0.9}}
    assert m["crops"] == 5 and m["data_range"] == 1.0
    assert main(["export", str(ck), "-o", str(out), "--metrics", str(rj), "--metrics-model", "edsr"]) == 2


def test_average_of_checkpoints_exports_the_mean_weights(tiny_cfg, tiny_crops, tmp_path):
    tr = Trainer(parse_config(tiny_cfg), crops=tiny_crops, quiet=True)
    paths, states = [], []
    for steps in (2, 3, 4):
        tr.run(steps)
        paths.append(tr.save(f"keep_{steps}.ckpt.safetensors"))  # the run prunes its own to two
        states.append({k: v.clone() for k, v in tr.G.state_dict().items()})
    out = tmp_path / "mean.ckpt.safetensors"
    assert main(["average", *map(str, paths), "-o", str(out)]) == 0
    from trainer.checkpoint import generator_state

    got, meta = generator_state(out)
    assert meta["averaged"] == [p.name for p in paths] and meta["step"] == 4 and "opt_g" not in meta
    k = "weights.net.2.weight"
    torch.testing.assert_close(got[k], (states[0][k] + states[1][k] + states[2][k]) / 3)
    assert not torch.equal(got[k], states[2][k])
    nbt = [n for n in got if n.endswith("num_batches_tracked")]
    assert nbt and all(torch.equal(got[n], states[2][n]) for n in nbt)
    w = tmp_path / "mean.safetensors"
    assert main(["export", str(out), "-o", str(w)]) == 0
    assert read_info(w).training["updates"] == 4
    other = copy.deepcopy(tiny_cfg)
    other["out"] = str(tmp_path / "other")
    other["model"]["args"] = {**other["model"]["args"], "channels": 4}
    t2 = Trainer(parse_config(other), crops=tiny_crops, quiet=True)
    t2.run(1)
    assert main(["average", str(paths[0]), str(t2.save()), "-o", str(tmp_path / "bad.ckpt.safetensors")]) == 2


def test_lineage_keeps_the_starting_weights_as_they_were_when_training_began(tiny_cfg, tiny_crops, tmp_path):
    """A run started from a weights file records that file's sha256 and stages when it
    starts: replacing the file before export (a retraining written over its own start)
    does not rewrite the history."""
    cfg = copy.deepcopy(tiny_cfg)
    cfg["loss"]["adversarial"] = 0.0
    first = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    first.run(2)
    start = export(first.save(), tmp_path / "start.safetensors")
    original = read_info(start).sha256
    cfg2 = copy.deepcopy(cfg)
    cfg2["out"] = str(tmp_path / "second")
    cfg2["model"]["init"] = str(start)
    cfg2["data"]["normalization"] = "init"
    second = Trainer(parse_config(cfg2), crops=tiny_crops, quiet=True)
    second.run(1)
    path = second.save()
    first.run(3)
    first.mean, first.std = 0.4, 0.3  # a replacement with another normalisation
    export(first.save(), start)  # the starting file replaced
    assert read_info(start).sha256 != original
    fresh = Trainer(parse_config(cfg2), crops=tiny_crops, quiet=True)  # a new start reads the replaced file
    assert (fresh.mean, fresh.std) == (0.4, 0.3)
    # and a resume after that keeps the record, and the normalisation the run was trained with
    resumed = Trainer(parse_config(cfg2), crops=tiny_crops, quiet=True, resume=last_checkpoint(cfg2["out"]))
    assert (resumed.mean, resumed.std, resumed.batches.mean, resumed.fwd.std) == (0.5, 0.25, 0.5, 0.25)
    resumed.run(2)
    info = read_info(export(resumed.save(), tmp_path / "out.safetensors"))
    stages = info.training["stages"]
    assert stages[0]["init"] == str(start) and stages[0]["sha256"] == original and stages[0]["updates"] == 2
    assert info.training["total_updates"] == 2 + 2


def test_metrics_from_a_degradation_eval_keep_every_group_and_degradation(tmp_path):
    from trainer.export import metrics_from_eval

    def cell(psnr, ssim, noise):
        return {"psnr_mean": psnr, "ssim_mean": ssim, "flat_noise": noise}

    by_scale = {"2": {"bicubic": cell(28.0, 0.90, 0.010), "zerofill": cell(29.0, 0.91, 0.011), "mine": cell(30.0, 0.93, 0.009)}}
    data = {"degradations": {"bicubic": {"kind": "bicubic"}, "kspace-noise": {"kind": "kspace", "snr": 40.0}},
            "models": {"mine": "weights mine.safetensors"}, "data_range": 1.0,
            "results": {"end slices": {"bicubic": by_scale, "kspace-noise": by_scale}, "whole volume": {"bicubic": by_scale}}}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    m = metrics_from_eval(path, "mine")
    assert m["held_out"]["2"]["psnr"] == 30.0 and m["held_out"]["2"]["bicubic_psnr"] == 28.0
    row = m["by_degradation"]["end slices"]["kspace-noise"]["2"]
    assert row["zerofill_psnr"] == 29.0 and row["noise_vs_bicubic"] == 0.9
    assert set(m["by_degradation"]) == {"end slices", "whole volume"} and "kspace-noise" in m["degradations"]
    with pytest.raises(ValueError, match="no results for a model named 'other'"):
        metrics_from_eval(path, "other")


def test_a_gan_stage_names_the_features_its_perceptual_term_compared(tiny_cfg, tiny_crops, tmp_path):
    import hashlib

    from trainer.vgg import VGGFeatures, save_vgg, vgg_features

    torch.manual_seed(0)
    vgg_file = save_vgg(VGGFeatures(vgg_features(16, [4] * 13), None, None), tmp_path / "vgg.safetensors",
                        convs=4, half=False, source="a test VGG")
    cfg = copy.deepcopy(tiny_cfg)
    cfg["loss"].update(perceptual=0.05, vgg_weights=str(vgg_file))
    tr = Trainer(parse_config(cfg), crops=tiny_crops, quiet=True)
    tr.run(1)
    out = export(tr.save(), tmp_path / "w.safetensors")
    stage = read_info(out).training["stages"][-1]
    assert stage["losses"] == {"l1": 1.0, "adversarial": 0.001, "perceptual": 0.05}
    net = stage["perceptual_network"]
    assert net["file"] == str(vgg_file) and net["discriminator_channels"] == 4
    assert net["sha256"] == hashlib.sha256(vgg_file.read_bytes()).hexdigest()
    assert net["source"] == "a test VGG"
