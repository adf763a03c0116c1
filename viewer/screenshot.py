"""Headless screenshots: wait until both panes hold the final frames, save, quit."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication


class ScreenshotWhenReady(QObject):
    """Saves ``win`` to ``out`` once the scan is open, the engine has loaded (or
    failed), the current request's bicubic and Meta-SRGAN frames are on screen and the
    consistency guard has checked the Meta-SRGAN frame."""

    def __init__(self, win, out: Path, timeout_s: float = 300.0) -> None:
        super().__init__(win)
        self.win, self.out = win, Path(out)
        self.exit_code = 2  # timeout unless something better happens
        self.engine_done = False
        self.scan_done = False
        self._saving = False
        win.engine_ready.connect(self._engine)
        win.scan_shown.connect(self._scan)
        win.opener.failed.connect(self._failed)
        win.live.bicubic_shown.connect(lambda _f: self._check())
        win.live.sr_shown.connect(lambda _f: self._check())
        win.live.guard.checked.connect(lambda _r: self._check())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._timeout)
        self._timer.start(int(timeout_s * 1000))

    def _engine(self, _up) -> None:
        self.engine_done = True
        self._check()

    def _scan(self, _scan) -> None:
        self.scan_done = True
        self._check()

    def ready(self) -> bool:
        live = self.win.live
        if not (self.engine_done and self.scan_done) or live.request is None:
            return False
        if not live._current(live.bicubic):
            return False
        return not live.sr_pending() and live.guard.settled()

    def _check(self) -> None:
        if self._saving or not self.ready():
            return
        self._saving = True
        QTimer.singleShot(50, self._save)  # let the last frame paint

    def _save(self) -> None:
        # deliver what is pending first (under X11 the window's final size can arrive
        # after the first frame), then make sure the frames on screen are still current
        QApplication.processEvents()
        if not self.ready():  # a later request (a resize, a layout change) is coming
            self._saving = False
            return
        request = self.win.live.request
        image = self.win.grab()
        if self.win.live.request is not request or not self.ready():
            # grabbing ran a pending layout (X11) that moved the view: wait for its frames
            self._saving = False
            return
        self.out.parent.mkdir(parents=True, exist_ok=True)
        ok = image.save(str(self.out))
        if ok:
            print(f"saved {self.out}", file=sys.stderr)
        # the picture is saved either way (it shows what went wrong), but a run whose
        # Meta-SRGAN could not start did not do what was asked
        self.exit_code = 1 if not ok or self.win.engine_error else 0
        self._quit()

    def _failed(self, path: str, message: str) -> None:
        print(f"metazoom: could not open {message}", file=sys.stderr)
        self.exit_code = 1
        self._quit()

    def _timeout(self) -> None:
        print("metazoom: timed out waiting for the Meta-SRGAN frame", file=sys.stderr)
        self._quit()

    def _quit(self) -> None:
        self.win.close()
        QApplication.instance().quit()
