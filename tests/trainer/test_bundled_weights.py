"""The weights the viewer ships: trained, described, and better than bicubic on slices
they never saw (the last 20 axial slices of MR_Gd, held out by trainer/configs/mri.toml)."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.weights import BUNDLED, read_info
from tests.conftest import shared_data
from trainer.data.dataset import Source, load_crops
from trainer.evaluate import EnginePredictor, bicubic_predict, score


def test_bundled_weights_are_trained_and_say_how():
    info = read_info(BUNDLED)
    assert info.trained
    assert info.arch == {"name": "meta_srgan", "args": {"residual_bicubic": True, "scale_gate": True, "neck": 2, "aspect_input": True}}
    assert info.training["updates"] > 1000
    # the lineage: the stage-4 weights file (itself pretraining, the MRI run, the grown network
    # resumed from that run's end), stage 5 grown from it, then stage 6 fine-tuned on a
    # scanner's degradations, shipped as its running average
    stages = info.training["stages"]
    assert [s["updates"] for s in stages] == [40600, 7500] and info.training["total_updates"] == 48100
    assert [s["updates"] for s in stages[0]["stages"]] == [34600, 6000]  # the stage-5 file
    first = stages[0]["stages"][0]["stages"]  # the stage-4 file's own stages
    assert [s["updates"] for s in first] == [600, 25000, 9000]
    assert first[2]["resumed_from"].endswith("step_0025000.ckpt.safetensors")
    assert "running average" in info.training["weights"]
    assert info.scale_range == (1.1, 4.0)
    assert 0 < info.normalization["std"] < 1


@pytest.mark.data
def test_bundled_weights_beat_bicubic_on_held_out_slices():
    path = shared_data("volumes", "MR_Gd.nii.gz")
    crops = load_crops([Source(kind="nifti", path=str(path), plane="axial", keep="-20:")])
    assert len(crops) >= 10
    up = engine.load_upscaler(device="cpu")
    scales = [1.1, 2.0, 4.0, (4.0, 2.2)]  # and a thick-slice reformat: rows x4 (slab-averaged), columns x2.2
    sr = score(EnginePredictor(up), crops.images, scales)
    bic = score(bicubic_predict, crops.images, scales)
    for r in scales:
        gain_psnr = np.mean(sr[r].psnr) - np.mean(bic[r].psnr)
        gain_ssim = np.mean(sr[r].ssim) - np.mean(bic[r].ssim)
        assert gain_psnr > 0.0, (r, gain_psnr)
        assert gain_ssim > 0.0, (r, gain_ssim)
