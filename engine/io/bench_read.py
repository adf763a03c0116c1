"""Reading benchmark: open times and peak memory for the issue's targets.

    python -m engine.io.bench_read [--data ../shared/data] [--repeat 5] [--no-write]

Writes the section "read" of docs/BENCHMARKS.md (``engine.benchdoc``).

Cases: the 120-slice 512x512 DICOM series ``dicom/vs-seg-001-t1`` (target <= 1.5 s),
a 256^3 int16 NIfTI written to a temporary folder, uncompressed and gzipped
(target <= 1 s), and peak memory against the voxel bytes (target <= 2.5x).

Each case runs in a fresh child process so that peak memory is its own:
``tracemalloc`` peak (Python and numpy allocations) and the growth of the peak
resident set over one load (VmHWM on Linux), both divided by the float32 voxel
bytes.  Times are wall-clock for ``load(path)`` (which includes ``open_scan``),
the median of ``--repeat`` runs after one untimed run (warm file cache), and the
first run on its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from ..benchdoc import DOC, machine, write_section

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT.parent / "shared" / "data"


def _child(path: str, repeat: int) -> dict:
    """Runs in the child: time load(path) and measure its memory."""
    from engine.io import load, open_scan

    t0 = time.perf_counter()
    vol = load(path)
    first = time.perf_counter() - t0
    voxel_bytes = vol.voxels.nbytes
    shape = vol.shape
    del vol

    t0 = time.perf_counter()
    open_scan(path)
    scan_only = time.perf_counter() - t0

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        vol = load(path)
        times.append(time.perf_counter() - t0)
        del vol

    tracemalloc.start()
    vol = load(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del vol
    return {
        "shape": list(shape),
        "voxel_mb": voxel_bytes / 2**20,
        "first_s": first,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "scan_only_s": scan_only,
        "tracemalloc_peak_x": peak / voxel_bytes,
    }


def _vm_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _fresh_rss_child(path: str) -> dict:
    """Peak resident-set growth of one load, in a process that has done nothing else.

    Linux: reset the high-water mark (``/proc/self/clear_refs`` 5) after the imports,
    then read VmHWM - VmRSS-before.  Elsewhere: ru_maxrss growth (a lower bound).
    """
    from engine.io import load

    reset = False
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        pass
    before = _vm_kb("VmRSS") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    vol = load(path)
    after = _vm_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rss_growth_x": (after - before) * 1024 / vol.voxels.nbytes, "rss_method": "VmHWM" if reset else "ru_maxrss"}


def _run_child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "engine.io.bench_read", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"child failed ({out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _make_nifti(folder: Path) -> tuple[Path, Path]:
    import nibabel as nib
    import numpy as np

    rng = np.random.default_rng(0)
    data = (rng.standard_normal((256, 256, 256), dtype=np.float32) * 300 + 1000).astype(np.int16)
    img = nib.Nifti1Image(data, np.diag([0.9, 0.9, 1.0, 1.0]))
    img.header.set_data_dtype(np.int16)
    img.header.set_slope_inter(0.5, 10.0)
    nii, gz = folder / "bench256.nii", folder / "bench256.nii.gz"
    nib.save(img, nii)
    nib.save(img, gz)
    return nii, gz


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (default ../shared/data)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=DOC, help="the benchmarks document (section 'read' is replaced)")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(_child(args.child, args.repeat)))
        return 0
    if args.rss_child:
        print(json.dumps(_fresh_rss_child(args.rss_child)))
        return 0

    machine_line = machine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="metazoom-bench-") as tmp:
        cases = []
        series = args.data / "dicom" / "vs-seg-001-t1"
        if series.is_dir():
            cases.append(("DICOM series vs-seg-001-t1 (120 files)", series, 1.5))
        else:
            print(f"skipping the DICOM case: {series} is absent", file=sys.stderr)
        nii, gz = _make_nifti(Path(tmp))
        cases += [("NIfTI 256^3 int16, .nii", nii, 1.0), ("NIfTI 256^3 int16, .nii.gz", gz, 1.0)]
        for name, path, target in cases:
            r = _run_child(["--child", str(path), "--repeat", str(args.repeat)])
            r.update(_run_child(["--rss-child", str(path)]))
            r.update(name=name, target_s=target)
            rows.append(r)
            print(
                f"{name}: shape {tuple(r['shape'])}, {r['voxel_mb']:.0f} MB float32 | load median {r['median_s']:.3f} s "
                f"(min {r['min_s']:.3f}, first {r['first_s']:.3f}; target {target} s) | open_scan {r['scan_only_s']:.3f} s | "
                f"peak: tracemalloc {r['tracemalloc_peak_x']:.2f}x, RSS growth {r['rss_growth_x']:.2f}x voxel bytes (target 2.5x)"
            )

    md = [
        "## Reading (engine.io)",
        "",
        f"`python -m engine.io.bench_read` on {machine_line}; median of {args.repeat} warm runs of `engine.io.load(path)`",
        "(includes `open_scan`), first run separately. Peak memory in a fresh process per case, as a multiple of the",
        "float32 voxel bytes: `tracemalloc` peak, and the growth of the peak resident set over one load (Linux VmHWM",
        "reset after the imports).",
        "",
        "| case | shape | load median (s) | first run (s) | target (s) | open_scan only (s) | peak tracemalloc | peak RSS growth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ok = "ok" if r["median_s"] <= r["target_s"] else "MISSED"
        md.append(
            f"| {r['name']} | {'x'.join(map(str, r['shape']))} | {r['median_s']:.3f} ({ok}) | {r['first_s']:.3f} | <= {r['target_s']} | "
            f"{r['scan_only_s']:.3f} | {r['tracemalloc_peak_x']:.2f}x | {r['rss_growth_x']:.2f}x |"
        )
    md += ["", "Memory target: <= 2.5x the voxel bytes.", ""]
    text = "\n".join(md)
    print()
    print(text)
    if not args.no_write:
        print(f"wrote {write_section('read', text, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
