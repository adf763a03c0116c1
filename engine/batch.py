"""``metazoom-upscale``: enlarge scans from the shell, with the viewer's export code.

    metazoom-upscale INPUT... --scale S -o OUT [--method meta-srgan|bicubic]
        [--format nifti|dicom|png|tiff] [--plane axial|coronal|sagittal] [--slices A:B]
        [--device auto|cpu|cuda] [--model fidelity|perceptual|FILE] [--include-bicubic] [--anonymize]
        [--accept-burned-in] [--overwrite] [--jobs N] [--quiet] [--send SERVER]

Each INPUT is a NIfTI file, a DICOM file, or a folder/tree (every series in it is
exported).  OUT is a file (one input, one series: ``.nii.gz``, ``.tif``...) or a
folder.  Without ``--format`` the format follows OUT's extension, else the input's
kind (NIfTI -> NIfTI, DICOM -> DICOM).

Scales above x4 with Meta-SRGAN: super-resolved at x4, the rest bicubic (as the
viewer does), and the provenance says so.  Scales of x1 or below need ``--method
bicubic``.

``--send SERVER`` (DICOM only) sends the derived series written by this run, and
nothing else, to a PACS once every export has succeeded (``metazoom-pacs``'s servers).

Exit codes: 0 all written; 1 an input failed (the others still ran); 2 bad
arguments; 130 interrupted (Ctrl-C: the export in progress leaves nothing, exports
already finished stay).  Errors are one line each, never a traceback.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import secrets
import signal
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MetaZoomError
from .geometry import SR_SCALE_MAX, parse_scale, parse_scale_key, scale_key

PROG = "metazoom-upscale"
_FORMAT_OF_SUFFIX = {".nii": "nifti", ".nii.gz": "nifti", ".tif": "tiff", ".tiff": "tiff", ".png": "png", ".dcm": "dicom"}


class UsageError(Exception):
    """Bad arguments: exit code 2."""


@dataclass
class Options:
    inputs: list[Path]
    scale: float | tuple[float, float]
    out: Path
    method: str = "meta-srgan"
    format: str | None = None
    plane: str | None = None
    slices: object = None
    device: str = "auto"
    weights: Path | None = None
    include_bicubic: bool = False
    anonymize: bool = False
    accept_burned_in: bool = False
    overwrite: bool = False
    jobs: int = 1
    quiet: bool = False
    uid_seed: str | None = None
    send: str | None = None


@dataclass
class Job:
    """One series to export: ``path`` and which series of it (``index`` of ``n_series``)."""

    path: Path
    index: int = 0
    n_series: int = 1
    destination: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.path} (series {self.index + 1} of {self.n_series})" if self.n_series > 1 else str(self.path)


@dataclass
class Result:
    job: Job
    outputs: list[Path] = field(default_factory=list)
    slices: int = 0
    error: str | None = None
    interrupted: bool = False


def _zoom(text: str):
    """``--scale``: a number, or ROWSxCOLS (``engine.geometry.parse_scale_key``)."""
    try:
        return parse_scale_key(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    from .export import FORMATS
    from .io.volume import PLANES

    p = argparse.ArgumentParser(prog=PROG, description="Enlarge scans with Meta-SRGAN (or bicubic) and export them.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="NIfTI file, DICOM file, or folder/tree")
    p.add_argument("--scale", "-s", type=_zoom, required=True,
                   help="zoom factor, e.g. 2 or 2.5; ROWSxCOLS such as 5.5x1.5 for a different factor per axis")
    p.add_argument("-o", "--output", dest="out", type=Path, required=True, help="output file or folder")
    p.add_argument("--method", choices=("meta-srgan", "bicubic"), default="meta-srgan")
    p.add_argument("--format", choices=FORMATS, help="default: from OUT's extension, else the input's kind")
    p.add_argument("--plane", choices=PLANES, help="PNG/TIFF: the plane (default axial); NIfTI/DICOM: slices of this "
                   "plane (axes permuted, geometry exact; default the stored ones)")
    p.add_argument("--slices", metavar="A:B", help="0-based, B excluded; N for one slice (default: all); file names count from 1, as the viewer's overlay")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--model", metavar="fidelity|perceptual|FILE",
                   help="Meta-SRGAN model: fidelity (default, the bundled weights), perceptual (the GAN-trained "
                   "weights, when shipped) or a site's .safetensors file")
    p.add_argument("--weights", type=Path, help="Meta-SRGAN weights file (.safetensors; same as --model FILE)")
    p.add_argument("--include-bicubic", action="store_true", help="also write the bicubic result")
    p.add_argument("--anonymize", action="store_true", help="de-identify (DICOM PS3.15 basic profile)")
    p.add_argument("--accept-burned-in", action="store_true",
                   help="with --anonymize: export images whose pixels may carry burned-in text (names, dates) anyway; "
                   "they stay marked BurnedInAnnotation YES and are not claimed de-identified")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (never the input)")
    p.add_argument("--jobs", "-j", type=int, default=1, help="inputs processed in parallel (processes)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--send", metavar="SERVER", help="DICOM: send the derived series to this PACS after a successful export "
                   "(a configured name or an address; see metazoom-pacs)")
    p.add_argument("--uid-seed", help=argparse.SUPPRESS)  # deterministic UIDs, for tests
    return p


def _parse(argv) -> Options:
    from .export import parse_slices
    from .export.request_checks import check_scale

    parser = build_parser()
    a = parser.parse_args(argv)
    try:
        slices = parse_slices(a.slices) if a.slices is not None else None
    except ValueError as e:
        raise UsageError(str(e)) from None
    if a.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {a.jobs}")
    if a.model is not None and a.weights is not None:
        raise UsageError("give --model or --weights, not both")
    if a.model is not None:
        from .models import resolve_model

        try:
            a.weights = resolve_model(a.model)
        except MetaZoomError as e:
            raise UsageError(f"--model {a.model}: {getattr(e, 'reason', e)}") from None
    try:
        check_scale(a.scale, a.method == "meta-srgan")
    except MetaZoomError as e:
        raise UsageError(f"--scale {scale_key(a.scale)}: {getattr(e, 'reason', e)}") from None
    opts = Options(
        inputs=list(a.inputs), scale=a.scale, out=a.out, method=a.method, format=a.format, plane=a.plane, slices=slices,
        device=a.device, weights=a.weights, include_bicubic=a.include_bicubic, anonymize=a.anonymize,
        accept_burned_in=a.accept_burned_in, overwrite=a.overwrite, jobs=a.jobs, quiet=a.quiet, send=a.send,
        # one seed per run: UIDs unique per series, one de-identification mapping for all inputs
        uid_seed=a.uid_seed or secrets.token_hex(16),
    )
    if opts.format is None:
        opts.format = _format_of(opts.out)
    if opts.send and opts.format not in ("dicom", None):
        raise UsageError(f"--send sends a DICOM series; --format is {opts.format}")
    return opts


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    for suf in sorted(_FORMAT_OF_SUFFIX, key=len, reverse=True):
        if name.endswith(suf):
            return _FORMAT_OF_SUFFIX[suf]
    return None


def _jobs(opts: Options) -> list[Job]:
    """One job per series of every input (duplicates dropped); output destinations."""
    from .io import open_scan

    seen, jobs = set(), []
    for path in opts.inputs:
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        try:
            n = len(open_scan(path))
        except MetaZoomError:
            n = 1  # the job reports the error with its input's name
        jobs.extend(Job(path, i, n) for i in range(n))
    out_is_file = _format_of(opts.out) is not None
    if out_is_file and len(jobs) > 1:
        raise UsageError(f"-o {opts.out} names one file, but there are {len(jobs)} series to export; give a folder")
    for j in jobs:
        j.destination = opts.out
    return jobs


# -- one job -------------------------------------------------------------------------
_UPSCALERS: dict = {}  # per process: loaded once, reused by every job
_WORKER_THREADS: int | None = None  # set in --jobs workers: their share of the cores


def _upscaler(opts: Options):
    if opts.method != "meta-srgan":
        return None
    key = (str(opts.weights), opts.device)
    if key not in _UPSCALERS:
        from . import load_upscaler

        _UPSCALERS.clear()
        _UPSCALERS[key] = load_upscaler(opts.weights, device=opts.device)
        if _WORKER_THREADS is not None:  # torch is imported only now: bicubic jobs never pay for it
            import torch

            torch.set_num_threads(_WORKER_THREADS)
    return _UPSCALERS[key]


def run_job(job: Job, opts: Options, report, cancelled=lambda: False) -> Result:
    """Load, export, report ``report(kind, job, value)`` ('total' n / 'step' 1)."""
    from .export import ExportRequest, run_export
    from .io import load, open_scan

    result = Result(job)
    try:
        series = open_scan(job.path) if job.n_series > 1 else None
        volume = load(series[job.index] if series is not None else job.path)
        fmt = opts.format or ("dicom" if volume.kind == "dicom" else "nifti")
        name = None
        if job.n_series > 1 and not opts.anonymize:
            stem = job.path.name.split(".")[0] or "scan"
            name = f"{stem}_series{job.index + 1:02d}"
        request = ExportRequest(
            volume=volume, destination=job.destination, upscaler=_upscaler(opts), scale=opts.scale, format=fmt,
            plane=opts.plane, slices=opts.slices, include_bicubic=opts.include_bicubic, anonymize=opts.anonymize,
            accept_burned_in=opts.accept_burned_in, overwrite=opts.overwrite, name=name, uid_seed=opts.uid_seed,
        )
        gen = run_export(request)
        try:
            for p in gen:
                if p.done == 0 and not p.finished:
                    report("total", job, p.total)
                elif not p.finished:
                    report("step", job, 1)
                    result.slices = p.done
                if p.finished:
                    result.outputs = list(p.outputs)
                if cancelled():
                    result.interrupted = True
                    break
        finally:
            gen.close()  # a cancelled export removes its staging here
    except KeyboardInterrupt:
        result.interrupted = True
    except MetaZoomError as e:
        result.error = str(e)
    except OSError as e:
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        result.error = f"{job.path}: {where}{e.strerror or e}"
    except MemoryError:
        result.error = f"{job.path}: not enough memory for this scale; try a smaller scale or fewer slices"
    except Exception as e:  # a bug: still one line (METAZOOM_DEBUG=1 shows the traceback)
        if os.environ.get("METAZOOM_DEBUG"):
            raise
        result.error = f"{job.path}: unexpected {type(e).__name__}: {e} (a bug; please report it)"
    if result.interrupted:
        result.outputs = []
    return result


# -- processes -------------------------------------------------------------------------
_QUEUE = None
_CANCEL = None


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C: the export in progress leaves nothing


def _init_worker(q, cancel, threads: int) -> None:
    global _QUEUE, _CANCEL, _WORKER_THREADS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; we stop between slices
    signal.signal(signal.SIGTERM, _interrupt)
    _QUEUE, _CANCEL = q, cancel
    warnings.filterwarnings("ignore", category=UserWarning, message=".*UNTRAINED.*")
    # each worker gets its share of the cores: torch when it loads (``_upscaler``),
    # numba (bicubic kernels) from the environment, read when it is first imported
    _WORKER_THREADS = threads
    os.environ["NUMBA_NUM_THREADS"] = str(threads)


def _worker(job: Job, opts: Options) -> Result:
    def report(kind, j, value):
        _QUEUE.put((kind, j.label, value))

    return run_job(job, opts, report, cancelled=_CANCEL.is_set)


# -- the command -----------------------------------------------------------------------
def _say(msg: str) -> None:
    from tqdm import tqdm

    tqdm.write(msg, file=sys.stderr)


def _one_line_warnings() -> None:
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG}: warning: {str(message).splitlines()[0]}", file=sys.stderr)

    warnings.showwarning = show


def main(argv=None) -> int:
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        return _main(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv) -> int:
    from tqdm import tqdm

    _one_line_warnings()
    try:
        opts = _parse(argv)
        server = _send_target(opts)  # an unknown server or a missing secret fails before any work
        jobs = _jobs(opts)
        if opts.method == "meta-srgan" and max(parse_scale(opts.scale, sr=False)) > SR_SCALE_MAX:
            _say(f"{PROG}: note: x{scale_key(opts.scale)} is above Meta-SRGAN's range: super-resolving at most "
                 f"x{SR_SCALE_MAX:g} per axis, then bicubic to x{scale_key(opts.scale)}")
        parallel = opts.jobs > 1 and len(jobs) > 1
        if opts.method == "meta-srgan":
            if not parallel:
                _upscaler(opts)  # load once, fail early
            else:
                from .errors import UntrainedWeightsWarning
                from .upscaler import pick_device
                from .weights import BUNDLED, read_info

                pick_device(opts.device)
                info = read_info(opts.weights if opts.weights is not None else BUNDLED)
                if not info.trained:  # the workers stay quiet; say it once here
                    warnings.warn(f"UNTRAINED WEIGHTS: {info.path.name} was never trained; its 'super-resolution' "
                                  "is the network's initial state", UntrainedWeightsWarning)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # pick_device: an absent device
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except MetaZoomError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130

    t0 = time.perf_counter()
    bar = tqdm(total=0, unit="slice", disable=opts.quiet, file=sys.stderr, dynamic_ncols=True)

    def report(kind, label, value):
        if kind == "total":
            bar.total += value
            bar.refresh()
        else:
            bar.update(value)

    results: list[Result] = []
    interrupted = False
    try:
        if not parallel:
            for job in jobs:
                bar.set_description(job.path.name)
                r = run_job(job, opts, lambda k, j, v: report(k, j.label, v))
                results.append(r)
                _announce(r)
                if r.interrupted:
                    interrupted = True
                    break
        else:
            interrupted = _run_parallel(jobs, opts, report, results)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    slices = sum(r.slices for r in results if not r.error and not r.interrupted)
    ok = [r for r in results if not r.error and not r.interrupted]
    failed = [r for r in results if r.error]
    if interrupted:
        print(f"{PROG}: interrupted: the export in progress left nothing behind; {len(ok)} finished export(s) kept",
              file=sys.stderr)
        return 130
    if not opts.quiet or failed:
        rate = slices / elapsed if elapsed > 0 else 0.0
        print(f"{PROG}: {len(ok)} of {len(jobs)} series exported, {slices} slices in {elapsed:.1f} s ({rate:.2f} slices/s)",
              file=sys.stderr)
    if failed:
        return 1
    return _send(server, ok, opts) if server is not None else 0


def _send_target(opts: Options):
    if not opts.send:
        return None
    from .pacs import ServerStore, connect

    server = ServerStore().resolve(opts.send)
    connect(server)  # checks the configuration and that a needed secret is there (no network yet)
    return server


def _send(server, ok: list[Result], opts: Options) -> int:
    """Send exactly the files this run wrote (the derived series), nothing else."""
    from .pacs import PacsError, PacsSendError
    from .pacs.cli import send_files
    from .pacs.instances import files_to_send

    files = files_to_send([p for r in ok for p in r.outputs])
    if not files:
        print(f"{PROG}: error: --send: this run wrote no DICOM files; nothing was sent", file=sys.stderr)
        return 1
    try:
        result = send_files(server, files, quiet=opts.quiet)
    except PacsSendError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        for f, why in e.refused[:20]:
            print(f"{PROG}:   refused: {f}: {why}", file=sys.stderr)
        return 1
    except PacsError as e:
        print(f"{PROG}: error: the export is written but was not sent: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted while sending; the export is written", file=sys.stderr)
        return 130
    print(f"{PROG}: sent {len(result.sent)} instances to {server.label}", file=sys.stderr)
    return 0


def _announce(r: Result) -> None:
    if r.error:
        _say(f"{PROG}: error: {r.error}")
    elif r.outputs:
        more = f" (+{len(r.outputs) - 1} more)" if len(r.outputs) > 1 else ""
        _say(f"{r.job.label} -> {r.outputs[0]}{more}")


def _run_parallel(jobs: list[Job], opts: Options, report, results: list[Result]) -> bool:
    ctx = mp.get_context("spawn")  # torch and fork do not mix
    q, cancel = ctx.Queue(), ctx.Event()
    n = min(opts.jobs, len(jobs))
    threads = max(1, (os.cpu_count() or 1) // n)
    interrupted = False
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=_init_worker, initargs=(q, cancel, threads)) as pool:
        pending = {pool.submit(_worker, j, opts) for j in jobs}
        while pending:
            try:
                done, pending = wait(pending, timeout=0.2)
                _drain(q, report)
                for f in done:
                    if f.cancelled():
                        continue
                    try:
                        r = f.result()
                    except Exception as e:  # a worker died (killed, out of memory)
                        r = Result(Job(Path("?")), error=f"a worker process failed: {type(e).__name__}: {e}")
                    results.append(r)
                    _announce(r)
            except KeyboardInterrupt:
                interrupted = True
                cancel.set()  # workers stop between slices and remove their staging
                for f in pending:
                    f.cancel()
        _drain(q, report)
    return interrupted or any(r.interrupted for r in results)


def _drain(q, report) -> None:
    while True:
        try:
            kind, label, value = q.get_nowait()
        except queue.Empty:
            return
        report(kind, label, value)


if __name__ == "__main__":
    sys.exit(main())
