"""Run by ``test_scroll_xvfb`` under ``xvfb-run``: the real window on a real X server,
driven by synthetic key repeats from ``xdotool`` (the X server's XTEST input, as a
held key would send).  Writes what it saw as JSON: the slices whose bicubic frame
reached the panes, in order, and which kinds of work ran on the GUI thread."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def main(scan: str, out: str, settings: str, presses: int, rate: float) -> int:
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from viewer.app import make_app
    from viewer.model import thread_audit
    from viewer.settings import Settings
    from viewer.widgets.main_window import MainWindow

    app = make_app(["metazoom-xvfb-test"])
    win = MainWindow(Settings(QSettings(settings, QSettings.IniFormat)), device="cpu")
    win.resize(1200, 700)
    win.show()
    win.open_path(Path(scan), index=4)
    live = win.live
    tick = QTimer()
    tick.setInterval(10)
    tick.timeout.connect(lambda: None)
    tick.start()

    def pump(until, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            app.processEvents(QEventLoop.AllEvents | QEventLoop.WaitForMoreEvents, 10)
            if until():
                return True
        return False

    ready = pump(lambda: live.upscaler is not None and live.request is not None and live._current(live.bicubic) and not live.sr_pending(), 180)
    win.activateWindow()
    win.raise_()
    pump(lambda: False, 0.5)
    start = live.state.index
    thread_audit.reset()
    shown = []
    live.bicubic_shown.connect(lambda f: shown.append(f.request.key.index))
    wid = str(int(win.winId()))
    subprocess.run(["xdotool", "windowfocus", "--sync", wid], check=False, timeout=10)
    keys = subprocess.Popen(["xdotool", "key", "--delay", str(int(1000 / rate)), "--repeat", str(presses), "Up"])
    pump(lambda: keys.poll() is not None, 60)
    pump(lambda: live.state.index == start + presses and live._current(live.bicubic), 20)
    pump(lambda: False, 0.3)
    result = {
        "ready": ready,
        "start": start,
        "end": live.state.index,
        "shown": shown,
        "on_gui_thread": {k: thread_audit.on_main_thread(k) for k in thread_audit.KINDS},
        "off_gui_thread": {k: thread_audit.off_main_thread(k) for k in thread_audit.KINDS},
    }
    Path(out).write_text(json.dumps(result))
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])))
