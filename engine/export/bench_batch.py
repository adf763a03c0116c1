"""Benchmark: ``metazoom-upscale`` slices per second on the vs-seg-001-t1 series at x2
(Meta-SRGAN, CPU), through the batch tool's own code path (``engine.batch.run_job``).

    .venv/bin/python -m engine.export.bench_batch [--slices 0:6] [--format dicom] [--device cpu]

Prints the numbers and writes them into the section "batch-<device>" of
``docs/BENCHMARKS.md`` (``engine.benchdoc``).
Only a handful of slices by default: the machine is shared.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from ..benchdoc import machine, write_section

ROOT = Path(__file__).resolve().parents[2]
SERIES = ROOT.parent / "shared" / "data" / "dicom" / "vs-seg-001-t1"


def main(argv=None) -> int:
    from engine.batch import Job, Options, _upscaler, run_job
    from engine.errors import UntrainedWeightsWarning
    from engine.export import parse_slices
    from engine.io import load

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=Path, default=SERIES)
    ap.add_argument("--slices", default="0:6")
    ap.add_argument("--scale", type=float, default=2.0)
    ap.add_argument("--format", default="dicom", choices=("dicom", "nifti", "png", "tiff"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-doc", action="store_true", help="print only, do not write docs/BENCHMARKS.md")
    a = ap.parse_args(argv)
    if not a.series.exists():
        print(f"needs {a.series} (../shared/data is not beside this checkout)")
        return 1
    warnings.simplefilter("ignore", UntrainedWeightsWarning)
    machine_line = machine()  # the load average before the run

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        opts = Options(inputs=[a.series], scale=a.scale, out=Path(tmp) / "out", format=a.format,
                       slices=parse_slices(a.slices), device=a.device, quiet=True, uid_seed="bench")
        t0 = time.perf_counter()
        up = _upscaler(opts)
        t_weights = time.perf_counter() - t0

        stamps = []

        def report(kind, job, value):
            stamps.append((kind, time.perf_counter()))

        t0 = time.perf_counter()
        result = run_job(Job(a.series, destination=opts.out), opts, report)
        t_total = time.perf_counter() - t0
        if result.error:
            print(result.error)
            return 1
        t_first = next(t for k, t in stamps if k == "total")  # loaded, planned
        steps = [t for k, t in stamps if k == "step"]
        n = len(steps)
        per_slice = (steps[-1] - t_first) / n
        steady = (steps[-1] - steps[0]) / (n - 1) if n > 1 else per_slice
        bytes_out = sum(p.stat().st_size for p in result.outputs)

        # where one slice's time goes (slice 60 of the series, the same calls the export makes)
        vol = load(a.series)
        img = vol.voxels[:, :, min(60, vol.shape[2] - 1)]
        rng = up.intensity_range(np.asarray(vol.voxels[::8, ::8, ::8]))
        t = time.perf_counter()
        feats = up.encode(img, rng)
        t_encode = time.perf_counter() - t
        t = time.perf_counter()
        up.render(feats, a.scale)
        t_render = time.perf_counter() - t

    rate_end = n / t_total
    rate_loop = 1.0 / per_slice
    lines = [
        f"## metazoom-upscale on vs-seg-001-t1, x{a.scale:g}, Meta-SRGAN, {a.device.upper()} ({datetime.now():%Y-%m-%d})",
        "",
        "Reproduce: `.venv/bin/python -m engine.export.bench_batch` (rewrites this section).",
        "",
        f"Machine: {machine_line}; torch with {torch.get_num_threads()} threads; "
        f"bf16 trunk: {up.bf16}. Weights: bundled `{up.info.path.name if up.info.path else '?'}` "
        f"({'trained' if up.info.trained else 'UNTRAINED'}; speed does not depend on training).",
        "",
        f"Command (same code path): `metazoom-upscale {a.series.name} --scale {a.scale:g} --format {a.format} "
        f"--slices {a.slices} --device {a.device} -o OUT` ({n} slices of {img.shape[0]}x{img.shape[1]} -> "
        f"{round(a.scale * img.shape[0])}x{round(a.scale * img.shape[1])}).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| **slices per second, export loop** (enlarge + encode + write) | **{rate_loop:.2f}** ({per_slice:.2f} s/slice) |",
        f"| slices per second, steady state (after the first slice) | {1 / steady:.2f} |",
        f"| slices per second, end to end (load series + export, {n} slices) | {rate_end:.2f} |",
        f"| load weights (once per process) | {t_weights:.2f} s |",
        f"| load series + plan (before the first slice; volume statistics fall in slice 1) | {t_first - t0:.2f} s |",
        f"| one slice: Meta-SRGAN encode (trunk) | {t_encode:.2f} s |",
        f"| one slice: render x{a.scale:g} (Meta-Upscale + bicubic residual) | {t_render:.2f} s |",
        f"| output written | {bytes_out / 1e6:.1f} MB in {len(result.outputs)} file(s) |",
        "",
        f"At this rate the whole 120-slice series takes about {120 * per_slice / 60:.1f} min. "
        "Measured with other engineers' jobs on the same 2 cores: treat it as an upper bound on time.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not a.no_doc:
        print(f"wrote {write_section(f'batch-{a.device}', text)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
