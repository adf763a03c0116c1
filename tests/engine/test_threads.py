"""The viewer encodes, renders and interpolates on separate threads at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _run_threads(*targets):
    errors = []

    def guard(fn):
        try:
            fn()
        except BaseException as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=guard, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_render_while_another_thread_encodes(random_upscaler, rng):
    up = random_upscaler
    a = rng.normal(100, 20, (48, 40)).astype(np.float32)
    b = rng.normal(500, 80, (56, 44)).astype(np.float32)
    feats_a = up.encode(a)
    scales = (1.5, 2.0, (2.5, 1.3), 3.7)
    expect_renders = [up.render(feats_a, s) for s in scales]
    expect_feats_b = up.encode(b).feats
    renders, encodes = [], []

    def render_loop():
        for _ in range(3):
            renders.extend(up.render(feats_a, s) for s in scales)

    def encode_loop():
        encodes.extend(up.encode(b).feats for _ in range(3))

    _run_threads(render_loop, encode_loop)
    for i, r in enumerate(renders):
        np.testing.assert_allclose(r, expect_renders[i % len(scales)], rtol=1e-5, atol=1e-3)
    for f in encodes:
        np.testing.assert_allclose(f, expect_feats_b, rtol=1e-5, atol=1e-5)


def test_concurrent_kernels_survive_numbas_workqueue_layer():
    """Numba's fallback threading layer (no OpenMP/TBB, e.g. macOS wheels) aborts the
    process on concurrent parallel launches unless the engine serialises them."""
    code = textwrap.dedent(
        """
        import threading, numpy as np, numba
        from engine import bicubic
        img = np.random.default_rng(0).random((96, 80), dtype=np.float32)
        bicubic(img, 2)
        assert numba.threading_layer() == "workqueue", numba.threading_layer()
        def work():
            for _ in range(20):
                bicubic(img, 2.5)
        threads = [threading.Thread(target=work) for _ in range(3)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print("ok")
        """
    )
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
