"""A real PACS for the tests: Orthanc (Debian's ``orthanc`` and ``orthanc-dicomweb``)
started on free loopback ports with a generated configuration, loaded with a subset of
a real MR series through its REST API, stopped at the end.  Skips with the reason when
Orthanc or the data is absent."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from engine.pacs.local_orthanc import LocalOrthanc, dicomweb_plugin, free_port, orthanc_binary
from tests.conftest import shared_data

SERIES = ("dicom", "vs-seg-001-t1")
#: every 10th slice of the 120: a real series, small enough for fast tests
STEP = 10
OUR_AE = "METAZOOM"
#: a private SOP class: Orthanc does not accept it (a partly refused send)
UNKNOWN_SOP_CLASS = "1.2.826.0.1.3680043.10.999.1"


def need_orthanc() -> None:
    if orthanc_binary() is None:
        pytest.skip("needs Orthanc (Debian: apt-get install orthanc orthanc-dicomweb; `make system-deps`)")
    if dicomweb_plugin() is None:
        pytest.skip("needs Orthanc's DICOMweb plugin (Debian: apt-get install orthanc-dicomweb)")


@dataclass
class Pacs:
    orthanc: LocalOrthanc
    files: list[Path]
    study_uid: str
    series_uid: str
    move_port: int

    def server(self, transport: str, **kw):
        from engine.pacs import Server

        address = self.orthanc.web_address if transport == "web" else self.orthanc.dicom_address
        s = Server(name=f"test-{transport}", address=address, calling_ae=OUR_AE, move_port=self.move_port,
                   move_host="127.0.0.1", timeout=10.0, retrieve="move" if transport == "move" else "get")
        return replace(s, **kw) if kw else s


def source_files() -> list[Path]:
    folder = shared_data(*SERIES)
    files = sorted(folder.glob("*.dcm"))
    if len(files) < 100:
        pytest.skip(f"{folder} holds {len(files)} files, expected 120")
    return files[::STEP]


@pytest.fixture(scope="session")
def pacs():
    need_orthanc()
    files = source_files()
    from pydicom import dcmread

    head = dcmread(files[0], stop_before_pixels=True)
    move_port = free_port()
    orthanc = LocalOrthanc(modalities={"metazoom": [OUR_AE, "127.0.0.1", move_port]})
    orthanc.start()
    try:
        orthanc.upload(files)
        yield Pacs(orthanc, files, str(head.StudyInstanceUID), str(head.SeriesInstanceUID), move_port)
    finally:
        orthanc.stop()


@pytest.fixture(autouse=True)
def _own_server_list(tmp_path, monkeypatch):
    """Each test gets an empty server list of its own, never the user's."""
    monkeypatch.setenv("METAZOOM_PACS_SERVERS", str(tmp_path / "config" / "pacs-servers.json"))
    for k in [k for k in __import__("os").environ if k.startswith("METAZOOM_PACS_SECRET")]:
        monkeypatch.delenv(k)


def copies(files, folder: Path, new_study: bool = False, refuse: tuple[int, ...] = (), name: str | None = None) -> list[Path]:
    """Copies of ``files`` as a new series (and a new study with ``new_study``), new
    instance UIDs; those at the positions in ``refuse`` get a SOP class no server knows
    (Orthanc refuses them)."""
    from pydicom import dcmread
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    out = []
    for i, f in enumerate(files):
        ds = dcmread(f)
        if new_study:
            ds.StudyInstanceUID = study
        if name:
            ds.PatientName = name
        ds.SeriesInstanceUID = series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        if i in refuse:
            ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UNKNOWN_SOP_CLASS
        out.append(folder / f"{i:03d}.dcm")
        ds.save_as(out[-1], enforce_file_format=True)
    return out
