"""Engine benchmark: ``python -m engine.bench [--weights W] [--device cpu|cuda] [--quick]``.

Prints, and writes into docs/BENCHMARKS.md (section "engine"):
the trunk through every inference runtime at hand (``bench_runtimes``: the engine
against PyTorch, ONNX Runtime and OpenVINO at each precision the machine runs, interleaved,
with the measured GEMM peak); render latency p50/p95 for 512x512 and 1024x1024 regions at each scale, with the
phase table cached (same zoom again) and cold (a new zoom every call, as during a
wheel sweep); encode latency; the bf16 trunk's accuracy; peak memory; and the
paper-style reference (weight network per output pixel, repeated features) for
the speed ratio and exactness.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from .bench_runtimes import compare
from .benchdoc import machine, write_section
from .errors import UntrainedWeightsWarning
from .geometry import PHASE_QUANT, ZoomGrid
from .render.reference import reference_upscale
from .upscaler import load_upscaler

SCALES = [1.1, 1.5, 2.0, 2.37, 3.0, 3.7, 4.0]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, n, device):
    ts = []
    for _ in range(n):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        ts.append(time.perf_counter() - t)
    return np.array(ts) * 1e3


def test_slice(n: int, seed: int = 0) -> np.ndarray:
    """A synthetic MR-like slice: smooth anatomy-ish blobs plus fine texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] / n
    img = np.zeros((n, n), np.float32)
    for _ in range(12):
        cy, cx, r = rng.random(3) * [1, 1, 0.3]
        img += (rng.random() * 800) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (r + 0.02) ** 2))
    img += 30 * np.sin(40 * yy) * np.cos(37 * xx) + rng.normal(0, 5, (n, n))
    return img.astype(np.float32)


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    rng = float(b.max() - b.min())
    return float("inf") if mse == 0 else 10 * np.log10(rng**2 / mse)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--skip-int8", action="store_true", help="leave out int8 quantisation (its calibration takes minutes)")
    ap.add_argument("--trunk-only", action="store_true", help="only the trunk through each runtime (prints; writes nothing)")
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedWeightsWarning)
        up = load_upscaler(a.weights, a.device)
    dev = up.device
    note = ""
    if not up.info.trained:
        # untrained residual weights render exactly bicubic (a zero correction), which
        # would make every exactness number trivially infinite: give the weight
        # network a random output layer so the comparisons measure something
        torch.manual_seed(0)
        with torch.no_grad():
            torch.nn.init.normal_(up.model.weights.net[2].weight, std=0.02)
        up._tables.clear()
        note = " The weights are untrained; the weight network's output layer was randomised (seed 0) so the exactness numbers are not trivially zero-vs-zero."
    reps = 5 if a.quick else 20
    up.wait_ready()  # time the runtime the engine picked, not its fallback while it compiles
    trunk = up.backend
    lines = [f"Machine: {machine()}. Device: `{dev}`; trunk {trunk}; "
             f"weights `{up.info.path.name if up.info.path else '?'}` ({'trained' if up.info.trained else 'untrained'}).{note}", ""]
    print(lines[0])
    if a.trunk_only:
        with tempfile.TemporaryDirectory() as tmp:
            print("\n".join(compare(up, reps=3 if a.quick else 7, skip_int8=a.skip_int8, workdir=Path(tmp))))
        return

    # -- encode ----------------------------------------------------------------
    enc_rows = []
    for n in (256, 512):
        img = test_slice(n)
        up.encode(img)
        t = timed(lambda: up.encode(img), max(3, reps // 4), dev)
        enc_rows.append((f"{n}x{n}", np.median(t), np.percentile(t, 95)))
        print(f"encode {n}x{n}: p50 {np.median(t):.0f} ms  p95 {np.percentile(t, 95):.0f} ms")
    # zoomed in, the viewer encodes only what a view reads (and 16 pixels around it)
    img = test_slice(512)
    for z in (2.0, 3.0, 4.0):
        H = W = round(512 * z)
        t_, l_, h_, w_ = up.needs(img.shape, z, ((H - 768) // 2, (W - 1024) // 2, 768, 1024))
        window = (t_ - 16, l_ - 16, h_ + 32, w_ + 32)
        share = up.encode(img, window=window).fraction
        t = timed(lambda: up.encode(img, window=window), max(3, reps // 4), dev)
        label = f"512x512, the part a 1024x768 view at x{z:g} reads ({share:.0%} of the slice)"
        enc_rows.append((label, np.median(t), np.percentile(t, 95)))
        print(f"encode {label}: p50 {np.median(t):.0f} ms  p95 {np.percentile(t, 95):.0f} ms")
    # -- the trunk through every runtime at hand, interleaved ---------------------------
    with tempfile.TemporaryDirectory() as tmp:
        runtime_lines = compare(up, reps=3 if a.quick else 7, skip_int8=a.skip_int8, workdir=Path(tmp))

    # -- render ----------------------------------------------------------------
    big = test_slice(1024, 2)
    feats_big = up.encode(big)
    feats_512 = up.encode(big[:512, :512])
    rows = []
    for size in (512, 1024):
        for s in SCALES:
            # the 512 slice only where its grid still covers the region at the cold zooms (s - k*1e-4)
            feats = feats_512 if s * 512 >= size + 1 else feats_big
            region = (0, 0, size, size)
            up.render(feats, s, region)
            warm = timed(lambda: up.render(feats, s, region), reps, dev)
            k = iter(range(1, 10_000))
            # a new zoom every call (+1e-4 steps), as a wheel sweep asks: the table is rebuilt
            cold = timed(lambda: up.render(feats, s - 1e-4 * next(k), region), max(3, reps // 2), dev)
            g = ZoomGrid.make(feats.shape, s)
            q = "quantised" if g.axis_maps(region)[0].quantised else "exact"
            rows.append((size, s, np.median(warm), np.percentile(warm, 95), np.median(cold), np.percentile(cold, 95), q))
            print(f"render {size}x{size} x{s}: cached p50 {rows[-1][2]:.1f} p95 {rows[-1][3]:.1f} ms | new zoom p50 {rows[-1][4]:.1f} p95 {rows[-1][5]:.1f} ms ({q} phases)")

    # -- paper-style reference ---------------------------------------------------------
    ref_rows = []
    lr = test_slice(256, 3)
    f = up.encode(lr)
    ft = up.features_tensor(f.lr)
    for s in SCALES:
        g = ZoomGrid.make(lr.shape, s)
        H, W = g.out_shape
        region = (0, 0, min(512, H), min(512, W))
        fast = up.render(f, s, region)
        t_fast = np.median(timed(lambda: up.render(f, s, region), reps, dev))
        t0 = time.perf_counter()
        ref = reference_upscale(up.model, ft.to(dev), s, lr.shape, region)[0].float().cpu().numpy()
        t_ref = (time.perf_counter() - t0) * 1e3
        if up.model.residual_bicubic:
            from .render.bicubic import resample

            ref = ref + resample(f.lr, g.out_shape, region)
        ref = up._denormalise(ref, f)
        ref_rows.append((s, region[2], region[3], t_fast, t_ref, t_ref / t_fast, psnr(fast, ref)))
        print(f"reference x{s} {region[2]}x{region[3]}: fast {t_fast:.1f} ms, paper-style {t_ref:.0f} ms, {t_ref / t_fast:.0f}x; PSNR fast vs reference {ref_rows[-1][-1]:.1f} dB")

    peak = rss_mb()
    print(f"peak resident memory: {peak:.0f} MB")

    lines += ["### Encode (trunk, once per slice)", "", "| slice | p50 ms | p95 ms |", "|---|---|---|"]
    lines += [f"| {n} | {a_:.0f} | {b_:.0f} |" for n, a_, b_ in enc_rows]
    lines += [""] + runtime_lines
    lines += ["", "### Render (Meta-Upscale of a region, features cached)", "",
              "`cached`: the zoom's phase table is in the cache (pan, slice change); `new zoom`: every call a new factor "
              "(a wheel sweep), so the weight network runs once for the zoom's distinct phases first.", "",
              "| region | scale | phases | cached p50 ms | cached p95 ms | new zoom p50 ms | new zoom p95 ms |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {sz}x{sz} | {s} | {q} | {a_:.1f} | {b_:.1f} | {c_:.1f} | {d_:.1f} |" for sz, s, a_, b_, c_, d_, q in rows]
    lines += ["", "### Against the paper-style Meta-Upscale (same weights, same input, same geometry)", "",
              "Weight network once per output pixel and one window copy per output pixel, as `XuecaiHu/Meta-SR-Pytorch` "
              "`model/metardn.py`; 256x256 slice, the output's top-left 512x512 (or all of it). "
              f"Exact phases differ only by float32 rounding; quantised ones (x1.1, x2.37, x3.7 here) are rounded to "
              f"1/{PHASE_QUANT} of an input pixel, and the PSNR column is what that rounding costs.", "",
              "| scale | output | fast ms | paper-style ms | speed-up | PSNR fast vs paper-style dB |", "|---|---|---|---|---|---|"]
    lines += [f"| {s} | {h}x{w} | {tf:.1f} | {tr:.0f} | {ratio:.0f}x | {p:.1f} |" for s, h, w, tf, tr, ratio, p in ref_rows]
    lines += ["", f"Peak resident memory of the benchmark process: {peak:.0f} MB (1024x1024 features cached: "
              f"{feats_big.nbytes / 2**20:.0f} MB)."]
    if not a.no_write:
        print("wrote", write_section(f"engine-{dev.type}", "## Engine (`python -m engine.bench" + (f" --device {dev.type}" if dev.type != "cpu" else "") + "`)\n\n" + "\n".join(lines)))


if __name__ == "__main__":
    main()
