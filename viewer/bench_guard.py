"""``python -m viewer.bench_guard``: what the consistency guard costs the viewer, on a
1024x768 Meta-SRGAN frame of the bundled sample (middle axial slice) at x2 and x4.

Prints, as medians over ``--repeats`` frames (wall ms, and CPU ms of the calling thread
where the work is single-threaded; the machine line says how busy the machine was):

- the SR frame as the viewer makes it (features encoded beforehand);
- the same frame with the data-consistent rendering (``project_frame``: 3 back-projection
  iterations on the frame's region), what that adds, and the projection alone (wall and
  this thread's CPU);
- the guard's check of a frame, as the viewer's checker runs it after the frame is shown
  (bicubic frame given, the map spread over the frame's grid): its own thread, so it
  adds to the CPU's work, not to the frame's time;
- the guard's set-up, once per slice and zoom (operators, whole-slice term, noise level).

Prints only (no document is rewritten).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

FRAME = (768, 1024)  # rows, columns


def _median_ms(fn, repeats: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms of this thread) of ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        wall.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.thread_time() - c) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--zooms", type=float, nargs="+", default=[2.0, 4.0])
    a = ap.parse_args(argv)

    import numba
    from threadpoolctl import threadpool_info

    from engine import load_upscaler
    from engine.benchdoc import machine
    from engine.io import load
    from engine.io.planes import display_slice

    from .render.consistency import GuardCache, display_map, one_blas_thread, project_frame
    from .render.frames import FrameRequest, SliceKey, SliceSource, bicubic_frame, sr_frame
    from .resources import SAMPLE_SCAN

    up = load_upscaler(None, device="cpu")
    vol = load(SAMPLE_SCAN)
    index = vol.shape[2] // 2
    pixels = np.ascontiguousarray(display_slice(vol, "axial", index, True).pixels, dtype=np.float32)
    features = up.encode(pixels)
    blas = ",".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info() if i["user_api"] == "blas")
    print(f"machine: {machine()}")
    print(f"threads: numba {numba.get_num_threads()}, BLAS {blas} (1 while the guard works); "
          f"slice {pixels.shape[0]}x{pixels.shape[1]}, frame {FRAME[1]}x{FRAME[0]}, median of {a.repeats}")
    print()
    print("| zoom | SR frame (ms) | SR + data-consistent (ms) | added (ms) | projection alone (ms wall / CPU) "
          "| guard check (ms wall / CPU) | guard set-up per slice and zoom (ms) |")
    print("|---|---|---|---|---|---|---|")
    for zoom in a.zooms:
        grid = (round(pixels.shape[0] * zoom), round(pixels.shape[1] * zoom))
        h, w = min(FRAME[0], grid[0]), min(FRAME[1], grid[1])
        region = ((grid[0] - h) // 2, (grid[1] - w) // 2, h, w)
        req = FrameRequest(1, SliceKey(0, "axial", index, True), SliceSource.of(pixels), (zoom, zoom), region)
        guards = GuardCache()
        t = time.perf_counter()
        guards.guard(req)  # the set-up: once per slice and zoom
        setup = (time.perf_counter() - t) * 1e3
        sr, _ = sr_frame(up, features, pixels.shape, (zoom, zoom), region)
        bic = bicubic_frame(pixels, (zoom, zoom), region)
        plain, _ = _median_ms(lambda: sr_frame(up, features, pixels.shape, (zoom, zoom), region), a.repeats)
        projected, _ = _median_ms(lambda: project_frame(guards, req, sr_frame(up, features, pixels.shape, (zoom, zoom), region)[0]),
                                  a.repeats)
        project_wall, project_cpu = _median_ms(lambda: project_frame(guards, req, sr), a.repeats)

        def check():
            with one_blas_thread():
                cm = guards.guard(req).check(sr, region, bicubic=bic)
            display_map(cm, req)

        check_wall, check_cpu = _median_ms(check, a.repeats)
        print(f"| x{zoom:g} | {plain:.1f} | {projected:.1f} | {projected - plain:+.1f} | {project_wall:.1f} / {project_cpu:.1f} "
              f"| {check_wall:.1f} / {check_cpu:.1f} | {setup:.0f} |")
    print()
    print(f"machine (after): {machine()}")


if __name__ == "__main__":
    main()
