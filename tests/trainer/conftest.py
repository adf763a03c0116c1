"""Tiny trainer fixtures: synthetic crops and a config that trains in well under a second."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from trainer.config import DEFAULTS
from trainer.data.dataset import Crops


def smooth_images(n: int, size: int = 40, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = gaussian_filter(rng.random((size, size)), 2.0)
        img = (img - img.min()) / (img.max() - img.min())
        out.append(img.astype(np.float32))
    return out


@pytest.fixture
def tiny_crops() -> Crops:
    imgs = smooth_images(6)
    return Crops(imgs, [f"synthetic#{i}" for i in range(len(imgs))])


@pytest.fixture
def tiny_cfg(tmp_path) -> dict:
    cfg = copy.deepcopy(DEFAULTS)
    cfg["out"] = str(tmp_path / "run")
    cfg["steps"] = 4
    cfg["model"]["args"] = {"residual_bicubic": True, "channels": 8, "blocks": 1, "hidden": 16}
    cfg["data"].update({"batch": 4, "max_hr": 24, "scales": [1.5, 2.0, 3.0], "normalization": [0.5, 0.25]})
    cfg["loss"].update({"adversarial": 0.001, "perceptual": 0.0, "d_channels": 4})
    cfg["optim"]["lr"] = 1e-3
    cfg["train"].update({"bf16": False, "threads": 1, "progress": False, "log_every": 1, "ckpt_every": 1000, "eval_every": 1000})
    return cfg
