import json
import warnings

import numpy as np
import pytest
import torch

import engine
from engine import networks
from engine.errors import UntrainedWeightsWarning, WeightsError
from engine.weights import BUNDLED, WeightsInfo, load_weights, read_info, save_weights, sidecar_path

ARCH = {"name": "meta_srgan", "args": {"channels": 16, "blocks": 1}}


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    m = networks.make(ARCH)
    p = save_weights(m, tmp_path / "w.safetensors", WeightsInfo(arch=ARCH, training={"trained": True, "steps": 3}, metrics={"psnr_x2": 30.1}))
    return m, p


def test_round_trip(saved):
    m, p = saved
    m2, info = load_weights(p)
    assert info.trained and info.training["steps"] == 3 and info.metrics["psnr_x2"] == 30.1
    for k, v in m.state_dict().items():
        torch.testing.assert_close(m2.state_dict()[k], v)
    side = json.loads(sidecar_path(p).read_text())
    assert side["format"] == "metazoom-weights/1" and len(side["sha256"]) == 64


def test_corrupt_byte_is_caught(saved):
    _, p = saved
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0xFF
    p.write_bytes(bytes(b))
    with pytest.raises(WeightsError, match="sha256"):
        load_weights(p)


def test_truncated_file_is_caught(saved):
    _, p = saved
    p.write_bytes(p.read_bytes()[:1000])
    with pytest.raises(WeightsError, match="corrupt or truncated"):
        load_weights(p)


def test_foreign_sidecar_and_missing_sidecar(saved):
    _, p = saved
    side = sidecar_path(p)
    side.write_text(json.dumps({"model": "something else"}))
    with pytest.raises(WeightsError, match="not a MetaZoom"):
        load_weights(p)
    side.write_text("{not json")
    with pytest.raises(WeightsError, match="not valid JSON"):
        load_weights(p)
    side.unlink()
    with pytest.raises(WeightsError, match="sidecar"):
        load_weights(p)


@pytest.mark.parametrize("field, value", [("normalization", [0.3, 0.1]), ("normalization", {"std": 0}),
                                          ("normalization", {"mean": "a lot"}), ("training", "yes"), ("metrics", 3)])
def test_malformed_sidecar_fields(saved, field, value):
    _, p = saved
    side = sidecar_path(p)
    meta = json.loads(side.read_text())
    meta[field] = value
    side.write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match=field):
        load_weights(p)


def test_mismatched_architecture(saved):
    _, p = saved
    side = sidecar_path(p)
    meta = json.loads(side.read_text())
    meta["arch"]["args"]["blocks"] = 3
    side.write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="do not match"):
        load_weights(p)
    meta["arch"] = {"name": "unet", "args": {}}
    side.write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="unknown architecture"):
        load_weights(p)


def test_not_safetensors_with_a_matching_hash(tmp_path):
    import hashlib

    p = tmp_path / "x.safetensors"
    blob = b"\x00" * 64
    p.write_bytes(blob)
    info = WeightsInfo(arch=ARCH, sha256=hashlib.sha256(blob).hexdigest())
    sidecar_path(p).write_text(json.dumps(info.to_json()))
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        load_weights(p)


def test_wrong_network_for_the_upscaler(tmp_path):
    p = save_weights(networks.make({"name": "srgan", "args": {"channels": 8, "blocks": 1}}), tmp_path / "s.safetensors",
                     WeightsInfo(arch={"name": "srgan", "args": {"channels": 8, "blocks": 1}}))
    with pytest.raises(WeightsError, match="meta_srgan"):
        engine.load_upscaler(p)


def test_missing_file():
    with pytest.raises(WeightsError, match="not found"):
        load_weights("/nonexistent/w.safetensors")


def test_untrained_weights_warn_loudly(tmp_path):
    p = save_weights(networks.make(ARCH), tmp_path / "u.safetensors", WeightsInfo(arch=ARCH))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        load_weights(p)
    assert any(issubclass(x.category, UntrainedWeightsWarning) and "UNTRAINED" in str(x.message) for x in w)


def test_bundled_weights_load_and_describe_themselves():
    info = read_info(BUNDLED)
    assert info.arch["name"] == "meta_srgan"
    up = engine.load_upscaler(device="cpu")
    assert up.info.sha256 == info.sha256
    assert BUNDLED.stat().st_size < 8 * 1024 * 1024
