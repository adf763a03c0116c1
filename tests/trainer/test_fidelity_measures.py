"""High-frequency power ratio and the LPIPS-style perceptual distance, and eval's use of them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from trainer.cli import main
from trainer.fidelity_measures import PerceptualDistance, hf_power_ratio
from trainer.vgg import VGGFeatures, save_vgg, vgg_features

from .test_degradation_eval import _write_pngs

TINY = [4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8]


def _image(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(0.5 + 0.25 * gaussian_filter(rng.standard_normal((n, n)), 1.0) / 0.28, 0, 1)


def test_hf_power_ratio_is_one_for_the_truth_below_for_blur_above_for_texture():
    hr = _image()
    assert hf_power_ratio(hr, hr, 2) == pytest.approx(1.0)
    blur = gaussian_filter(hr, 1.2)
    assert hf_power_ratio(blur, hr, 2) < 0.5
    yy, xx = np.mgrid[:96, :96]
    texture = hr + 0.1 * np.cos(np.pi * 0.7 * yy) * np.cos(np.pi * 0.7 * xx)  # 0.35 cycles/px: above x2's band
    assert hf_power_ratio(texture, hr, 2) > 1.5
    # content inside the acquired band does not count
    low = hr + 0.1 * np.cos(2 * np.pi * 0.05 * yy)
    assert hf_power_ratio(low, hr, 2) == pytest.approx(1.0, abs=0.05)
    # a pair: rows x4, columns x1.5
    assert hf_power_ratio(blur, hr, (4, 1.5)) < 1.0


def test_perceptual_distance_grows_with_blur():
    torch.manual_seed(0)
    d = PerceptualDistance(VGGFeatures(vgg_features(16, TINY)))
    hr = _image(64)
    assert d(hr, hr) == pytest.approx(0.0, abs=1e-9)
    assert 0 < d(gaussian_filter(hr, 0.7), hr) < d(gaussian_filter(hr, 2.0), hr)


def test_eval_reports_hf_power_always_and_perceptual_with_a_vgg_file(tmp_path):
    _write_pngs(tmp_path / "a")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data]\nroot = "{tmp_path}"\n[[data.test]]\nkind = "images"\npath = "a"\ngroup = "g"\n')
    torch.manual_seed(0)
    vgg = save_vgg(VGGFeatures(vgg_features(16, TINY)), tmp_path / "vgg.safetensors", half=False)
    out = tmp_path / "out"
    assert main(["eval", "--config", str(cfg), "--degradations", "kspace", "--scales", "2", "-o", str(out), "--vgg", str(vgg)]) == 0
    doc = json.loads((out / "results.json").read_text())
    row = doc["results"]["g"]["kspace"]["2"]
    # (these smooth 8-bit images have next to no power above the band: the ratio is
    # only checked to be there; its behaviour is the test above)
    assert all(np.isfinite(v["hf_power"]) and v["hf_power"] > 0 and v["perceptual"] > 0 for v in row.values())
    assert "HF power" in (out / "results.md").read_text() and "LPIPS-style" in (out / "results.md").read_text()
    out2 = tmp_path / "out2"
    assert main(["eval", "--config", str(cfg), "--degradations", "kspace", "--scales", "2", "-o", str(out2)]) == 0
    doc = json.loads((out2 / "results.json").read_text())
    assert doc["results"]["g"]["kspace"]["2"]["bicubic"]["perceptual"] is None
    assert "skipped (no VGG file given" in (out2 / "results.md").read_text()
