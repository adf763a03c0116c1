"""``metazoom [PATH]``: the viewer.  With ``--screenshot OUT.png`` it opens the scan,
waits for the Meta-SRGAN frame, saves the window and exits (docs, checks, CI)."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

from engine.io.volume import PLANES

from .model.view_state import COMPARE_MODES

EXIT_OK, EXIT_FAILED, EXIT_TIMEOUT = 0, 1, 2


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="metazoom",
        description="Zoom viewer for radiologists: live Meta-SRGAN super-resolution beside bicubic.",
    )
    ap.add_argument("path", nargs="?", help="a .nii/.nii.gz, a DICOM file or a DICOM folder (default: the bundled sample)")
    ap.add_argument("--plane", choices=PLANES, default="axial")
    ap.add_argument("--slice", type=int, default=None, help="0-based slice index in the plane (default: the middle)")
    ap.add_argument("--zoom", type=float, default=None, help="zoom factor relative to native pixels (default: fit)")
    ap.add_argument("--compare", choices=COMPARE_MODES, default=None, help="pane layout (default: last used)")
    ap.add_argument("--model", default=None, metavar="fidelity|perceptual|FILE",
                    help="Meta-SRGAN model for this run: fidelity (the bundled weights), perceptual (GAN-trained, when "
                    "shipped) or a site's .safetensors file (default: the one chosen in Settings)")
    ap.add_argument("--weights", type=Path, default=None, help="Meta-SRGAN weights (.safetensors; same as --model FILE)")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=None, help="compute device (default: setting, auto)")
    ap.add_argument("--screenshot", type=Path, default=None, metavar="OUT.png", help="save the window once the SR frame is shown, then exit")
    ap.add_argument("--size", default="1600x900", help="window size for --screenshot, WIDTHxHEIGHT (default 1600x900)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds --screenshot waits for the frame (default 300)")
    ap.add_argument("--settings", type=Path, default=None, help="an INI file to keep settings in (default: the user's)")
    ap.add_argument("--series", type=int, default=None, metavar="N", help="which series of a folder holding several (1-based, as the picker lists them)")
    ap.add_argument("--volume", type=int, default=None, metavar="N", help="which volume of a 4D scan (1-based)")
    args = ap.parse_args(argv)
    if args.model is not None:
        if args.weights is not None:
            ap.error("give --model or --weights, not both")
        from engine.errors import ModelNotShipped
        from engine.models import resolve_model

        try:
            args.weights = resolve_model(args.model)
        except ModelNotShipped as e:
            ap.error(f"--model {args.model}: {e.reason}")
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
        args.size = (w, h)
    except ValueError:
        ap.error(f"--size must be WIDTHxHEIGHT, got {args.size!r}")
    return args


def make_app(argv=None):
    from PySide6.QtWidgets import QApplication

    from .resources import app_icon
    from .theme import apply_dark_theme

    # worker threads hand the GIL back every 1 ms instead of 5: the GUI thread waits
    # at most that long for it while frames are being made
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("MetaZoom")
    app.setOrganizationName("MetaZoom")
    app.setWindowIcon(app_icon())
    apply_dark_theme(app)
    return app


def make_window(args):
    from PySide6.QtCore import QSettings

    from .resources import SAMPLE_SCAN
    from .settings import Settings
    from .widgets.main_window import MainWindow

    qs = QSettings(str(args.settings), QSettings.IniFormat) if args.settings else None
    if args.screenshot is not None:  # a script's run reads the user's settings, never writes them
        from .settings import ReadOnly

        qs = ReadOnly(qs if qs is not None else Settings().q)
    settings = Settings(qs)
    if args.compare:
        settings.compare_mode = args.compare
    win = MainWindow(settings, weights=args.weights, device=args.device)
    path = Path(args.path) if args.path else SAMPLE_SCAN
    return win, path


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from engine.errors import UntrainedWeightsWarning

    # the window shows its own banner; keep the console quiet about it
    warnings.simplefilter("ignore", UntrainedWeightsWarning)
    app = make_app(argv)
    win, path = make_window(args)
    if args.screenshot is not None:
        from .screenshot import ScreenshotWhenReady

        win.resize(*args.size)
        win.headless = True
        win.live.background = False  # one picture: no encodes of other slices to wait for at exit
        shot = ScreenshotWhenReady(win, args.screenshot, args.timeout)
        win.show()
        win.open_path(path, plane=args.plane, index=args.slice, zoom=args.zoom, series=args.series, volume=args.volume)
        app.exec()
        _finish(win)
        return shot.exit_code
    win.show()
    win.open_path(path, plane=args.plane, index=args.slice, zoom=args.zoom, series=args.series, volume=args.volume)
    code = app.exec()
    _finish(win)
    return code


def _finish(win) -> None:
    """Let the threads still inside torch or a reader finish before the interpreter
    exits (exiting under them aborts the process, exit 134)."""
    from .widgets.background import join_all

    win.live.shutdown()
    join_all(timeout=120.0)


if __name__ == "__main__":
    sys.exit(main())
