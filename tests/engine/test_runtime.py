"""The CPU trunk through OpenVINO, and the fallback when OpenVINO cannot run it:
same features as the float32 trunks, partial windows, the thread budget, the disk
cache, and the backend's name."""

import threading

import numba
import numpy as np
import pytest
import torch

from engine import networks
from engine.render import openvino_trunk
from engine.upscaler import Upscaler
from engine.weights import WeightsInfo

ARCH = {"name": "meta_srgan", "args": {"channels": 16, "blocks": 1, "neck": True, "aspect_input": True}}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(5)
    m = networks.make(ARCH).eval()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.8, 1.2)
            if isinstance(mod, torch.nn.PReLU):
                mod.weight.uniform_(0.05, 0.4)
    return m


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """OpenVINO's compiled-model cache in a fresh user cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "metazoom" / "openvino"


@pytest.fixture
def img(rng):
    return (rng.random((70, 90)) * 900 + 40).astype(np.float32)


def _upscaler(model, **kw):
    return Upscaler(model, WeightsInfo(arch=ARCH, training={"trained": True}), torch.device("cpu"), **kw)


def _openvino(model):
    pytest.importorskip("openvino", reason="OpenVINO is not installed")
    up = _upscaler(model, bf16=False, runtime="openvino")
    assert up.wait_ready(120)
    assert up.backend == "OpenVINO f32", up.runtime_error
    return up


def test_openvino_trunk_matches_the_float32_trunks(model, img, cache):
    ov = _openvino(model)
    wino = _upscaler(model, bf16=False, runtime="winograd")
    direct = _upscaler(model, bf16=False, runtime="torch")
    assert (wino.backend, direct.backend) == ("Winograd fp32", "PyTorch fp32")
    a, b, c = ov.encode(img), wino.encode(img), direct.encode(img)
    f = a.feats.reshape(72, 92, 16)
    assert not f[0].any() and not f[-1].any() and not f[:, 0].any() and not f[:, -1].any()  # the renderer's padding
    scale = np.abs(b.feats).max()
    assert scale > 0.1
    assert np.abs(a.feats - b.feats).max() <= 1e-5 * scale
    assert np.abs(a.feats - c.feats).max() <= 1e-5 * scale
    np.testing.assert_allclose(ov.render(a, 2.5), wino.render(b, 2.5), rtol=1e-5, atol=1e-2)
    assert list(cache.iterdir()), "the compiled model is cached on disk"


def test_openvino_windows_and_tiles_equal_the_whole_slice(model, img, cache):
    up = _openvino(model)
    whole = up.encode(img)
    scale, region = (3.0, 2.2), (60, 20, 90, 80)
    part = up.encode(img, window=up.needs(img.shape, scale, region))
    assert not part.complete
    np.testing.assert_allclose(up.render(part, scale, region), up.render(whole, scale, region), rtol=1e-5, atol=1e-2)
    up.encode_more(part)
    assert part.complete
    np.testing.assert_allclose(part.feats, whole.feats, atol=1e-4)
    tiled = up.encode(img, tile=32)  # tiles with the trunk's halo: dynamic shapes, one model
    np.testing.assert_allclose(tiled.feats, whole.feats, atol=1e-4)


def test_openvino_keeps_each_callers_thread_budget(model, img, cache):
    up = _openvino(model)
    got = {}

    def one_thread():  # what the viewer's background encoder does
        numba.set_num_threads(1)
        got["feats"] = up.encode(img).feats

    t = threading.Thread(target=one_thread)
    t.start()
    t.join()
    compiled = up._openvino._compiled
    assert 1 in compiled and compiled[1].get_property("INFERENCE_NUM_THREADS") == 1
    np.testing.assert_allclose(got["feats"], up.encode(img).feats, atol=1e-4)


def test_fallback_when_openvino_is_absent_is_tested_and_named(model, img, monkeypatch):
    monkeypatch.setattr("engine.upscaler.openvino_missing", lambda: "ImportError: No module named 'openvino'")
    up = _upscaler(model, bf16=False, runtime="openvino")
    assert up.backend == "Winograd fp32 (OpenVINO unavailable)"
    assert "No module named" in up.runtime_error
    np.testing.assert_allclose(up.encode(img).feats, _upscaler(model, bf16=False).encode(img).feats, atol=0)
    up16 = _upscaler(model, bf16=True, runtime="openvino")  # bf16 falls back to oneDNN's bf16 through PyTorch
    assert up16.backend == "PyTorch bf16 (OpenVINO unavailable)"
    ref = _upscaler(model, bf16=True, runtime="torch")
    np.testing.assert_allclose(up16.encode(img).feats, ref.encode(img).feats, atol=0)


def test_fallback_when_openvino_fails_to_compile(model, img, cache, monkeypatch):
    pytest.importorskip("openvino", reason="OpenVINO is not installed")

    def broken(trunk):
        raise RuntimeError("no CPU plugin")

    monkeypatch.setattr(openvino_trunk, "trunk_graph", broken)
    up = _upscaler(model, bf16=False, runtime="openvino")
    assert up.wait_ready(60)
    assert up.backend == "Winograd fp32 (OpenVINO unavailable)"
    assert "no CPU plugin" in up.runtime_error
    np.testing.assert_allclose(up.encode(img).feats, _upscaler(model, bf16=False).encode(img).feats, atol=0)


def test_fallback_when_openvino_fails_to_run(model, img, cache, monkeypatch):
    up = _openvino(model)

    def broken(lr):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(type(up._openvino), "__call__", lambda self, lr: broken(lr))
    np.testing.assert_allclose(up.encode(img).feats, _upscaler(model, bf16=False).encode(img).feats, atol=0)
    assert up.backend == "Winograd fp32 (OpenVINO unavailable)" and "out of memory" in up.runtime_error


def test_the_fallback_encodes_while_openvino_compiles(model, img, monkeypatch):
    pytest.importorskip("openvino", reason="OpenVINO is not installed")
    gate = threading.Event()
    real = openvino_trunk.trunk_graph

    def slow(trunk):
        gate.wait(60)
        return real(trunk)

    monkeypatch.setattr(openvino_trunk, "trunk_graph", slow)
    up = _upscaler(model, bf16=False, runtime="openvino")
    try:
        assert up.backend == "Winograd fp32 (OpenVINO compiling)"
        np.testing.assert_allclose(up.encode(img).feats, _upscaler(model, bf16=False).encode(img).feats, atol=0)
    finally:
        gate.set()
    assert up.wait_ready(120) and up.backend == "OpenVINO f32"


def test_auto_picks_openvino_only_where_the_cpu_runs_bf16(model, monkeypatch):
    monkeypatch.setattr("engine.upscaler.openvino_missing", lambda: "not needed here")
    monkeypatch.setattr("engine.upscaler.cpu_has_bf16", lambda: False)
    assert _upscaler(model).runtime == "winograd"  # AVX2: Winograd beats OpenVINO (docs/BENCHMARKS.md)
    monkeypatch.setattr("engine.upscaler.cpu_has_bf16", lambda: True)
    up = _upscaler(model)
    assert (up.runtime, up.bf16, up.backend) == ("openvino", True, "PyTorch bf16 (OpenVINO unavailable)")
    assert _upscaler(model, bf16=False, winograd=False).runtime == "torch"
    with pytest.raises(ValueError, match="runtime must be"):
        _upscaler(model, runtime="tensorrt")


def test_the_benchmarks_onnx_export_computes_the_trunk(model, img):
    """engine.bench races ONNX Runtime on this export: it must be the same trunk."""
    ort = pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed")
    from engine.bench_runtimes import _padded, onnx_bytes, trunk_flops
    from engine.render.inference_trunk import fold_trunk

    up = _upscaler(model, bf16=False, runtime="winograd")
    lr = up._normalise(img, None)[0]
    sess = ort.InferenceSession(onnx_bytes(fold_trunk(model.trunk)), providers=["CPUExecutionProvider"])
    got, want = _padded(sess.run(None, {"lr": lr[None, None]})[0]), up._padded_features(lr)
    assert got.shape == want.shape == (72, 92, 16)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    # head 9x9 1->16, one block's two convs, the tail and the neck: 16->16 3x3 each
    assert trunk_flops(model.trunk, 10, 20) == 2 * 200 * (81 * 16 + 4 * 16 * 16 * 9)
