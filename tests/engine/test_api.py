"""The public API other packages rely on."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import engine


@pytest.fixture(scope="module")
def bundled():
    return engine.load_upscaler(device="cpu")


def test_upscale_sizes_are_exact(bundled, rng):
    img = rng.random((200, 37)).astype(np.float32)
    assert bundled.upscale(img, 2.37).shape == (474, 88)
    assert bundled.upscale(img, (1.5, 4.0)).shape == (300, 148)
    assert engine.bicubic(img, 2.37).shape == (474, 88)


@pytest.mark.parametrize("bad", [1.0, 4.5, 0.0, -1.0, float("nan"), (2.0, 5.0)])
def test_scales_outside_the_range_are_value_errors(bundled, rng, bad):
    img = rng.random((10, 10)).astype(np.float32)
    with pytest.raises(ValueError, match="scale"):
        bundled.upscale(img, bad)


def test_render_region_and_features_reuse(bundled, rng):
    img = rng.random((30, 30)).astype(np.float32) * 4000
    f = bundled.encode(img)
    whole = bundled.render(f, 3.0)
    part = bundled.render(f, 3.0, region=(10, 20, 30, 40))
    np.testing.assert_allclose(part, whole[10:40, 20:60], atol=1e-3)
    assert whole.dtype == np.float32 and f.nbytes > 0


def test_bad_inputs(bundled):
    with pytest.raises(ValueError):
        bundled.encode(np.zeros((3, 4, 5), np.float32))
    with pytest.raises(TypeError):
        bundled.render(np.zeros((4, 4)), 2.0)
    with pytest.raises(ValueError, match="intensity_range"):
        bundled.encode(np.zeros((4, 4), np.float32), intensity_range=(3.0, 3.0))


def test_reading_scans_does_not_import_torch():
    """``engine`` loads torch and numba on first use of a name that needs them, so
    ``import engine.io`` and ``metazoom-upscale --help`` start fast; the API is unchanged."""
    code = "import sys, engine, engine.io, engine.batch; print(sorted({'torch', 'numba'} & set(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", (r.stdout, r.stderr[-2000:])
    from engine import Upscaler, bicubic, load_upscaler  # noqa: F401  (the lazy names import as before)

    assert all(hasattr(engine, n) for n in engine.__all__) and set(engine.__all__) <= set(dir(engine))
    assert engine.Upscaler is Upscaler and bicubic.__module__ == "engine.render.bicubic"


def test_device_choice():
    assert engine.pick_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError):
        engine.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            engine.pick_device("cuda")


@pytest.mark.cuda
def test_cuda_render_matches_cpu(rng):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    img = rng.random((64, 48)).astype(np.float32)
    cpu = engine.load_upscaler(device="cpu", bf16=False)
    gpu = engine.load_upscaler(device="cuda")
    for s in (1.5, 2.37, (2.0, 3.3)):
        a = cpu.render(cpu.encode(img), s)
        b = gpu.render(gpu.encode(img), s)
        np.testing.assert_allclose(b, a, atol=1e-3 * float(np.ptp(a)))


def test_prepare_caches_the_zooms_filters_for_render(random_upscaler):
    img = np.random.default_rng(3).random((40, 30)).astype(np.float32)
    f = random_upscaler.encode(img)
    random_upscaler._tables.clear()
    random_upscaler.prepare(img.shape, 2.37, (5, 6, 20, 30))
    assert len(random_upscaler._tables) == 1
    out = random_upscaler.render(f, 2.37, (5, 6, 20, 30))
    assert len(random_upscaler._tables) == 1  # the render found it cached
    random_upscaler._tables.clear()
    np.testing.assert_array_equal(out, random_upscaler.render(f, 2.37, (5, 6, 20, 30)))
