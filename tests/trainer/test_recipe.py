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
NAMES = ["stage1_pretrain", "stage2_mri", "stage3_reformats", "stage4_neck", "stage5_neck2", "stage6_realistic"]


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
    pre, mri, ref, grown, neck2, last = (_stage(n) for n in NAMES)
    stage5_file = read_info(BUNDLED).training["stages"][0]  # the stage-5 file this one started from
    stage4_file, stage5 = stage5_file["stages"][0], stage5_file["stages"][-1]
    lineage = stage4_file["stages"]  # the stage-4 file's own stages
    assert [s["updates"] for s in lineage] == [pre["steps"], ref["steps"], grown["steps"] - ref["steps"]]
    assert stage5["updates"] == neck2["steps"] and stage5["ema"] == neck2["train"]["ema"]
    assert stage5_file["updates"] == sum(s["updates"] for s in lineage) + neck2["steps"]
    assert mri["model"]["init"] == f"{pre['out']}/checkpoints/step_{pre['steps']:07d}.ckpt.safetensors"
    assert ref["out"] == mri["out"] and ref["steps"] > mri["steps"]  # stage 3 continues stage 2's run
    assert (mri["data"]["anisotropic"], ref["data"]["anisotropic"], grown["data"]["anisotropic"]) == (0.0, 0.3, 0.3)
    assert grown["model"]["args"]["neck"] == 1 and grown["model"]["args"]["aspect_input"]
    # the scans and held-out slices are mri.toml's in every stage on scans before the last, which
    # holds out the whole mni152 volume (realistic.toml)
    mri_toml = load_config(ROOT / "trainer" / "configs" / "mri.toml")
    for cfg in (mri, ref, grown, neck2):
        assert cfg["data"]["train"] == mri_toml["data"]["train"] and cfg["data"]["test"] == mri_toml["data"]["test"]
        assert cfg["data"]["root"] == str(ROOT)
    realistic = load_config(ROOT / "trainer" / "configs" / "realistic.toml")
    assert last["data"] == realistic["data"] and last["loss"] == realistic["loss"]
    assert not any("mni152" in t["path"] for t in last["data"]["train"])
    script = (ROOT / "trainer" / "configs" / "train_bundled.sh").read_text()
    assert all(f"train {n} " in script for n in NAMES)
    assert neck2["model"]["init"] == "runs/w_stage4.safetensors" and "-o runs/w_stage4.safetensors" in script
    assert last["model"]["init"] == "runs/w_stage5.safetensors" and "-o runs/w_stage5.safetensors" in script


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


def test_the_perceptual_recipe_is_the_shipped_perceptual_files():
    """resources/weights/meta_srgan_perceptual.* is perceptual.toml's run from the shipped
    fidelity weights, and names the MRI VGG its perceptual term compared features with."""
    import hashlib

    import numpy as np

    import engine
    from engine.models import PERCEPTUAL

    cfg = load_config(ROOT / "trainer" / "configs" / "perceptual.toml")
    info, fidelity = read_info(PERCEPTUAL), read_info(BUNDLED)
    assert info.trained and info.arch == fidelity.arch
    assert info.normalization == fidelity.normalization  # data.normalization = "init"
    started_from, stage = info.training["stages"][0], info.training["stages"][-1]
    assert cfg["model"]["init"] == "resources/weights/meta_srgan.safetensors"
    assert started_from["init"] == cfg["model"]["init"] and started_from["sha256"] == fidelity.sha256
    assert stage["updates"] == cfg["steps"] and stage["ema"] == cfg["train"]["ema"]
    assert stage["losses"] == {k: cfg["loss"][k] for k in ("l1", "adversarial", "perceptual")}
    assert stage["losses"]["adversarial"] > 0 and stage["losses"]["perceptual"] > 0
    vgg = ROOT / cfg["loss"]["vgg_weights"]
    net = stage["perceptual_network"]
    assert net["sha256"] == hashlib.sha256(vgg.read_bytes()).hexdigest()
    assert net["source"].startswith("MetaZoom MRI VGG16") and net["discriminator_channels"] == cfg["loss"]["d_channels"]
    script = (ROOT / "trainer" / "configs" / "train_perceptual.sh").read_text()
    assert "CONFIG=trainer/configs/perceptual.toml" in script and f"VGG={cfg['loss']['vgg_weights']}" in script
    # a different network, not a copy of the fidelity weights under another name
    lr = np.random.default_rng(0).random((24, 24)).astype(np.float32)
    outs = []
    for path in (BUNDLED, PERCEPTUAL):
        up = engine.load_upscaler(path, device="cpu", bf16=False)
        outs.append(up.render(up.encode(lr, intensity_range=(0.0, 1.0)), 2.0))
    assert float(np.abs(outs[0] - outs[1]).mean()) > 1e-3
