"""The recipe of the shipped weights (trainer/configs/train_bundled.sh and its stage
configs) is the shipped file's: its last stage builds the shipped architecture, and the
stages chain into the lineage the sidecar records.  Reads configs only: no training."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.weights import BUNDLED, read_info
from tests.conftest import ROOT
from trainer.config import ConfigError, load_config

STAGES = ROOT / "trainer" / "configs" / "bundled"
NAMES = ["stage1_pretrain", "stage2_mri", "stage3_reformats", "stage4_neck", "stage5_neck2"]


def _stage(name: str) -> dict:
    return load_config(STAGES / f"{name}.toml")


def test_the_last_stage_builds_the_shipped_architecture():
    info = read_info(BUNDLED)
    last = _stage(NAMES[-1])
    assert {"name": last["model"]["name"], "args": last["model"]["args"]} == info.arch
    assert last["model"]["args"]["neck"] == 2
    shipped = info.training["stages"][-1]
    assert last["steps"] == shipped["updates"] == info.training["updates"]
    assert last["train"]["ema"] == shipped["ema"] and "running average" in info.training["weights"]
    assert last["data"]["anisotropic"] == shipped["anisotropic"] and last["data"]["normalization"] == "init"


def test_the_stages_chain_into_the_shipped_lineage():
    pre, mri, ref, grown, last = (_stage(n) for n in NAMES)
    lineage = read_info(BUNDLED).training["stages"][0]["stages"]  # the stage-4 file's own stages
    assert [s["updates"] for s in lineage] == [pre["steps"], ref["steps"], grown["steps"] - ref["steps"]]
    assert mri["model"]["init"] == f"{pre['out']}/checkpoints/step_{pre['steps']:07d}.ckpt.safetensors"
    assert ref["out"] == mri["out"] and ref["steps"] > mri["steps"]  # stage 3 continues stage 2's run
    assert (mri["data"]["anisotropic"], ref["data"]["anisotropic"], grown["data"]["anisotropic"]) == (0.0, 0.3, 0.3)
    assert grown["model"]["args"]["neck"] == 1 and grown["model"]["args"]["aspect_input"]
    # the scans and held-out slices are mri.toml's in every stage on scans
    mri_toml = load_config(ROOT / "trainer" / "configs" / "mri.toml")
    for cfg in (mri, ref, grown, last):
        assert cfg["data"]["train"] == mri_toml["data"]["train"] and cfg["data"]["test"] == mri_toml["data"]["test"]
        assert cfg["data"]["root"] == str(ROOT)
    script = (ROOT / "trainer" / "configs" / "train_bundled.sh").read_text()
    assert all(f"train {n} " in script for n in NAMES)
    assert last["model"]["init"] == "runs/w_stage4.safetensors" and "-o runs/w_stage4.safetensors" in script


def test_a_config_extends_another_and_a_loop_is_refused(tmp_path):
    (tmp_path / "base.toml").write_text('steps = 7\n[data]\nroot = "data"\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.toml").write_text('extends = "../base.toml"\nname = "child"\n')
    cfg = load_config(tmp_path / "sub" / "child.toml")
    assert (cfg["steps"], cfg["name"], cfg["data"]["root"]) == (7, "child", str((tmp_path / "data").resolve()))
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(ConfigError, match="extends"):
        load_config(Path(tmp_path / "a.toml"))
