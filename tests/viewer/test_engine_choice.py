"""Which engine the window uses as choices load, work and fail (no Qt)."""

from __future__ import annotations

from pathlib import Path

from viewer.model.engine_choice import EngineChoice

BUNDLED = Path("/w/bundled.safetensors")
MINE = Path("/w/mine.safetensors")


def test_a_menu_choice_is_saved_once_it_works_and_only_what_it_changed():
    c = EngineChoice(BUNDLED, "auto", BUNDLED)
    first = c.start()
    assert c.loaded(first).save == frozenset() and c.in_use == (BUNDLED, "auto")
    load = c.choose_device("cpu")
    done = c.loaded(load)
    assert done.save == {"device"} and done.menus_changed and c.in_use == (BUNDLED, "cpu")


def test_the_newest_choice_wins_over_a_slower_older_one():
    c = EngineChoice(BUNDLED, "auto", BUNDLED)
    c.loaded(c.start())
    mps, cpu = c.choose_device("mps"), c.choose_device("cpu")
    assert c.loaded(cpu).save == {"device"}
    assert c.loaded(mps) is None  # dropped: the newer one is in use
    assert (c.device, c.in_use) == ("cpu", (BUNDLED, "cpu"))
    assert c.failed(mps, "late").outcome == "stale"


def test_a_device_choice_overtaken_by_a_weights_choice_is_still_saved():
    c = EngineChoice(BUNDLED, "auto", BUNDLED)
    c.loaded(c.start())
    c.choose_device("cpu")
    load = c.choose_weights(MINE)
    assert load.choice == (MINE, "cpu")
    assert c.loaded(load).save == {"device", "weights"}


def test_a_failed_switch_keeps_the_engine_in_use_and_saves_nothing():
    c = EngineChoice(BUNDLED, "cpu", BUNDLED)
    c.loaded(c.start())
    bad = c.choose_weights(MINE)
    assert c.failed(bad, "no such file").outcome == "kept"
    assert (c.weights, c.device, c.error) == (BUNDLED, "cpu", None)
    assert c.loaded(c.choose_device("auto")).save == {"device"}  # the failed weights choice is not saved later


def test_a_remembered_device_that_is_gone_falls_back_to_auto_then_bundled_weights():
    c = EngineChoice(MINE, "cuda", BUNDLED, from_settings=True)
    first = c.start()
    f = c.failed(first, "no CUDA")
    assert f.outcome == "retry" and f.retry.choice == (MINE, "auto") and "trying auto" in f.note
    f = c.failed(f.retry, "file moved")
    assert f.outcome == "retry" and f.retry.choice == (BUNDLED, "auto") and "using the bundled ones" in f.note
    f = c.failed(f.retry, "broken install")
    assert f.outcome == "unavailable" and c.error == "broken install" and c.in_use is None


def test_weights_chosen_by_the_user_never_fall_back_silently():
    c = EngineChoice(BUNDLED, "auto", BUNDLED, from_settings=True)
    load = c.choose_weights(MINE)
    assert c.failed(load, "not a weights file").outcome == "unavailable"
    assert c.weights == MINE and c.error == "not a weights file"


def test_a_working_start_up_engine_is_kept_when_a_choice_made_meanwhile_fails():
    c = EngineChoice(BUNDLED, "auto", BUNDLED)
    start = c.start()
    bad = c.choose_weights(MINE)
    assert c.failed(bad, "bad file").outcome == "unavailable"
    late = c.loaded(start)  # stale, but no engine is in use: it is used, and the menus show it
    assert late is not None and late.save == frozenset() and late.menus_changed
    assert (c.weights, c.error, c.in_use) == (BUNDLED, None, (BUNDLED, "auto"))
