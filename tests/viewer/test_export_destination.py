"""The export dialog's proposed destination is never inside the scan's own folders.  No Qt."""

from __future__ import annotations

from viewer.model.export_destination import FOLDER_NAME, default_destination


def test_the_proposal_skips_the_scan_folders(tmp_path):
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    data = tmp_path / "data" / "study"
    series = data / "series1"
    series.mkdir(parents=True)
    files = [series / "im1.dcm", series / "im2.dcm"]
    # a remembered folder outside the data is proposed again
    assert default_destination(tmp_path / "out", data, files, home) == tmp_path / "out"
    # inside the folder opened, or beside the files: the standard folder instead
    assert default_destination(data / "exports", data, files, home) == home / "Documents" / FOLDER_NAME
    assert default_destination(series, files[0], files, home) == home / "Documents" / FOLDER_NAME
    assert default_destination(None, files[0], files, home) == home / "Documents" / FOLDER_NAME
    # scans kept under the home folder itself: not there either
    assert default_destination(None, home, [home / "scan.nii.gz"], home).parent != home
    assert not default_destination(None, home, [home / "scan.nii.gz"], home).is_relative_to(home)
