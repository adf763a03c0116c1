"""Weights sidecars cannot escape the typed errors: architecture arguments are checked
against bounds before anything is built, parsing is bounded, scale_range is checked."""

from __future__ import annotations

import json

import pytest
import torch

from engine import networks
from engine.errors import WeightsError
from engine.weights import MAX_SIDECAR_BYTES, BUNDLED, WeightsInfo, load_weights, read_info, save_weights, sidecar_path

ARCH = {"name": "meta_srgan", "args": {"channels": 16, "blocks": 1}}


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    return save_weights(networks.make(ARCH), tmp_path / "w.safetensors", WeightsInfo(arch=ARCH, training={"trained": True}))


def _edit(p, fn):
    side = sidecar_path(p)
    meta = json.loads(side.read_text())
    fn(meta)
    side.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "args, words",
    [
        ({"channels": 16, "blocks": 1, "neck": 10_000_000}, "neck"),
        ({"channels": 10**9, "blocks": 1}, "channels"),
        ({"channels": 16, "blocks": -1}, "blocks"),
        ({"channels": 16.5, "blocks": 1}, "channels"),
        ({"channels": 16, "blocks": 1, "hidden": True}, "hidden"),
        ({"channels": 16, "blocks": 1, "scale_gate": "yes"}, "scale_gate"),
        ({"channels": 16, "blocks": 1, "evil": 1}, "evil"),
    ],
)
def test_architecture_arguments_are_bounded_before_building(saved, args, words):
    _edit(saved, lambda m: m["arch"].__setitem__("args", args))
    with pytest.raises(WeightsError, match=words):
        read_info(saved)
    with pytest.raises(WeightsError, match=words):
        load_weights(saved)


def test_arguments_in_bounds_that_do_not_fit_the_tensors_build_nothing_real(saved, monkeypatch):
    _edit(saved, lambda m: m["arch"]["args"].__setitem__("channels", 512))
    built = []
    real_make = networks.make

    def spy(spec):
        built.append(torch.empty(0).device.type)  # the device a network would be made on
        return real_make(spec)

    monkeypatch.setattr(networks, "make", spy)
    with pytest.raises(WeightsError, match="shape|tensors do not match"):
        load_weights(saved)
    assert built == ["meta"]  # compared on the meta device only, never allocated


def test_deeply_nested_json_is_a_typed_error(saved):
    side = sidecar_path(saved)
    side.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(WeightsError, match="nests deeper"):
        read_info(saved)
    side.write_text(" " * (MAX_SIDECAR_BYTES + 1))
    with pytest.raises(WeightsError, match="a few kB"):
        read_info(saved)


@pytest.mark.parametrize("rng", [[4.0, 1.1], [float("nan"), 4.0], [1.1, float("inf")], [0.5, 4.0], [1.1, 1e9]])
def test_scale_range_must_be_sane(saved, rng):
    side = sidecar_path(saved)
    meta = json.loads(side.read_text())
    meta["scale_range"] = rng
    side.write_text(json.dumps(meta))  # NaN and Infinity as Python's json writes them
    with pytest.raises(WeightsError, match="scale_range"):
        read_info(saved)


def test_the_bundled_and_a_fresh_file_still_load(saved):
    model, info = load_weights(saved)
    assert info.scale_range == (1.1, 4.0) and next(model.parameters()).device.type == "cpu"
    assert read_info(BUNDLED).arch["args"]["neck"] == 2
