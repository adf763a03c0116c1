"""The typed config: every shipped config parses, round-trips, and bad values are refused by key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from trainer.config import DEFAULTS, ConfigError, load_config
from trainer.data.dataset import Source
from trainer.run_config import RunConfig, parse_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "trainer" / "configs").rglob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_parses_and_round_trips(path):
    config = parse_config(load_config(path))
    assert parse_config(config.tree()) == config
    assert all(isinstance(s, Source) for s in (*config.data.train, *config.data.test))


def test_the_defaults_typed():
    config = parse_config(load_config(None, ["optim.lr=2e-4", 'train.eval_scales=[2, "3x1.5"]', "data.degrade.mix={ kspace = 1.0 }"]))
    assert isinstance(config, RunConfig)
    assert config.optim.lr == 2e-4 and config.optim.betas == (0.9, 0.999) and config.optim.decay_every == 60000
    assert config.train.eval_scales == (2.0, (3.0, 1.5)) and config.train.bf16 == "auto" and config.train.workers == "auto"
    assert config.data.degrade.mix == {"kspace": 1.0} and config.data.scales == () and config.data.normalization == "auto"
    assert config.model.spec == {"name": "meta_srgan", "args": {"residual_bicubic": True, "scale_gate": True}}
    assert config.loss.l1 == 1.0 and config.loss.l1_relative is False
    # the tree is the file's layout: what a checkpoint's sidecar stores
    assert set(config.tree()) == set(DEFAULTS) and config.tree()["train"]["eval_scales"] == [2.0, [3.0, 1.5]]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.optim.lr = 1.0


@pytest.mark.parametrize("override, message", [
    ("train.bf16=maybe", "train.bf16 must be"),
    ("train.workers=-1", "train.workers must be"),
    ('data.normalization="init"', "needs model.init"),
    ("data.normalization=[0.5]", "data.normalization is"),
    ("data.batch=2.5", "data.batch is a whole number"),
    ('optim.lr="fast"', "optim.lr is a number"),
    ("optim.betas=[0.9]", "optim.betas is"),
    ("data.degrade.noise=2", "data.degrade.noise is a probability"),
    ('loss.l1_relative="sclae"', "l1_relative must be one of"),
])
def test_a_value_it_cannot_use_is_refused_by_key(override, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(load_config(None, [override]))


def test_an_unknown_source_key_is_refused():
    tree = load_config(None)
    tree["data"]["train"] = [{"kind": "nifti", "path": "x.nii", "plnae": "axial"}]
    with pytest.raises(ConfigError, match="data.train: unknown data source keys"):
        parse_config(tree)
