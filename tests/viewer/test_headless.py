"""``metazoom PATH --screenshot``: bad files exit 1 with the reason (never a signal),
a folder of several series fails at once naming them, the user's settings stay."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .fakes import synthetic_volume, write_nifti

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path, *args, timeout=180):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "viewer", *map(str, args), "--screenshot", str(tmp_path / "out.png"),
           "--settings", str(tmp_path / "user.ini"), "--device", "cpu", "--timeout", "60", "--size", "800x500"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_a_bad_file_exits_1_with_the_reason(tmp_path):
    """pydicom's no_meta.dcm failed fast enough that the process exited while the
    engine was still loading on a worker: SIGABRT (134).  (The whole test-file folder:
    ``python -m viewer.bench_headless``.)"""
    from pydicom.data import get_testdata_file

    bad = get_testdata_file("no_meta.dcm", download=False)
    if bad is None:
        pytest.skip("pydicom's test files are not installed")
    p = _run(tmp_path, bad)
    assert p.returncode == 1, p.stderr[-2000:]
    assert "neither NIfTI" in p.stderr and "Signal source" not in p.stderr and "terminate called" not in p.stderr


@pytest.mark.slow
def test_several_volumes_fail_at_once_naming_the_choices_and_settings_stay(tmp_path):
    import nibabel as nib
    import numpy as np

    from PySide6.QtCore import QSettings

    from viewer.settings import Settings

    user = Settings(QSettings(str(tmp_path / "user.ini"), QSettings.IniFormat))
    user.compare_mode = "single"
    user.sync()
    before = (tmp_path / "user.ini").read_bytes()
    vol = synthetic_volume(shape=(40, 36, 5))
    data = np.stack([vol.voxels, vol.voxels * 2, vol.voxels * 3], axis=3)
    four_d = tmp_path / "fmri.nii.gz"
    nib.save(nib.Nifti1Image(data, vol.affine), four_d)
    p = _run(tmp_path, four_d)
    assert p.returncode == 1 and "--volume N (1 to 3)" in p.stderr, p.stderr[-2000:]
    p = _run(tmp_path, four_d, "--volume", "2", "--compare", "difference", "--zoom", "2")
    assert p.returncode == 0, p.stderr[-2000:]
    assert (tmp_path / "user.ini").read_bytes() == before  # no compare mode, window size or recent file written
