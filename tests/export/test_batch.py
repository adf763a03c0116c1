"""``metazoom-upscale``: exit codes, one-line messages, parallel jobs, Ctrl-C."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nibabel as nib
import pytest

from engine.batch import main

from .conftest import make_nifti


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_nifti_in_nifti_out(nifti_volume, tmp_path, capsys, small_weights):
    src = nifti_volume.source[0]
    out = tmp_path / "out" / "big.nii.gz"
    code, err = _run([src, "--scale", 2, "-o", out, "--weights", small_weights, "--device", "cpu",
                      "--include-bicubic", "-q"], capsys)
    assert code == 0, err
    assert nib.load(str(out)).shape == (48, 40, 3)
    assert nib.load(str(tmp_path / "out" / "big_bicubic.nii.gz")).shape == (48, 40, 3)


def test_dicom_folder_to_dicom_slices_and_note_above_x4(dicom_series, tmp_path, capsys, small_weights):
    paths, _ = dicom_series
    code, err = _run([paths[0].parent, "--scale", 5, "-o", tmp_path / "o", "--slices", "1:3", "--weights",
                      small_weights, "--device", "cpu"], capsys)
    assert code == 0, err
    assert "above Meta-SRGAN's range" in err and "2 slices" in err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["src_x5_sr_0002.dcm", "src_x5_sr_0003.dcm"]  # --slices 1:3 counts from 0, names from 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--scale", "0.5"], "Meta-SRGAN enlarges"),
        (["--scale", "2", "--slices", "a:b"], "slices must be"),
        (["--scale", "2", "--jobs", "0"], "--jobs"),
    ],
)
def test_bad_arguments_exit_2(nifti_volume, tmp_path, capsys, extra, message):
    code, err = _run([nifti_volume.source[0], "-o", tmp_path / "o.nii", *extra], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_file_output_for_several_inputs_is_refused(tmp_path, capsys):
    a, b = make_nifti(tmp_path / "a.nii"), make_nifti(tmp_path / "b.nii")
    code, err = _run([a.source[0], b.source[0], "--scale", "2", "-o", tmp_path / "x.nii.gz", "--method", "bicubic"], capsys)
    assert code == 2 and "give a folder" in err


def test_failures_are_one_line_and_other_inputs_still_run(nifti_volume, tmp_path, capsys):
    src = nifti_volume.source[0]
    before = src.read_bytes()
    out = tmp_path / "outs"
    out.mkdir()
    (out / "scan_x2_bicubic.nii.gz").write_bytes(b"old")
    missing = tmp_path / "nope.nii.gz"
    code, err = _run([missing, src, "--scale", 2, "-o", out, "--method", "bicubic", "-q"], capsys)
    assert code == 1
    assert "already exists" in err and "nope.nii.gz" in err
    # the source itself as the target: refused even with --overwrite
    code, err = _run([src, "--scale", 2, "-o", src, "--method", "bicubic", "--overwrite", "-q"], capsys)
    assert code == 1 and "source" in err
    assert src.read_bytes() == before


def test_ctrl_c_exits_130_and_leaves_nothing(dicom_series, tmp_path, capsys, monkeypatch):
    import engine.export.run as run_mod

    paths, _ = dicom_series
    calls = {"n": 0}
    real = run_mod.enlarge

    def interrupt(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(run_mod, "enlarge", interrupt)
    code, err = _run([paths[0].parent, "--scale", 2, "-o", tmp_path / "o", "--method", "bicubic"], capsys)
    assert code == 130 and "interrupted" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow  # two spawned processes, each importing torch
def test_parallel_jobs(tmp_path, capsys):
    inputs = [make_nifti(tmp_path / f"in{i}.nii.gz", seed=i).source[0] for i in range(2)]
    code, err = _run([*inputs, "--scale", 2, "-o", tmp_path / "out", "--method", "bicubic", "--jobs", 2,
                      "--format", "tiff", "--plane", "sagittal"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "in0_x2_sagittal_bicubic.tif", "in1_x2_sagittal_bicubic.tif"]
    assert "2 of 2 series exported" in err


def test_console_script_in_a_subprocess(nifti_volume, tmp_path):
    exe = Path(sys.executable).parent / "metazoom-upscale"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.batch"]
    out = tmp_path / "o.nii"
    r = subprocess.run([*cmd, str(nifti_volume.source[0]), "--scale", "3", "-o", str(out), "--method", "bicubic"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert nib.load(str(out)).shape == (72, 60, 3)
    assert "1 of 1 series exported" in r.stderr and "Traceback" not in r.stderr
