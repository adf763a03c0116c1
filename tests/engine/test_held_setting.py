"""HeldSetting: a process-wide setting applied by the first user and undone by the last."""

import threading

from engine.held_setting import HeldSetting


def test_the_setting_is_applied_once_and_undone_when_the_last_user_leaves():
    log = []
    setting = HeldSetting(lambda: log.append("apply") or len(log), lambda token: log.append(("undo", token)))
    with setting.held():
        with setting.held():  # a second user (another thread, or nested)
            assert log == ["apply"]
        assert log == ["apply"]  # still held by the first
    assert log == ["apply", ("undo", 1)]
    with setting.held():
        pass
    assert log[-2:] == ["apply", ("undo", 3)]


def test_threads_share_one_application():
    applied, inside, release = [], threading.Barrier(4), threading.Event()
    setting = HeldSetting(lambda: applied.append(1), lambda token: applied.append(-1))

    def user():
        with setting.held():
            inside.wait(5)
            release.wait(5)

    threads = [threading.Thread(target=user) for _ in range(3)]
    for t in threads:
        t.start()
    inside.wait(5)  # all three are inside
    assert applied == [1]
    release.set()
    for t in threads:
        t.join(5)
    assert applied == [1, -1]
