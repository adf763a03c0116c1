"""``metazoom-train retrain``: a site's scans, no config file, the bundled weights as the
start, held-out slices scored before and after, a weights file the engine loads."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from engine.weights import BUNDLED, read_info
from trainer.cli import main
from trainer.retrain import RetrainError, retrain_config, sources


def _scan(path, seed: int, size: int = 144, slices: int = 6):
    """Discs of several brightnesses on a dark field: structure at every scale."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    vol = np.zeros((size, size, slices), np.float32)
    for k in range(slices):
        for _ in range(16):
            cy, cx, r = rng.uniform(20, size - 20, 2).tolist() + [rng.uniform(4, 16)]
            vol[:, :, k] += rng.uniform(100, 400) * ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(vol, np.diag([0.9, 0.9, 1.5, 1.0])), str(path))
    return path


def test_sources_from_files_and_folders(tmp_path):
    a = _scan(tmp_path / "site" / "a.nii.gz", 0, size=48, slices=2)
    _scan(tmp_path / "site" / "sub" / "b.nii", 1, size=48, slices=2)
    (tmp_path / "dcm").mkdir()
    got = sources([a, tmp_path / "site", tmp_path / "dcm"], "coronal", None)
    assert [(e["kind"], e["path"].rsplit("/", 1)[1], e["plane"]) for e in got] == [
        ("nifti", "a.nii.gz", "coronal"), ("nifti", "b.nii", "coronal"), ("dicom", "dcm", "coronal")]
    brats = sources([tmp_path / "site"], "axial", "t1ce")
    assert brats == [{"kind": "brats", "path": str((tmp_path / "site").resolve()), "plane": "axial", "modality": "t1ce"}]
    with pytest.raises(RetrainError, match="no such file"):
        sources([tmp_path / "nope"], "axial", None)


def test_config_starts_from_the_bundled_weights_and_holds_slices_out(tmp_path):
    scan = _scan(tmp_path / "a.nii.gz", 0, size=48, slices=2)
    scan = _scan(tmp_path / "b.nii.gz", 0, size=48, slices=12)
    cfg = retrain_config([scan], steps=40, hold_out=4, run=tmp_path / "run")
    info = read_info(BUNDLED)
    assert cfg["model"] == {"name": "meta_srgan", "args": info.arch["args"], "init": str(BUNDLED)}
    assert cfg["data"]["normalization"] == "init" and cfg["loss"]["adversarial"] == 0 and cfg["loss"]["perceptual"] == 0
    assert cfg["train"]["ema"] == 0.999  # it ships the running average of the weights
    # the middle four of 12 slices are held out (the ends of a head scan are mostly air)
    assert [e["keep"] for e in cfg["data"]["train"]] == ["0:4", "8:"] and [e["keep"] for e in cfg["data"]["test"]] == ["4:8"]
    assert cfg["train"]["ckpt_every"] == 10 and cfg["steps"] == 40
    with pytest.raises(RetrainError, match="hold-out"):
        retrain_config([scan], hold_out=0)
    with pytest.raises(RetrainError, match="cannot hold out"):
        retrain_config([scan], hold_out=11)
    with pytest.raises(RetrainError, match="steps"):
        retrain_config([scan], steps=0)


def test_retrain_end_to_end(tmp_path, capsys):
    _scan(tmp_path / "site" / "a.nii.gz", 0)
    _scan(tmp_path / "site" / "b.nii.gz", 1)
    out = tmp_path / "weights" / "site.safetensors"
    run = tmp_path / "run"
    code = main(["retrain", str(tmp_path / "site"), "-o", str(out), "--steps", "2", "--hold-out", "2", "--threads", "1",
                 "--run", str(run), "--scales", "2,4x2.2", "--set", "train.progress=false"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| x2 |" in printed and "| x4x2.2 |" in printed and "wrote" in printed
    info = read_info(out)
    bundled = read_info(BUNDLED)
    assert info.arch == bundled.arch and info.normalization["mean"] == pytest.approx(bundled.normalization["mean"])
    # the lineage starts with the bundled weights' own stages
    first = info.training["stages"][0]
    assert first["init"] == str(BUNDLED) and first["sha256"] == bundled.sha256
    assert info.training["total_updates"] == bundled.training["total_updates"] + 2
    assert set(info.metrics["held_out"]) == {"2", "4x2.2"}
    results = json.loads((run / "eval" / "results.json").read_text())["results"]
    assert set(results["2"]) == {"bicubic", "before", "retrained"}
    # two updates from the shipped weights stay close to them, and far above bicubic
    assert abs(results["2"]["retrained"]["psnr_mean"] - results["2"]["before"]["psnr_mean"]) < 1.5
    assert results["2"]["retrained"]["psnr_mean"] > results["2"]["bicubic"]["psnr_mean"]
    import engine

    up = engine.load_upscaler(out, device="cpu")
    img = np.asarray(nib.load(str(tmp_path / "site" / "a.nii.gz")).dataobj)[:, :, 0]
    assert up.upscale(img, 2.0).shape == (288, 288)


def test_retrain_refuses_what_cannot_work(tmp_path, capsys):
    scan = _scan(tmp_path / "a.nii.gz", 0, size=48, slices=2)
    assert main(["retrain", str(scan), "-o", str(tmp_path / "x.pt")]) == 2
    assert ".safetensors" in capsys.readouterr().err
    assert main(["retrain", str(tmp_path / "missing"), "-o", str(tmp_path / "x.safetensors")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["retrain", str(scan), "-o", str(BUNDLED)]) == 2
    assert "overwrite" in capsys.readouterr().err
    (tmp_path / "old" / "checkpoints").mkdir(parents=True)
    (tmp_path / "old" / "checkpoints" / "last.txt").write_text("step_0002000.ckpt.safetensors")
    assert main(["retrain", str(scan), "-o", str(tmp_path / "x.safetensors"), "--run", str(tmp_path / "old")]) == 2
    assert "--resume" in capsys.readouterr().err
