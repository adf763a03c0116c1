"""Never touch the source, never overwrite without being asked, never leave half a file."""

from __future__ import annotations

import errno
import io
import os

import pytest

import engine.export.paths as paths_mod
from engine.export import ExportRequest, ExportWriteError, SourceTargetError, TargetExistsError, run_export
from engine.export.paths import STAGING_PREFIX, Staging


def _run(req):
    *_, last = run_export(req)
    return last


def _tree(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) if folder.exists() else []


def test_refuses_the_source_file_even_with_overwrite(nifti_volume):
    src = nifti_volume.source[0]
    before = src.read_bytes()
    for overwrite in (False, True):
        with pytest.raises(SourceTargetError, match="source"):
            _run(ExportRequest(nifti_volume, src, None, 2.0, "nifti", overwrite=overwrite))
    # also through another spelling of the same path and a hard link
    alias = src.parent / "sub" / ".." / src.name
    (src.parent / "sub").mkdir()
    with pytest.raises(SourceTargetError):
        _run(ExportRequest(nifti_volume, alias, None, 2.0, "nifti", overwrite=True))
    link = src.parent / "link.nii.gz"
    os.link(src, link)
    with pytest.raises(SourceTargetError):
        _run(ExportRequest(nifti_volume, link, None, 2.0, "nifti", overwrite=True))
    assert src.read_bytes() == before


def test_refuses_writing_into_the_source_dicom_folder(dicom_series, tmp_path):
    paths, vol = dicom_series
    before = {p: p.read_bytes() for p in paths}
    for dest in (paths[0].parent, paths[0].parent / "sub", paths[0]):
        fmt = "dicom" if dest != paths[0] else "nifti"
        with pytest.raises(SourceTargetError):
            _run(ExportRequest(vol, dest, None, 2.0, fmt, overwrite=True))
    assert {p: p.read_bytes() for p in paths} == before
    assert _tree(paths[0].parent) == sorted(p.name for p in paths)


def test_never_overwrites_without_permission(nifti_volume, tmp_path):
    dest = tmp_path / "out.nii.gz"
    dest.write_bytes(b"precious")
    with pytest.raises(TargetExistsError, match="overwrite"):
        _run(ExportRequest(nifti_volume, dest, None, 2.0, "nifti"))
    assert dest.read_bytes() == b"precious"
    last = _run(ExportRequest(nifti_volume, dest, None, 2.0, "nifti", overwrite=True))
    assert last.outputs == (dest,) and dest.read_bytes() != b"precious"


class _FullDisk(io.FileIO):
    """A file on a disk that fills up after ``limit`` bytes (ENOSPC)."""

    limit = 3000
    written = 0

    def write(self, b):
        if _FullDisk.written + len(b) > self.limit:
            raise OSError(errno.ENOSPC, "No space left on device")
        _FullDisk.written += len(b)
        return super().write(b)


@pytest.mark.parametrize("fmt", ["nifti", "dicom", "png", "tiff"])
def test_full_disk_leaves_nothing(dicom_series, tmp_path, monkeypatch, fmt):
    _, vol = dicom_series
    _FullDisk.written = 0
    monkeypatch.setattr(paths_mod, "_open_new", lambda p: _FullDisk(p, "xb"))
    dest = tmp_path / "new" / "deeper"
    with pytest.raises(ExportWriteError, match="No space left on device") as e:
        _run(ExportRequest(vol, dest, None, 2.0, fmt, include_bicubic=True))
    assert e.value.errno == errno.ENOSPC
    assert not (tmp_path / "new").exists()  # even the folders the export created are gone


def test_full_disk_in_an_existing_folder_keeps_its_files(nifti_volume, tmp_path, monkeypatch):
    (tmp_path / "keep.txt").write_text("mine")
    _FullDisk.written = 0
    monkeypatch.setattr(paths_mod, "_open_new", lambda p: _FullDisk(p, "xb"))
    with pytest.raises(ExportWriteError):
        _run(ExportRequest(nifti_volume, tmp_path, None, 2.0, "png"))
    assert _tree(tmp_path) == ["keep.txt", "scan.nii.gz"]


def test_cancel_between_slices_leaves_nothing(dicom_series, tmp_path):
    _, vol = dicom_series
    gen = run_export(ExportRequest(vol, tmp_path / "out", None, 2.0, "dicom"))
    seen = [next(gen), next(gen)]  # "preparing", then slice 1 of 3 written (staged)
    assert (seen[1].done, seen[1].total) == (1, 3)
    assert any(p.name.startswith(STAGING_PREFIX) for p in (tmp_path / "out").iterdir())
    gen.close()  # the GUI's cancel
    assert not (tmp_path / "out").exists()


def test_ctrl_c_leaves_nothing(dicom_series, tmp_path, monkeypatch):
    _, vol = dicom_series
    import engine.export.run as run_mod

    calls = {"n": 0}
    real = run_mod.enlarge

    def interrupted(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(run_mod, "enlarge", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(ExportRequest(vol, tmp_path, None, 2.0, "tiff"))
    assert _tree(tmp_path) == ["src", *sorted(f"src/{p.name}" for p in (tmp_path / "src").iterdir())]


def test_commit_rolls_back_when_a_rename_fails(tmp_path, monkeypatch):
    (tmp_path / "b.txt").write_text("old b")
    real = os.replace
    with Staging(tmp_path, overwrite=True) as st:
        for name in ("a.txt", "b.txt", "c.txt"):
            with st.open(tmp_path / name) as f:
                f.write(name.encode())

        def failing(src, dst):
            if str(dst).endswith("c.txt"):
                raise OSError(errno.EIO, "I/O error")
            return real(src, dst)

        monkeypatch.setattr(os, "replace", failing)
        with pytest.raises(OSError):
            st.commit()
    monkeypatch.setattr(os, "replace", real)
    assert _tree(tmp_path) == ["b.txt"] and (tmp_path / "b.txt").read_text() == "old b"
