"""``python -m viewer.bench``: drive the real widgets with synthetic wheel events and
report frame latencies, GUI-thread stalls, slice changes, start-up and memory.

Writes the section "viewer" of ``docs/BENCHMARKS.md`` (``--out`` to change, ``--no-write`` to only print).
Panes are fixed at 1024x768 each, on the bundled sample (or ``--scan``); the memory
figure uses the 120-slice series in ``../shared/data`` when it is there.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERIES_120 = ROOT.parent / "shared" / "data" / "dicom" / "vs-seg-001-t1"
PANE = (1024, 768)
HEARTBEAT_MS = 2
TICK_MS = 10


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory in MB, from /proc."""
    cur = peak = float("nan")
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    return cur, peak


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q / 100 * (len(v) - 1)))))]


class Bench:
    def __init__(self, args) -> None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtCore import QSettings, QTimer
        from PySide6.QtWidgets import QApplication

        from engine.errors import UntrainedWeightsWarning
        from viewer.app import make_app
        from viewer.settings import Settings
        from viewer.widgets.main_window import MainWindow

        warnings.simplefilter("ignore", UntrainedWeightsWarning)
        self.t_imports = time.perf_counter() - T_START
        self.QApplication = QApplication
        self.app = make_app(["metazoom-bench"])
        tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"metazoom-bench-{os.getpid()}.ini"
        self.settings_path = tmp
        t0 = time.perf_counter()
        self.win = MainWindow(Settings(QSettings(str(tmp), QSettings.IniFormat)), device=args.device)
        for pane in self.win.view.panes:
            pane.setFixedSize(*PANE)
        self.win.show()
        self.t_window = time.perf_counter() - t0
        self.live = self.win.live
        self.gaps: list[float] = []
        self._last_beat = None
        self.beat = QTimer()
        self.beat.setInterval(HEARTBEAT_MS)
        self.beat.timeout.connect(self._heartbeat)
        self.tick = QTimer()  # bounds pump()'s waits
        self.tick.setInterval(TICK_MS)
        self.tick.timeout.connect(lambda: None)
        self.tick.start()
        # a frame counts as shown once Qt has painted it in every pane that shows it:
        # the panes' own paints are timed, none is forced (a forced repaint per frame
        # doubled the GUI thread's painting: Qt paints the scene again on its next pass)
        self.shown = {"bicubic": {}, "sr": {}}
        self._frames = {"bicubic": {}, "sr": {}}
        self._painted_gen: dict = {}  # pane -> {(generation, kind): first paint done}
        self.live.bicubic_shown.connect(lambda f: self._shown("bicubic", f))
        self.live.sr_shown.connect(lambda f: self._shown("sr", f))
        for pane in self.win.view.panes:
            pane.painted.connect(self._painted)

    # -- plumbing -------------------------------------------------------------------
    def _heartbeat(self) -> None:
        now = time.perf_counter()
        if self._last_beat is not None:
            self.gaps.append((now - self._last_beat) * 1e3 - HEARTBEAT_MS)
        self._last_beat = now

    def _painted(self, pane) -> None:
        if pane.shown_tag is not None:
            self._painted_gen.setdefault(pane, {}).setdefault(pane.shown_tag, time.perf_counter())
            self._check_shown()

    def _shown(self, kind: str, frame) -> None:
        """The GUI thread put a frame in the panes; it counts once they painted it."""
        self._frames[kind][frame.request.generation] = frame
        self._check_shown()

    def _check_shown(self) -> None:
        panes = self.win.view.visible_panes()
        for g, frame in list(self._frames["bicubic"].items()):
            # every pane painted this request (the SR pane shows the bicubic frame first,
            # or already its SR frame)
            times = [min((t for (gen, _), t in self._painted_gen.get(p, {}).items() if gen == g), default=None) for p in panes]
            if all(t is not None for t in times):
                self.shown["bicubic"][g] = (max(times), frame)
                del self._frames["bicubic"][g]
        for g, frame in list(self._frames["sr"].items()):
            times = [self._painted_gen.get(p, {}).get((g, "sr")) for p in panes]
            times = [t for t in times if t is not None]
            if times:
                self.shown["sr"][g] = (max(times), frame)
                del self._frames["sr"][g]

    def pump(self, seconds: float = 0.0, until=None, timeout: float = 120.0) -> bool:
        """Run the event loop as the app's own does: block until an event comes (a
        ``TICK_MS`` timer bounds the wait, to check ``until`` and the clock).  Polling
        with short sleeps instead woke the GUI thread 2000 times a second, on the two
        cores the frames are being rendered on, which the app never does."""
        from PySide6.QtCore import QEventLoop

        end = time.perf_counter() + (timeout if until is not None else seconds)
        while time.perf_counter() < end:
            self.app.processEvents(QEventLoop.AllEvents | QEventLoop.WaitForMoreEvents)
            if until is not None and until():
                return True
        return until is None

    def wait_sr(self, req, timeout=120.0):
        ok = self.pump(until=lambda: req.generation in self.shown["sr"] or not req.want_sr, timeout=timeout)
        return self.shown["sr"].get(req.generation) if ok else None

    def wheel(self, delta: int):
        from PySide6.QtCore import QPoint, QPointF, Qt
        from PySide6.QtGui import QWheelEvent

        pane = self.win.view.right
        vp = pane.viewport()
        pos = QPointF(vp.width() / 2, vp.height() / 2)
        ev = QWheelEvent(pos, QPointF(vp.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, delta), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
        t0 = time.perf_counter()
        self.QApplication.sendEvent(vp, ev)
        return t0, time.perf_counter() - t0, self.live.request

    # -- measurements ------------------------------------------------------------------
    def open(self, path: Path):
        t0 = time.perf_counter()
        self.win.open_path(path, zoom=2.0)  # a reading zoom: the first SR frame includes the slice's encode
        self.pump(until=lambda: self.live.request is not None and self.live._current(self.live.bicubic), timeout=120)
        t_bic = time.perf_counter() - t0
        self.pump(until=lambda: self.live.upscaler is not None and self.live.request is not None and not self.live.sr_pending(), timeout=300)
        t_sr = time.perf_counter() - t0
        return t_bic, t_sr, self.win.opener.last_load_s

    def sweep(self, paced: bool, notches: int = 8):
        """x1 -> x4 -> x1 with wheel notches at the pane centre."""
        s = self.live.state
        rows, cols = self.live.slice.shape
        s.set_zoom(1.0, (cols / 2, rows / 2))
        self.pump(until=lambda: not self.live.sr_pending(), timeout=120)
        # features cached and the neighbours' background encodes finished
        self.live._prefetch()
        self.pump(0.05)
        self.pump(until=lambda: self.live.renderer._prefetch.idle, timeout=120)
        self.pump(0.3)
        bic_lat, sr_lat, handler, sr_render = [], [], [], []
        self.gaps.clear()
        self._last_beat = None
        self.beat.start()
        steps = [120] * notches + [-120] * notches
        pending = []
        for delta in steps:
            t0, h, req = self.wheel(delta)
            handler.append(h * 1e3)
            pending.append((t0, req))
            if paced:
                self.pump(until=lambda: req.generation in self.shown["sr"], timeout=60)
            else:
                self.pump(0.016)  # one notch per display frame: a fast, continuous spin
        self.pump(until=lambda: not self.live.sr_pending(), timeout=60)
        self.beat.stop()
        bic_compute = []
        for t0, req in pending:
            if req.generation in self.shown["bicubic"]:
                t1, frame = self.shown["bicubic"][req.generation]
                bic_lat.append((t1 - t0) * 1e3)
                bic_compute.append(frame.ms)
            if req.generation in self.shown["sr"]:
                t1, frame = self.shown["sr"][req.generation]
                sr_lat.append((t1 - t0) * 1e3)
                sr_render.append(frame.ms)
        return {
            "bicubic_ms": bic_lat,
            "bicubic_compute_ms": bic_compute,
            "sr_ms": sr_lat,
            "sr_render_ms": sr_render,
            "handler_ms": handler,
            "max_stall_ms": max(self.gaps) if self.gaps else float("nan"),
            "stalls_over_30": sum(g > 30 for g in self.gaps),
            "requests": len(steps),
            "sr_shown": len(sr_lat),
            "encodes": sum(1 for _, req in pending if req.generation in self.shown["sr"] and self.shown["sr"][req.generation][1].encode_ms),
        }

    def slice_change(self, prefetched: bool, zoom: float = 2.0):
        """Time from a slice step to its SR frame at ``zoom`` (SR needs > x1)."""
        s, r = self.live.state, self.live.renderer
        if s.zoom != zoom:
            rows, cols = self.live.slice.shape
            s.set_zoom(zoom, (cols / 2, rows / 2))
            self.pump(until=lambda: not self.live.sr_pending(), timeout=120)
        target = min(s.index + 1, s.n_slices - 1) if prefetched else None
        if prefetched:
            self.live._prefetch()  # as after the view has been still for a moment
            key = self.live.key().__class__(self.live.scan.token, s.plane, target, s.radiological)
            view = self.live.view_window()  # the part the view shows: prefetched first
            self.pump(until=lambda: r.cached(key, view), timeout=120)
        else:
            target = max(s.index - 1, 0)
            self.live._prefetch_timer.stop()
            r.cancel_prefetch()
            # a background encode already under way cannot be stopped: let it finish, so
            # the cold encode has the cores to itself as on a machine left still
            self.pump(until=lambda: r._prefetch.idle, timeout=120)
            r.cache.clear()
        from viewer.render.zoom_renderer import BURST_GAP_S

        # a reader's pause on the slice before: the step is not part of a burst
        self.pump(BURST_GAP_S + 0.1)
        t0 = time.perf_counter()
        s.set_index(target)
        req = self.live.request
        got = self.wait_sr(req)
        self.last_encode_ms = got[1].encode_ms if got else float("nan")
        return (got[0] - t0) * 1e3 if got else float("nan")

    def close(self) -> None:
        self.win.close()
        self.settings_path.unlink(missing_ok=True)


#: What froze the window (found with py-spy on the running viewer, 2026-12-04, before the fix).
SCROLL_CAUSE = [
    "What froze the window at 30 keys/s (issue 18): `py-spy record --threads` on the viewer showed the GUI thread "
    "in `engine.io.planes.display_slice` -> `np.take` for 873 of 1113 samples. `np.take` along the slice axis first "
    "makes the whole volume C-contiguous: the DICOM series is stored Fortran-ordered (columns, rows, slices), so every "
    "slice copied all 125 MB: 0.9-1.3 s a slice (axial; 0.5-1.0 s coronal/sagittal), on the GUI thread at each key, and "
    "again on the prefetch thread. Cut as a view it takes 1.3 ms (axial). Since then the GUI thread also no longer makes "
    "slices at all (the bicubic worker does), slice steps are queued in order, a stepped-onto slice's SR frame (and "
    "encode) starts after 120 ms of stillness when it came during a burst of keys (within 0.5 s of the one before) and at once after a pause, encodes run in 256-row strips dropped once the user has moved on, at nice 5.",
]


def key_scroll(b: "Bench", n: int, rate: float = 30.0, key: str = "Up"):
    """``n`` slice keys at ``rate`` per second to the window (QTest key events through
    the app's shortcuts), as a held key repeats.  Returns, per key, the time from the
    press to Qt's paint of that slice's bicubic frame in every pane (None: never
    shown), the slices shown in order, the longest GUI stall and the SR frames shown."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    qt_key = {"Up": Qt.Key_Up, "Down": Qt.Key_Down}[key]
    live = b.live
    start = live.state.index
    first_gen = live.renderer.latest_generation + 1
    b.gaps.clear()
    b._last_beat = None
    b.beat.start()
    t0 = time.perf_counter()
    presses = []
    for k in range(n):
        b.pump(until=lambda k=k: time.perf_counter() >= t0 + k / rate, timeout=5)
        presses.append((time.perf_counter(), live.state.index + (1 if key == "Up" else -1)))
        QTest.keyClick(b.win, qt_key)
    end_index = live.state.index
    b.pump(until=lambda: live._current(live.bicubic) and live.bicubic.request.key.index == end_index, timeout=30)
    b.pump(0.3)
    b.beat.stop()
    shown_at: dict[int, float] = {}
    order = []
    for g, (t, frame) in sorted(b.shown["bicubic"].items()):
        if g >= first_gen:
            i = frame.request.key.index
            order.append(i)
            shown_at.setdefault(i, t)
    lat = [(shown_at[i] - tp) * 1e3 if i in shown_at else None for tp, i in presses]
    sr = sum(1 for g, (_, f) in b.shown["sr"].items() if g >= first_gen)
    return {"latency_ms": lat, "order": order, "start": start, "end": end_index, "stall_ms": max(b.gaps) if b.gaps else float("nan"),
            "sr_shown": sr, "keys": n}


def _quiet(b: "Bench") -> None:
    """No background encode running or about to start (a cold measurement)."""
    r = b.live.renderer
    b.live._prefetch_timer.stop()
    r.cancel_prefetch()
    b.pump(until=lambda: r._prefetch.idle and r._sr.idle, timeout=300)


def scroll_bench(b: "Bench") -> list[str]:
    """Fast stack scrolling on the 120-slice series at the fit zoom: cold and after the
    background encodes; the flip; the cold-slice SR frame; the whole series encoded."""
    from viewer.model import thread_audit

    live, r = b.live, b.live.renderer
    t0 = time.perf_counter()
    b.win.open_path(SERIES_120, index=30)  # the fit zoom, as a reader opens it
    b.pump(until=lambda: live.scan is not None and live.scan.volume.shape[2] == 120 and live.request is not None
           and live.upscaler is not None and not live.sr_pending(), timeout=300)
    t_open = time.perf_counter() - t0
    zoom = live.state.zoom
    rows = []

    def scroll_row(label, res):
        lat = [v for v in res["latency_ms"] if v is not None]
        in_order = res["order"] == sorted(res["order"], reverse=res["end"] < res["start"])
        shown = len(set(res["order"]) & set(range(min(res["start"], res["end"]), max(res["start"], res["end"]) + 1)) - {res["start"]})
        rows.append(f"| {label}: slices shown / keys | {shown} / {res['keys']} ({'in order' if in_order else 'NOT in order'}) | all |")
        rows.append(f"| {label}: longest GUI stall | {res['stall_ms']:.1f} ms | <= 50 ms |")
        rows.append(f"| {label}: key -> its bicubic frame painted | {summarise('', lat)} | p95 <= 33 ms |")
        rows.append(f"| {label}: Meta-SRGAN frames shown during the scroll | {res['sr_shown']} | |")

    # cold: nothing encoded but the slice opened on
    _quiet(b)
    r.cache.clear()
    thread_audit.reset()
    cold = key_scroll(b, 40)
    cold_encodes = thread_audit.off_main_thread("encode")
    scroll_row("30 keys/s over 40 slices, cold", cold)
    rows.append(f"| ... encodes started during the cold scroll (each dropped after a strip, or never started) | {cold_encodes} | |")
    b.pump(until=lambda: not live.sr_pending(), timeout=300)

    # PgUp: five slices, its bicubic frame
    _quiet(b)
    pg = []
    for _ in range(4):
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        gen = r.latest_generation + 1
        tp = time.perf_counter()
        QTest.keyClick(b.win, Qt.Key_PageUp)
        b.pump(until=lambda: gen in b.shown["bicubic"], timeout=30)
        if gen in b.shown["bicubic"]:
            pg.append((b.shown["bicubic"][gen][0] - tp) * 1e3)
        b.pump(0.4)
    rows.append(f"| PgUp (5 slices) -> bicubic frame painted | {summarise('', pg)} | <= 33 ms |")
    b.pump(until=lambda: not live.sr_pending(), timeout=300)
    _quiet(b)

    # flip: radiological <-> neurological, from the cached features
    flips = []
    thread_audit.reset()
    for on in (False, True, False, True):
        b.pump(until=lambda: not live.sr_pending(), timeout=300)
        _quiet(b)
        tp = time.perf_counter()
        b.win.set_radiological(on)
        live._prefetch_timer.stop()  # count only what the flip itself encodes
        req = live.request
        got = b.wait_sr(req, timeout=120)
        if got:
            flips.append((got[0] - tp) * 1e3)
    flip_encodes = thread_audit.off_main_thread("encode")
    rows.append(f"| flip radiological/neurological -> Meta-SRGAN frame painted | {summarise('', flips)}; encodes: {flip_encodes} | <= 50 ms, no encode |")

    # a cold slice's SR frame at the fit zoom and at x2
    cold_sr = {}
    for z in (zoom, 2.0):
        vals = []
        for _ in range(2):
            _quiet(b)
            r.cache.clear()
            vals.append((b.slice_change(prefetched=False, zoom=z), b.last_encode_ms))
        cold_sr[z] = vals
    for z, vals in cold_sr.items():
        rows.append(f"| cold slice after a pause -> Meta-SRGAN frame at x{z:.2f}: total (of which encode) | "
                    f"{', '.join(f'{t:.0f} ({e:.0f})' for t, e in vals)} ms | encode + 50 ms |")

    # the whole series encoded in the background, the GUI's longest block meanwhile
    rows_, cols_ = live.slice.shape
    live.state.set_zoom(zoom, (cols_ / 2, rows_ / 2))
    b.pump(until=lambda: not live.sr_pending(), timeout=300)
    _quiet(b)
    r.cache.clear()
    b.gaps.clear()
    b._last_beat = None
    b.beat.start()
    t0 = time.perf_counter()
    live._prefetch()
    n = live.state.n_slices
    done = b.pump(until=lambda: r.ready_slices(live.scan.token, live.state.plane) >= n, timeout=b.encode_limit_s)
    t_all = time.perf_counter() - t0
    b.beat.stop()
    stall_bg = max(b.gaps) if b.gaps else float("nan")
    ready = r.ready_slices(live.scan.token, live.state.plane)
    store = r.cache.compact
    rows.append(f"| whole series ({n} slices) encoded in the background | "
                + (f"{t_all:.0f} s" if done else f"{ready}/{n} ready after {t_all:.0f} s (stopped there; at that rate all {n} take ~{t_all / max(ready, 1) * n / 60:.0f} min)")
                + f"; {t_all / max(ready, 1):.2f} s a slice (one thread at low priority) | |")
    rows.append(f"| ... longest GUI block meanwhile | {stall_bg:.1f} ms | <= 30 ms |")
    rows.append(f"| ... features kept: float32 cache / float16 store | {r.cache.nbytes / 2**20:.0f} MB / "
                f"{(store.nbytes if store is not None else 0) / 2**20:.0f} MB (store budget {(store.max_bytes if store is not None else 0) / 2**30:.1f} GB) | |")

    # prefetched: through encoded slices (nearest first: as far each way as was reached)
    here = live.state.index
    key = live.key().__class__
    reach = 0
    while reach < 40 and here - reach - 1 >= 0 and r.cached(key(live.scan.token, live.state.plane, here - reach - 1, True)):
        reach += 1
    _quiet(b)
    if reach >= 5:
        pre = key_scroll(b, reach, key="Down")
        scroll_row(f"30 keys/s over {reach} encoded slices", pre)
    else:
        rows.append("| 30 keys/s over encoded slices | not measured (too few encoded) | |")
    return [f"120-slice series `vs-seg-001-t1` (DICOM, 512x512), opened at the fit zoom x{zoom:.2f} in {t_open:.1f} s, "
            "two panes of 1024x768; keys sent as QTest key events through the app's shortcuts (offscreen Qt).",
            "", "| measure | result | target |", "|---|---|---|", *rows]


def share_shown(shape, zoom: float) -> float:
    """Share of a ``shape`` slice (square pixels) that a pane of ``PANE`` shows at ``zoom``."""
    return min(1.0, PANE[1] / zoom / shape[0]) * min(1.0, PANE[0] / zoom / shape[1])


def summarise(name, values):
    return f"p50 {pct(values, 50):.1f} ms, p95 {pct(values, 95):.1f} ms, max {max(values) if values else float('nan'):.1f} ms (n={len(values)})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m viewer.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--scan", type=Path, default=None, help="scan to open (default: the bundled sample)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--skip-120", action="store_true", help="skip the 120-slice memory measurement")
    ap.add_argument("--encode-limit", type=float, default=300.0, help="--scroll: stop waiting for the whole series' encode after this many s")
    ap.add_argument("--scroll", action="store_true", help="only the stack-scrolling benchmark on the 120-slice series (section viewer-scroll)")
    args = ap.parse_args(argv)
    from engine.benchdoc import machine, write_section

    machine_line = machine()  # with the load average before the run
    if args.scroll:
        if not SERIES_120.is_dir():
            print(f"needs {SERIES_120}", file=sys.stderr)
            return 1
        b = Bench(args)
        b.encode_limit_s = args.encode_limit
        body = scroll_bench(b)
        b.close()
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        text = "\n".join(["## Stack scrolling (`python -m viewer.bench --scroll`)", "", *SCROLL_CAUSE, "",
                          f"Machine: {machine_line}; load average {load_after:.1f} at the end (the cores are shared: "
                          "stalls and latencies include time the OS gave to other work).", "", *body]) + "\n"
        print(text)
        if not args.no_write:
            print(f"wrote {write_section('viewer-scroll', text.rstrip(), args.out)}", file=sys.stderr)
        return 0

    b = Bench(args)
    from viewer.resources import SAMPLE_SCAN

    scan = args.scan or SAMPLE_SCAN
    t_bic, t_sr, t_load = b.open(scan)
    t_first_from_start = time.perf_counter() - T_START
    up = b.live.upscaler
    device = up.device.type if up is not None else "none"
    shape = b.live.slice.shape
    paced = b.sweep(paced=True)
    fast = b.sweep(paced=False)
    pre = [b.slice_change(prefetched=True) for _ in range(3)]
    cold = [b.slice_change(prefetched=False) for _ in range(2)]
    # zoomed in further, a view shows less of the slice and only that part is encoded
    cold_in = {z: [b.slice_change(prefetched=False, zoom=z) for _ in range(2)] for z in (3.0, 4.0)}
    rss_sample = rss_mb()

    mem120 = None
    if not args.skip_120 and SERIES_120.is_dir():
        t0 = time.perf_counter()
        b.win.open_path(SERIES_120)
        b.pump(until=lambda: b.live.scan is not None and b.live.scan.volume.shape[2] == 120, timeout=300)
        b.pump(until=lambda: not b.live.sr_pending(), timeout=300)
        t_open120 = time.perf_counter() - t0
        b.live._prefetch()
        b.pump(4.0)
        b.pump(until=lambda: b.live.renderer._prefetch.idle, timeout=120)
        b.sweep(paced=True, notches=4)
        mem120 = (t_open120, *rss_mb(), b.live.renderer.cache.nbytes / 2**20, len(b.live.renderer.cache))
    b.close()

    import numba
    import torch

    lines = [
        "## Viewer (`python -m viewer.bench`)",
        "",
        f"Machine: {machine_line}; torch {torch.get_num_threads()} threads, numba {numba.__version__} ({numba.config.THREADING_LAYER} layer); "
        f"engine device **{device}** (other work on the machine slows every number).",
        f"Scan: `{scan.name if hasattr(scan, 'name') else scan}` ({shape[0]}x{shape[1]} slices), two panes of {PANE[0]}x{PANE[1]} each, "
        "offscreen Qt; synthetic `QWheelEvent`s sent to the right pane's viewport at its centre.",
        "Latencies run from the wheel event to the end of Qt's own paint of the frame in every pane that shows it (paints timed, none forced).",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| imports (Qt, torch, engine) | {b.t_imports:.2f} s | |",
        f"| open sample -> first frame (bicubic) on screen | {t_bic:.2f} s (read {t_load:.2f} s) | <= 2 s |",
        f"| open sample -> first Meta-SRGAN frame (encode + render) | {t_sr:.2f} s | |",
        f"| process start (imports, window, open) -> first Meta-SRGAN frame | {t_first_from_start:.2f} s | |",
        f"| bicubic frame after a wheel step (paced sweep x1-x4-x1) | {summarise('', paced['bicubic_ms'])} | <= 16 ms |",
        f"| of which the bicubic frame itself (worker thread) | {summarise('', paced['bicubic_compute_ms'])} | |",
        f"| Meta-SRGAN frame after a wheel step, features cached | {summarise('', paced['sr_ms'])} | p50 <= 60, p95 <= 120 ms |",
        f"| of which the SR render itself (worker thread) | {summarise('', paced['sr_render_ms'])}; slices encoded meanwhile: {paced['encodes']} | |",
        f"| wheel handler on the GUI thread | {summarise('', paced['handler_ms'])} | |",
        f"| GUI thread longest stall, paced sweep | {paced['max_stall_ms']:.1f} ms ({paced['stalls_over_30']} over 30 ms) | <= 30 ms |",
        f"| fast sweep (a notch every 16 ms): bicubic frame | {summarise('', fast['bicubic_ms'])} | |",
        f"| fast sweep: SR frames shown / requests | {fast['sr_shown']} / {fast['requests']} (stale ones dropped; x1 has no SR) | |",
        f"| GUI thread longest stall, fast sweep | {fast['max_stall_ms']:.1f} ms ({fast['stalls_over_30']} over 30 ms) | <= 30 ms |",
        f"| slice change, neighbour prefetched -> SR frame | {', '.join(f'{v:.0f}' for v in pre)} ms | <= 250 ms |",
        f"| slice change, not prefetched (encode + render) -> SR frame | {', '.join(f'{v:.0f}' for v in cold)} ms | <= 600 ms |",
        *(f"| ... the same at x{z:g} (the view shows {share_shown(shape, z):.0%} of the slice) | {', '.join(f'{v:.0f}' for v in vals)} ms | <= 600 ms |"
          for z, vals in cold_in.items()),
        f"| resident memory, sample open (current / peak) | {rss_sample[0]:.0f} / {rss_sample[1]:.0f} MB | |",
    ]
    if mem120:
        t_open120, cur, peak, cache_mb, n_cached = mem120
        lines.append(f"| 120-slice series (`vs-seg-001-t1`, DICOM): open -> SR frame | {t_open120:.2f} s | |")
        lines.append(f"| resident memory, 120-slice series open, prefetched, swept (current / peak) | {cur:.0f} / {peak:.0f} MB (feature cache {cache_mb:.0f} MB, {n_cached} slices) | <= 1.5 GB |")
    else:
        lines.append("| 120-slice series | not measured (../shared/data absent or --skip-120) | <= 1.5 GB |")
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines.append("")
    lines.append(f"Load average at the end: {load_after:.2f}. Targets are for an otherwise idle machine; "
                 "rerun `python -m viewer.bench` on one for comparable numbers.")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        print(f"wrote {write_section('viewer', text.rstrip(), args.out)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
