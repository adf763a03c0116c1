"""Benchmark of the consistency guard: ``python -m engine.bench_consistency [--data DIR]``.

Prints, and writes into docs/RESULTS.md (section ``consistency``):

- the guard's cost on a 1024x768 visible region of a 512x512 slice at x2 and x4 (per
  check, with the bicubic region given as the Difference mode has it, and computing it),
  the once-per-slice-and-zoom set-up, and data-consistent rendering (3 iterations);
- on held-out slices (axial slices 124, 127 and 130 of MR_Gd: its last 20 slices were
  held out from every training stage of the shipped weights) acquired with
  the k-space forward model: the fraction of LR pixels within 3 sigma for the shipped
  (fidelity) weights, the true image, bicubic, and a hallucinating model (SR plus
  in-band texture of 0.1 amplitude), per degradation and scale; and the PSNR of SR
  before and after data-consistent rendering.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from .acquisition import Degradation, acquire, named
from .benchdoc import machine, write_section
from .consistency import ConsistencyGuard
from .geometry import output_size
from .models import NAMED, model_label, resolve_model, shipped
from .render.bicubic import bicubic

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "RESULTS.md"
SCALES = (1.5, 2, 3, 4)
DEGRADATIONS = ("kspace-noise", "kspace-hamming-noise", "kspace")


def _psnr(a, b):
    return float(10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1) - b) ** 2)))


def timing(repeats: int = 15) -> list[str]:
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    lr = rng.random((512, 512)).astype(np.float32)
    rows = ["| zoom | set-up per slice (ms) | check, bicubic given (ms) | check, own bicubic (ms) | data-consistent, 3 it. (ms) |", "|---|---|---|---|---|"]
    for r in (2, 4):
        region = (100, 0, 768, 1024)
        t = time.perf_counter()
        g = ConsistencyGuard(lr, r)
        setup = time.perf_counter() - t
        bic = bicubic(lr, r, region)
        sr = bic + 0.01
        cells = []
        for fn in (lambda: g.check(sr, region, bicubic=bic), lambda: g.check(sr, region), lambda: g.project(sr, region, 3, bicubic=bic)):
            with threadpool_limits(1):
                fn()
                wall, cpu = [], []
                for _ in range(repeats):
                    t, c = time.perf_counter(), time.process_time()
                    fn()
                    wall.append(time.perf_counter() - t)
                    cpu.append(time.process_time() - c)
            cells.append(f"{1e3 * np.median(wall):.1f} wall / {1e3 * np.median(cpu):.1f} CPU")
        rows.append(f"| x{r} | {1e3 * setup:.0f} | " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    return rows


def held_out(data: Path, models: dict, slices=(124, 127, 130)) -> list[str]:
    """Pixels within noise per degradation and zoom: each model's SR (the first model's
    also for the hallucination, unfiltered-assumption and projection columns)."""
    import nibabel as nib

    from .upscaler import load_upscaler

    ups = {name: load_upscaler(path, device="cpu") for name, path in models.items()}
    first = next(iter(ups))
    vol = nib.load(str(data / "volumes" / "MR_Gd.nii.gz")).get_fdata(dtype=np.float32)
    vol = np.clip(vol / np.percentile(vol, 99.5), 0, 1)
    head = " | ".join(f"{n} weights" for n in ups)
    rows = [f"| degradation | zoom | {head} | true image | bicubic | hallucinating | assumed 'kspace' (no filter) | PSNR SR | PSNR data-consistent (3 it.) |",
            "|---|---|" + "---|" * (len(ups) + 6)]
    for deg in DEGRADATIONS:
        d = named(deg)
        for r in SCALES:
            acc = {k: [] for k in (*ups, "hr", "bic", "hal", "plain", "p0", "p1")}
            for i, z in enumerate(slices):
                s = vol[:, :, z]
                m = (int(s.shape[0] // r), int(s.shape[1] // r))
                hr = s[: output_size(m[0], r), : output_size(m[1], r)]
                lr = acquire(hr, m, d, np.random.default_rng([i, 7]))
                g = ConsistencyGuard(lr, r, d)
                srs = {n: up.render(up.encode(lr, intensity_range=(0.0, 1.0)), r) for n, up in ups.items()}
                for n, sr_n in srs.items():
                    acc[n].append(g.check(sr_n).within)
                sr = srs[first]
                yy, xx = np.mgrid[: hr.shape[0], : hr.shape[1]]
                hal = sr + 0.1 * np.sin(2 * np.pi * 0.15 * yy / r) * np.sin(2 * np.pi * 0.15 * xx / r) * (hr > 0.1)
                acc["hr"].append(g.check(hr).within)
                acc["bic"].append(g.check(bicubic(lr, r)).within)
                acc["hal"].append(g.check(hal).within)
                acc["plain"].append(ConsistencyGuard(lr, r, Degradation("kspace")).check(sr).within)
                acc["p0"].append(_psnr(sr, hr))
                acc["p1"].append(_psnr(g.project(sr, iterations=3), hr))
            mean = {k: float(np.mean(v)) for k, v in acc.items()}
            rows.append(f"| {deg} | x{r:g} | " + " | ".join(f"{100 * mean[k]:.2f}%" for k in (*ups, "hr", "bic", "hal", "plain"))
                        + f" | {mean['p0']:.2f} | {mean['p1']:.2f} ({mean['p1'] - mean['p0']:+.2f}) |")
            print(rows[-1], flush=True)
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "data")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--model", action="append", default=None, metavar="fidelity|perceptual|FILE",
                    help="models whose SR the guard checks (repeatable; default: every shipped one)")
    args = ap.parse_args(argv)
    names = args.model or [n for n in NAMED if shipped(n)]
    models = {model_label(resolve_model(n)): resolve_model(n) for n in names}
    line = machine()
    print(line, flush=True)
    body = ["### Consistency guard", "", f"Machine: {line}. Shared machine: timings are noisy.", "",
            "Cost on a 1024x768 visible region of a 512x512 slice, one BLAS thread, median of 15:", ""] + timing()
    if (args.data / "volumes" / "MR_Gd.nii.gz").exists():
        body += ["", "Pixels within 3 sigma (noise estimated from each LR image), mean of axial slices 124/127/130 of "
                 "MR_Gd (held out from every training stage of the shipped weights), unit range (0.5-99.5 percentile "
                 "of the volume); the guard assumes the degradation's own filter except in the 'assumed' column; "
                 f"'hallucinating' is the {next(iter(models))} SR plus a texture of amplitude 0.1 inside the acquired band; "
                 "the PSNR columns are that model's:", ""] + held_out(args.data, models)
    else:
        body += ["", f"(held-out numbers skipped: {args.data} is absent)"]
    if not args.no_write:
        write_section("consistency", "\n".join(body), RESULTS)


if __name__ == "__main__":
    main()
