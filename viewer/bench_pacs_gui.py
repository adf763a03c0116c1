"""The Open from PACS dialog's search over many studies, timed with an event-loop
heartbeat: prints ``{"rows", "seconds", "max_stall_ms", "max_turn_cpu_ms"}`` as JSON
(the longest gap between 2 ms heartbeats, wall clock; and the most CPU time the GUI
thread spent on one slice of rows, which a loaded machine does not inflate).

    python -m viewer.bench_pacs_gui SERVER PATIENT

Run by ``python -m engine.pacs.bench`` (a child process: the engine never imports Qt).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv=None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    from engine.pacs import ServerStore

    from .settings import Settings
    from .widgets.pacs_dialog import OpenFromPacsDialog

    server, patient = (argv or sys.argv[1:])[:2]
    app = QApplication.instance() or QApplication([])
    import tempfile

    folder = tempfile.mkdtemp(prefix="metazoom-bench-gui-")
    win = QMainWindow()
    win.settings = Settings(QSettings(os.path.join(folder, "s.ini"), QSettings.IniFormat))
    dlg = OpenFromPacsDialog(win, store=ServerStore(os.path.join(folder, "servers.json")))
    dlg.show()
    dlg.server.setCurrentText(server)
    dlg.patient.setText(patient)
    beats, gaps = [time.perf_counter()], []

    def beat():
        now = time.perf_counter()
        gaps.append(now - beats[-1])
        beats.append(now)

    turns = []  # the GUI thread's own CPU time per slice of rows: what the dialog controls
    fill = dlg._fill_some

    def timed_fill():
        c0 = time.thread_time()
        fill()
        turns.append(time.thread_time() - c0)

    dlg._fill_timer.timeout.disconnect()
    dlg._fill_timer.timeout.connect(timed_fill)
    timer = QTimer()
    timer.setInterval(2)
    timer.timeout.connect(beat)
    timer.start()
    t0 = time.perf_counter()
    dlg.start_search()
    deadline = t0 + 120
    while time.perf_counter() < deadline and (dlg.results.topLevelItemCount() == 0 or dlg._pending or dlg._fill_timer.isActive()):
        app.processEvents()
        time.sleep(0.001)
    seconds = time.perf_counter() - t0
    timer.stop()
    print(json.dumps({"rows": dlg.results.topLevelItemCount(), "seconds": seconds,
                      "max_stall_ms": 1000 * max(gaps[1:] or [0.0]), "max_turn_cpu_ms": 1000 * max(turns or [0.0])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
