"""Stack scrolling in the real window under Xvfb, with key repeats from xdotool:
every slice is shown, in order, and no slice is prepared, encoded or rendered on
the GUI thread.  (How long the GUI thread stalls is a benchmark number:
``python -m viewer.bench``.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_key_repeat_shows_every_slice_in_order_and_keeps_work_off_the_gui_thread(tmp_path):
    xvfb_run, xdotool = shutil.which("xvfb-run"), shutil.which("xdotool")
    if xvfb_run is None or xdotool is None:
        pytest.skip("needs Xvfb and xdotool (apt-get install xvfb xdotool)")
    from viewer.resources import SAMPLE_SCAN

    out = tmp_path / "seen.json"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["QT_QPA_PLATFORM"] = "xcb"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    presses = 15
    cmd = [xvfb_run, "-a", "-s", "-screen 0 1400x900x24", sys.executable, str(Path(__file__).with_name("xvfb_scroll_driver.py")),
           str(SAMPLE_SCAN), str(out), str(tmp_path / "s.ini"), str(presses), "30"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    seen = json.loads(out.read_text())
    assert seen["ready"], "the first Meta-SRGAN frame never came"
    start = seen["start"]
    assert seen["end"] == start + presses, f"{presses} Up keys moved {seen['end'] - start} slices"
    # each slice once, in order (the last may repeat after its SR frame: no other frame)
    assert list(dict.fromkeys(seen["shown"])) == list(range(start + 1, start + presses + 1)), seen["shown"]
    assert seen["on_gui_thread"] == {"slice": 0, "bicubic": 0, "encode": 0, "render": 0}
    assert seen["off_gui_thread"]["slice"] >= presses and seen["off_gui_thread"]["bicubic"] >= presses
