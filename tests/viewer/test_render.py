"""Frames off the GUI thread: cache, latest-only workers, staleness, above-x4 frames."""

from __future__ import annotations

import threading
import time

import numpy as np

from engine import bicubic
from viewer.render.feature_cache import FeatureCache
from viewer.render.frames import SliceKey, sr_frame, sr_scale_for
from viewer.render.latest_worker import LatestOnlyWorker
from viewer.render.zoom_renderer import ZoomRenderer

from .fakes import RecordingUpscaler


class Blob:
    def __init__(self, n):
        self.nbytes = n


def test_feature_cache_is_bounded_in_bytes_and_lru():
    c = FeatureCache(max_bytes=250)
    for k in "abc":
        c.put(k, Blob(100))
    assert c.keys() == ["b", "c"] and c.nbytes == 200
    c.get("b")
    c.put("d", Blob(100))
    assert c.keys() == ["b", "d"]
    c.max_bytes = 100
    assert c.keys() == ["d"]
    c.put("huge", Blob(10_000))  # the newest always stays, even alone over the bound
    assert c.keys() == ["huge"]


def test_feature_cache_shares_one_computation():
    c = FeatureCache(1 << 20)
    calls = []
    gate = threading.Event()

    def compute():
        calls.append(1)
        gate.wait(2)
        return Blob(10)

    results = []
    threads = [threading.Thread(target=lambda: results.append(c.get_or_compute("k", compute))) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join(2)
    assert len(calls) == 1 and len(results) == 4 and len({id(r) for r in results}) == 1


def test_latest_only_worker_drops_overtaken_jobs():
    ran, gate = [], threading.Event()

    def run(job):
        if job == 0:
            gate.wait(2)
        ran.append(job)

    w = LatestOnlyWorker("t", run)
    w.submit(0)
    time.sleep(0.05)
    for j in range(1, 10):
        w.submit(j)
    gate.set()
    assert w.wait_idle(2)
    w.stop()
    assert ran == [0, 9] and w.dropped == 8


def _renderer(up, frames):
    return ZoomRenderer(up, frames.append, cache_bytes=1 << 30, sr_threads=1)


def _warmed_renderer(up, frames):
    """A renderer whose warm-up encode has run, and the fake's records cleared of it."""
    r = _renderer(up, frames)
    deadline = time.time() + 5
    while time.time() < deadline and not up.encodes:
        time.sleep(0.005)
    time.sleep(0.05)
    up.encodes.clear(), up.windows.clear(), up.renders.clear()
    return r


def test_renderer_bicubic_then_sr_with_the_same_geometry():
    up, frames = RecordingUpscaler(offset=5.0), []
    r = _renderer(up, frames)
    px = np.random.default_rng(0).random((40, 50), dtype=np.float32)
    req = r.request(SliceKey(1, "axial", 0, True), px, (2.5, 2.5), (10, 20, 60, 70))
    assert r.wait_idle(10)
    r.shutdown()
    kinds = {f.kind: f for f in frames}
    assert set(kinds) == {"bicubic", "sr"}
    assert all(f.request is req for f in frames)
    np.testing.assert_allclose(kinds["bicubic"].pixels, bicubic(px, 2.5, (10, 20, 60, 70)))
    np.testing.assert_allclose(kinds["sr"].pixels - kinds["bicubic"].pixels, 5.0, atol=1e-4)
    assert up.renders == [((2.5, 2.5), (10, 20, 60, 70))]


def test_renderer_drops_stale_requests():
    up, frames = RecordingUpscaler(delay_s=0.05), []
    r = _renderer(up, frames)
    px = np.ones((32, 32), np.float32)
    key = SliceKey(1, "axial", 0, True)
    reqs = [r.request(key, px, (1.5 + 0.1 * i, 1.5 + 0.1 * i), (0, 0, 40, 40)) for i in range(12)]
    assert r.wait_idle(10)
    r.shutdown()
    sr = [f for f in frames if f.kind == "sr"]
    # the first request may have started before the rest arrived; the last always renders
    assert sr[-1].request is reqs[-1]
    assert len(up.renders) <= 2 and r.dropped >= 10
    assert all(r.is_stale(q) for q in reqs[:-1]) and not r.is_stale(reqs[-1])


def test_renderer_skips_sr_at_zoom_one_and_below():
    up, frames = RecordingUpscaler(), []
    r = _renderer(up, frames)
    req = r.request(SliceKey(1, "axial", 0, True), np.ones((20, 20), np.float32), (0.8, 0.8), (0, 0, 16, 16))
    assert r.wait_idle(10)
    r.shutdown()
    assert not req.want_sr and [f.kind for f in frames] == ["bicubic"] and not up.renders


def test_prefetch_encodes_neighbours_into_the_cache():
    up, frames = RecordingUpscaler(), []
    r = _renderer(up, frames)
    keys = [SliceKey(1, "axial", i, True) for i in (4, 6)]
    r.prefetch([(k, lambda: np.zeros((8, 8), np.float32), None) for k in keys])
    deadline = time.time() + 5
    while time.time() < deadline and not all(r.cached(k) for k in keys):
        time.sleep(0.01)
    r.shutdown()
    assert all(r.cached(k) for k in keys)


def test_sr_frame_at_and_above_x4():
    up = RecordingUpscaler(offset=0.0)
    px = np.random.default_rng(1).random((30, 40), dtype=np.float32)
    feats = up.encode(px)
    out, s = sr_frame(up, feats, px.shape, (3.0, 3.0), (5, 6, 20, 30))
    assert s == (3.0, 3.0) and up.renders[-1] == ((3.0, 3.0), (5, 6, 20, 30))
    # x6 on rows only: the network runs at x4 there, bicubic does the rest
    out, s = sr_frame(up, feats, px.shape, (6.0, 2.0), (10, 4, 50, 60))
    assert s == (4.0, 2.0) and up.renders[-1][0] == (4.0, 2.0)
    assert out.shape == (50, 60)
    # bicubic of a bicubic x4 stays close to a direct bicubic x6 (same geometry)
    ref = bicubic(px, (6.0, 2.0), (10, 4, 50, 60))
    assert np.abs(out - ref).mean() < 0.02
    assert sr_scale_for((0.9, 0.8)) is None and sr_scale_for((5.0, 9.0)) == (4.0, 4.0)
    assert sr_scale_for((0.9, 2.0)) == (1.1, 2.0)  # per axis: SR wherever an axis is enlarged


def test_sr_frame_above_x4_keeps_constant_images_constant():
    up = RecordingUpscaler(offset=0.0)
    px = np.full((16, 16), 7.0, np.float32)
    out, _ = sr_frame(up, up.encode(px), px.shape, (9.0, 9.0), (0, 0, 144, 144))
    assert out.shape == (144, 144)
    np.testing.assert_allclose(out, 7.0, rtol=1e-5)


def test_sr_frame_in_bands_joins_seamlessly_and_stops_when_stale():
    up = RecordingUpscaler(offset=2.0)
    px = np.random.default_rng(2).random((60, 50), dtype=np.float32)
    feats = up.encode(px)
    whole, _ = sr_frame(up, feats, px.shape, (2.5, 2.5), (3, 4, 100, 90))
    banded, _ = sr_frame(up, feats, px.shape, (2.5, 2.5), (3, 4, 100, 90), band_rows=32)
    np.testing.assert_allclose(banded, whole, atol=1e-5)
    # 100 rows in bands of about 32: three equal ones, no 4-row straggler
    assert [r[1] for r in up.renders[-3:]] == [(3, 4, 33, 90), (36, 4, 34, 90), (70, 4, 33, 90)]
    calls = iter([False, False, True])  # goes stale after two bands
    n = len(up.renders)
    out, _ = sr_frame(up, feats, px.shape, (2.5, 2.5), (3, 4, 100, 90), band_rows=32, stale=lambda: next(calls))
    assert out is None and len(up.renders) == n + 2


def test_sr_waits_for_the_bicubic_frame_on_screen(monkeypatch):
    import viewer.render.zoom_renderer as zr

    monkeypatch.setattr(zr, "BICUBIC_FIRST_S", 10.0)  # no give-up during the test
    up, frames = RecordingUpscaler(), []
    r = ZoomRenderer(up, frames.append, cache_bytes=1 << 30, sr_threads=1, waits_for_display=True)
    px = np.ones((24, 24), np.float32)
    req = r.request(SliceKey(1, "axial", 0, True), px, (2.0, 2.0), (0, 0, 30, 30))
    deadline = time.time() + 5
    while not frames and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # bicubic made, not yet shown: the SR frame has not started
    assert [f.kind for f in frames] == ["bicubic"] and not up.renders
    r.bicubic_displayed(req.generation)
    assert r.wait_idle(10)
    r.shutdown()
    assert [f.kind for f in frames] == ["bicubic", "sr"] and len(up.renders) == 1


def test_prefetch_thread_runs_at_lower_priority():
    import os
    import sys

    import pytest

    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread priorities are a Linux feature")
    r = _renderer(RecordingUpscaler(), [])
    tid = r._prefetch._thread.native_id
    deadline = time.time() + 5
    while time.time() < deadline and os.getpriority(os.PRIO_PROCESS, tid) == os.getpriority(os.PRIO_PROCESS, 0):
        time.sleep(0.01)
    nice_prefetch = os.getpriority(os.PRIO_PROCESS, tid)
    nice_sr = os.getpriority(os.PRIO_PROCESS, r._sr._thread.native_id)
    r.shutdown()
    assert nice_prefetch == min(19, nice_sr + 10)


def test_a_zoomed_in_view_encodes_only_what_it_shows_and_more_on_a_pan():
    up, frames = RecordingUpscaler(offset=0.0), []
    r = _warmed_renderer(up, frames)
    key, px = SliceKey(1, "axial", 0, True), np.random.default_rng(2).random((200, 240), dtype=np.float32)
    r.request(key, px, (3.0, 3.0), (0, 0, 150, 180))  # the top-left 50x60 input pixels
    assert r.wait_idle(10)
    f = r.cache.get(r.cache_key(up, key))
    assert up.windows[0] is not None and not f.complete
    assert 0.05 < f.fraction < 0.25  # (50 + 2 margin) x (60 + margin) of 200x240, whole blocks
    assert frames[-1].kind == "sr" and frames[-1].pixels is not None
    # a small pan stays inside the margin: no encode; a far one encodes the new part only
    r.request(key, px, (3.0, 3.0), (20, 20, 150, 180))
    assert r.wait_idle(10) and len(up.windows) == 1
    r.request(key, px, (3.0, 3.0), (450, 540, 150, 180))
    assert r.wait_idle(10)
    r.shutdown()
    assert len(up.windows) == 2 and len(up.encodes) == 1  # extended, not re-encoded
    assert frames[-1].kind == "sr" and frames[-1].error is None
    np.testing.assert_allclose(frames[-1].pixels, bicubic(px, 3.0, (450, 540, 150, 180)), atol=1e-5)
    assert f.covers((150, 180, 50, 60)) and not f.covers((100, 0, 10, 10))


def test_prefetch_of_a_window_then_the_whole_slice():
    up, frames = RecordingUpscaler(), []
    r = _warmed_renderer(up, frames)
    key = SliceKey(1, "axial", 3, True)
    px = lambda: np.zeros((100, 100), np.float32)  # noqa: E731
    r.prefetch([(key, px, (10, 10, 20, 20)), (key, px, None)])
    deadline = time.time() + 5
    while time.time() < deadline and not r.cached(key):
        time.sleep(0.01)
    r.shutdown()
    assert r.cached(key) and up.windows == [(10, 10, 20, 20), None] and len(up.encodes) == 1


def test_windowed_encodes_with_the_real_engine_match_a_whole_slice(random_upscaler):
    frames = []
    r = ZoomRenderer(random_upscaler, frames.append, cache_bytes=1 << 30, sr_threads=1)
    key, px = SliceKey(1, "axial", 0, True), np.random.default_rng(3).random((120, 130), dtype=np.float32)
    whole = random_upscaler.encode(px)
    for region in [(0, 0, 90, 100), (270, 290, 90, 100), (100, 0, 200, 390)]:  # then a far pan, a zoom-out
        r.request(key, px, (3.0, 3.0), region)
        assert r.wait_idle(30)
        sr = [f for f in frames if f.kind == "sr"][-1]
        assert sr.error is None and sr.request.region == region
        np.testing.assert_allclose(sr.pixels, random_upscaler.render(whole, 3.0, region), rtol=1e-5, atol=1e-3)
    f = r.cache.get(r.cache_key(random_upscaler, key))
    assert f.complete  # the zoom-out reads over 70% of the slice: all of it was encoded
    r.shutdown()


def test_feature_cache_counts_an_entry_that_grew_in_place(random_upscaler):
    c = FeatureCache(1 << 30)
    px = np.random.default_rng(4).random((64, 96), dtype=np.float32)
    f = random_upscaler.encode(px, window=(0, 0, 16, 16))
    c.put("k", f)
    small = c.nbytes
    random_upscaler.encode_more(f)  # in place, as ``encoded`` extends
    c.put("k", f)
    assert c.nbytes == f.nbytes > small
    c.put("other", Blob(10))
    c.max_bytes = 20  # evicts "k": the count returns to exactly the other entry
    assert c.keys() == ["other"] and c.nbytes == 10


def test_an_interactive_extend_does_not_wait_for_a_background_one():
    c = FeatureCache(1 << 20)
    c.put("k", Blob(10))
    gate, order = threading.Event(), []

    def slow_extend(v):
        gate.wait(5)
        order.append("background")
        return v

    def quick_extend(v):
        order.append("interactive")
        return v

    bg = threading.Thread(target=lambda: c.get_or_compute("k", lambda: Blob(1), covers=lambda v: False, extend=slow_extend))
    bg.start()
    time.sleep(0.05)
    c.get_or_compute("k", lambda: Blob(1), covers=lambda v: False, extend=quick_extend, alongside=True)
    assert order == ["interactive"]  # done while the background one still runs
    waiter = threading.Thread(target=lambda: c.get_or_compute("k", lambda: Blob(1), covers=lambda v: False, extend=quick_extend))
    waiter.start()
    time.sleep(0.05)
    assert order == ["interactive"]  # without ``alongside`` it waits its turn
    gate.set()
    bg.join(5), waiter.join(5)
    assert order == ["interactive", "background", "interactive"]


def test_each_engine_has_its_own_cache_entries_even_if_an_id_is_reused():
    up_a, frames = RecordingUpscaler(), []
    r = _renderer(up_a, frames)
    key = SliceKey(1, "axial", 0, True)
    ka = r.cache_key(up_a, key)
    up_b = RecordingUpscaler()
    assert r.cache_key(up_b, key) != ka and r.cache_key(up_a, key) == ka
    r.set_upscaler(up_b)
    r.shutdown()
    del up_a  # an engine made later may get its id; never its cache token
    tokens = {r.cache_key(RecordingUpscaler(), key)[0] for _ in range(20)}
    assert ka[0] not in tokens


def test_a_view_of_most_of_a_slice_encodes_all_of_it():
    up, frames = RecordingUpscaler(), []
    r = _warmed_renderer(up, frames)
    shape = (200, 240)
    assert r.view_window(shape, (3.0, 3.0), (0, 0, 150, 180)) is not None  # a corner: a window
    assert r.view_window(shape, (1.2, 1.2), (0, 0, 230, 280)) is None  # ~all of it: whole
    assert r.view_window(shape, (0.9, 0.9), (0, 0, 100, 100)) is None  # no SR below x1
    r.request(SliceKey(1, "axial", 0, True), np.zeros(shape, np.float32), (1.2, 1.2), (0, 0, 230, 280))
    assert r.wait_idle(10)
    r.shutdown()
    assert up.windows == [None]
