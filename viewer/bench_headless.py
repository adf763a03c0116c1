"""``python -m viewer.bench_headless``: run ``metazoom PATH --screenshot`` over every
file of pydicom's test-file folder and the ``dcm_qa_*`` trees of ../shared/data (each
tree as a folder, then each of its series with ``--series N``), and report each run's
exit code and time.  The target: no crash (every run ends 0 or 1, never a signal),
each within 60 s.  Writes the section "headless" of docs/BENCHMARKS.md.

A benchmark, not a test: it takes minutes (a process per file, each importing torch).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "dicom"
LIMIT_S = 60


def pydicom_files() -> list[Path]:
    import pydicom.data

    folder = Path(pydicom.data.__file__).parent / "test_files"
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith((".txt", ".py", ".json", ".gz", ".bz2")))


def qa_runs() -> list[tuple[str, list[str]]]:
    """(label, arguments): each dcm_qa tree as a folder, each of its series by number,
    and the NIfTI references beside them."""
    runs = []
    for tree in sorted(DATA.glob("dcm_qa_*")):
        runs.append((tree.name, [str(tree)]))
        try:
            import engine.io as io

            n = len(io.open_scan(tree, whole_series=True))
        except Exception:
            n = 0
        runs += [(f"{tree.name} --series {i}", [str(tree), "--series", str(i)]) for i in range(1, n + 1)]
        runs += [(str(p.relative_to(DATA)), [str(p)]) for p in sorted(tree.rglob("*.nii*"))]
    return runs


def run_one(args: list[str], out_dir: Path) -> tuple[int | str, float, str]:
    out = out_dir / f"shot-{os.getpid()}-{time.monotonic_ns()}.png"
    settings = out_dir / "settings.ini"
    cmd = [sys.executable, "-m", "viewer", *args, "--screenshot", str(out), "--settings", str(settings), "--device", "cpu",
           "--timeout", str(LIMIT_S - 10), "--size", "1000x650"]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=LIMIT_S + 30)
        code: int | str = p.returncode
        tail = (p.stderr.strip().splitlines() or [""])[-1][:120]
    except subprocess.TimeoutExpired:
        code, tail = "killed", f"over {LIMIT_S + 30} s"
    return code, time.perf_counter() - t0, tail


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m viewer.bench_headless", description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--limit", type=int, default=0, help="only the first N runs (a quick look)")
    args = ap.parse_args(argv)
    from engine.benchdoc import machine, write_section

    machine_line = machine()
    runs = [(p.name, [str(p)]) for p in pydicom_files()] + qa_runs()
    if args.limit:
        runs = runs[: args.limit]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda r: (r[0], *run_one(r[1], Path(tmp))), runs))
    crashes = [r for r in results if r[1] not in (0, 1)]
    slow = [r for r in results if r[2] > LIMIT_S]
    times = sorted(r[2] for r in results)
    lines = [
        "## Headless screenshots on odd files (`python -m viewer.bench_headless`)",
        "",
        f"Machine: {machine_line}; {args.jobs} runs at a time (offscreen Qt, `--device cpu`).",
        f"Runs: {len(results)} (every file of pydicom's test-file folder; each `dcm_qa_*` tree as a folder, "
        "each of its series with `--series N`, and its NIfTI files).",
        f"**Crashes (exit other than 0 or 1): {len(crashes)}**; over {LIMIT_S} s: {len(slow)}; "
        f"exit 0: {sum(r[1] == 0 for r in results)}, exit 1: {sum(r[1] == 1 for r in results)}; "
        f"time per run median {times[len(times) // 2]:.1f} s, max {times[-1]:.1f} s.",
        "",
        "| run | exit | s | last line on stderr |",
        "|---|---|---|---|",
        *(f"| {name} | {code} | {t:.1f} | {tail.replace('|', '/')} |" for name, code, t, tail in results),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        print(f"wrote {write_section('headless', text.rstrip(), args.out)}", file=sys.stderr)
    return 0 if not crashes and not slow else 1


if __name__ == "__main__":
    sys.exit(main())
