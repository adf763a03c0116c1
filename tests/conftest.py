"""Shared fixtures.  Tests that need ../shared/data skip with a reason when it is absent."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data(*parts) -> Path:
    """A path under ../shared/data, or skip the test when it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs {p} (../shared/data is not beside this checkout)")
    return p


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def random_upscaler():
    """A Meta-SRGAN with random (non-zero) weights, float32 trunk, on the CPU."""
    from engine import networks
    from engine.upscaler import Upscaler
    from engine.weights import WeightsInfo

    torch.manual_seed(7)
    arch = {"name": "meta_srgan", "args": {"channels": 64, "blocks": 2}}
    model = networks.make(arch).eval()
    # BN running stats away from identity, so folding/encoding is really exercised
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.8, 1.2)
    return Upscaler(model, WeightsInfo(arch=arch, training={"trained": True}), torch.device("cpu"), bf16=False)


@pytest.fixture(autouse=True)
def _quiet_untrained():
    from engine.errors import UntrainedWeightsWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedWeightsWarning)
        yield
