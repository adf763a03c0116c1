"""Viewer fixtures: a main window on a temporary settings file and a fake engine."""

from __future__ import annotations

import pytest

from .fakes import RecordingUpscaler, synthetic_volume


@pytest.fixture
def qsettings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "metazoom.ini"), QSettings.IniFormat)


@pytest.fixture
def settings(qsettings):
    from viewer.settings import Settings

    return Settings(qsettings)


@pytest.fixture
def fake_upscaler():
    return RecordingUpscaler()


@pytest.fixture
def phantom_scan():
    from viewer.scan.scan import Scan

    return Scan(synthetic_volume(), label="phantom")


@pytest.fixture
def make_window(qtbot, settings):
    """``make_window(upscaler=..., size=(w, h))`` -> a shown MainWindow."""
    made = []

    def make(upscaler=None, size=(1000, 560)):
        from viewer.widgets.main_window import MainWindow

        win = MainWindow(settings, upscaler=upscaler or RecordingUpscaler())
        qtbot.addWidget(win, before_close_func=lambda w: _finish_background_jobs(qtbot, w))
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        made.append(win)
        return win

    yield make
    for win in made:
        win.live.shutdown()


def _finish_background_jobs(qtbot, win, timeout=30000):
    """Let the window's background jobs (scan opening, weights, MR presets) deliver before
    the window closes: a job still running when it closes reports to a deleted object."""
    from viewer.widgets.background import Background

    qtbot.waitUntil(lambda: all(b.busy == 0 for b in win.findChildren(Background)), timeout=timeout)


def wait_frames(qtbot, live, timeout=10000):
    """Until the current request's bicubic frame and (if wanted) SR frame are shown."""
    qtbot.waitUntil(lambda: live.request is not None and live._current(live.bicubic) and not live.sr_pending(), timeout=timeout)


@pytest.fixture
def window(make_window, phantom_scan, qtbot):
    win = make_window()
    win.show_scan(phantom_scan)
    wait_frames(qtbot, win.live)
    return win


# -- leaks ------------------------------------------------------------------------------
# Every viewer test must leave no top-level widget and no Python thread behind: a window
# left open keeps its workers, timers and mailboxes alive into the next test, where a
# late worker posting to a deleted mailbox crashes the whole run.  A test that keeps
# something on purpose says so with ``@pytest.mark.leaks_ok("why")``.
# (The viewer's workers are Python threads; it starts no QThread, so there are none to count.)

#: How long the check waits for threads to end (workers finish the job in flight).
LEAK_JOIN_S = 5.0
#: Threads that live as long as the process, started lazily by libraries.
PROCESS_THREADS = ("TMonitor",)  # tqdm's monitor


def pytest_configure(config):
    config.addinivalue_line("markers", "leaks_ok(reason): the test leaves a top-level widget or a thread alive on purpose")


def _flush_qt(app) -> None:
    from PySide6.QtCore import QEvent

    for _ in range(3):  # a deletion may post further deletions (children, timers)
        app.sendPostedEvents(None, QEvent.DeferredDelete)
        app.processEvents()


def _leaked_threads(before: set, timeout_s: float) -> tuple[list, list]:
    """New threads still alive after ``timeout_s``, and the errors that ended new threads
    meanwhile (a worker that outlived its window fails when it reports to it)."""
    import threading
    import time

    deadline = time.monotonic() + timeout_s
    new = [t for t in threading.enumerate() if t not in before and type(t).__name__ not in PROCESS_THREADS]
    errors, hook = [], threading.excepthook
    threading.excepthook = lambda args: errors.append(f"{args.thread.name!r} failed after the test: {args.exc_type.__name__}: {args.exc_value}")
    try:
        for t in new:
            t.join(max(0.0, deadline - time.monotonic()))
    finally:
        threading.excepthook = hook
    return [t for t in new if t.is_alive()], errors


@pytest.fixture(autouse=True)
def _no_leaks(request, qapp):
    """Fails the test if it leaves new top-level widgets or live threads (pytest-qt has
    closed and deleted the widgets given to ``qtbot.addWidget`` by then)."""
    import threading

    if request.node.get_closest_marker("leaks_ok") is not None:
        yield
        return
    _flush_qt(qapp)
    widgets_before = list(qapp.topLevelWidgets())
    threads_before = set(threading.enumerate())
    yield
    _flush_qt(qapp)
    widgets = [w for w in qapp.topLevelWidgets() if not any(w is b for b in widgets_before)]
    threads, thread_errors = _leaked_threads(threads_before, LEAK_JOIN_S)
    _flush_qt(qapp)  # threads that ended may have posted their last callbacks
    widgets = [w for w in widgets if w in qapp.topLevelWidgets()]
    problems = [f"widget {type(w).__name__} {w.objectName() or w.windowTitle()!r}" for w in widgets]
    for w in widgets:  # report once: the next test starts clean
        w.close()
        w.deleteLater()
    _flush_qt(qapp)
    problems += [f"thread {t.name!r} ({'daemon' if t.daemon else 'not daemon'})" for t in threads]
    problems += [f"thread {e}" for e in thread_errors]
    if problems:
        pytest.fail("left behind: " + "; ".join(problems) + " (close windows with qtbot.addWidget, stop workers; or mark the "
                    "test leaks_ok)", pytrace=False)
