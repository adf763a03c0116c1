"""Faults, each with a message naming the server and the reason, nothing half-written:
unreachable, rejected, vanished, partial, refused, flooded, cancelled, interrupted."""

from __future__ import annotations

import _thread
import errno
import signal
import time

import pytest
from pydicom import dcmread

from engine.pacs import (
    InstanceFolder,
    PacsLimitError,
    PacsNotFoundError,
    PacsPartialError,
    PacsRejectedError,
    PacsSendError,
    PacsUnreachableError,
    Query,
    Server,
    connect,
)
from engine.pacs.local_orthanc import free_port

from .conftest import UNKNOWN_SOP_CLASS, copies
from .fakes import flooding_find_scp, http_server, silent_server

TRANSPORTS = ["dimse", "web"]


def _complete(folder) -> None:
    """Every file in ``folder`` is a whole DICOM instance; no temporary file is left."""
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    for f in folder.iterdir():
        assert dcmread(f).PixelData


@pytest.mark.parametrize("address", ["dicom://PACS@127.0.0.1:{port}", "http://127.0.0.1:{port}/dicom-web"])
def test_closed_port_fails_at_once(address):
    server = Server(name="closed", address=address.format(port=free_port()), timeout=5)
    t0 = time.monotonic()
    with pytest.raises(PacsUnreachableError) as e:
        connect(server).echo()
    assert time.monotonic() - t0 < 3
    assert str(e.value).startswith("closed (") and ("refused" in e.value.reason or "cannot connect" in e.value.reason)


@pytest.mark.parametrize("scheme", ["dicom", "http"])
def test_silent_server_times_out_not_hangs(scheme):
    with silent_server() as (host, port):
        address = f"dicom://PACS@{host}:{port}" if scheme == "dicom" else f"http://{host}:{port}/dicom-web"
        server = Server(name="silent", address=address, timeout=0.5)
        t0 = time.monotonic()
        with pytest.raises(PacsUnreachableError) as e:
            connect(server).echo()
        assert time.monotonic() - t0 < 6
    assert "silent" in str(e.value) and "within" in e.value.reason


def test_wrong_called_ae_is_rejected(pacs):
    server = pacs.server("dimse", address=pacs.orthanc.dicom_address.replace("ORTHANC@", "WRONGAE@"))
    with pytest.raises(PacsRejectedError) as e:
        connect(server).echo()
    msg = str(e.value)
    assert msg.startswith("test-dimse (dicom://WRONGAE@") and "WRONGAE" in e.value.reason and "AE title" in e.value.reason


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_study_vanished_between_find_and_get(pacs, transport, tmp_path):
    files = copies(pacs.files[:2], tmp_path / "gone", new_study=True, name="GONE^SOON")
    ids = pacs.orthanc.upload(files)
    client = connect(pacs.server(transport))
    found = client.find_studies(Query(patient="GONE")).studies
    assert len(found) == 1
    study = found[0].study_uid
    series = client.find_series(study)[0].series_uid
    pacs.orthanc.delete("studies", pacs.orthanc.get(f"/instances/{ids[0]}/study").json()["ID"])
    with pytest.raises(PacsNotFoundError) as e:
        client.retrieve(study, series, InstanceFolder(tmp_path / "got", pacs.server(transport).label))
    assert study in e.value.reason and "not on the server" in e.value.reason and str(e.value).startswith(f"test-{transport}")
    assert list((tmp_path / "got").iterdir()) == []


class _FullDisk(InstanceFolder):
    """A folder where some instances cannot be written (the disk fills up midway)."""

    def __init__(self, *a, fail=(), **kw):
        super().__init__(*a, **kw)
        self.fail = set(fail)

    def add_bytes(self, sop_uid, data):
        if sop_uid in self.fail:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().add_bytes(sop_uid, data)


@pytest.mark.parametrize("transport", ["dimse", "web"])
def test_partial_retrieve_keeps_what_arrived_and_lists_the_rest(pacs, transport, tmp_path):
    uids = sorted(str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in pacs.files)
    fail = set(uids[2:5])
    folder = _FullDisk(tmp_path / "got", pacs.server(transport).label, fail=fail)
    with pytest.raises(PacsPartialError) as e:
        connect(pacs.server(transport)).retrieve(pacs.study_uid, pacs.series_uid, folder)
    assert set(e.value.missing) == fail
    assert len(e.value.received) == len(uids) - len(fail)
    assert "3 of 12 instances did not arrive" in e.value.reason and "No space left" in e.value.reason
    _complete(tmp_path / "got")


def test_partly_refused_send_dimse(pacs, tmp_path):
    files = copies(pacs.files[:4], tmp_path / "derived", refuse=(1, 3))
    with pytest.raises(PacsSendError) as e:
        connect(pacs.server("dimse")).store(files)
    assert sorted(f for f, _ in e.value.refused) == [files[1], files[3]]
    assert "does not accept" in e.value.refused[0][1] and UNKNOWN_SOP_CLASS in e.value.refused[0][1]
    assert sorted(e.value.sent) == [files[0], files[2]]
    assert "refused 2 of 4 instances" in e.value.reason and str(e.value).startswith("test-dimse (")
    series = str(dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
    assert len(pacs.orthanc.series_instances(series)) == 2
    pacs.orthanc.delete("series", pacs.orthanc.lookup(series)[0]["ID"])


def test_partly_refused_send_web(tmp_path, pacs):
    """STOW-RS answered with 409 and a FailedSOPSequence for two of four instances (the
    answer Orthanc's DICOMweb plugin gives when it refuses some)."""
    import json

    files = copies(pacs.files[:4], tmp_path / "derived")
    refused = [str(dcmread(files[i], stop_before_pixels=True).SOPInstanceUID) for i in (1, 3)]
    answer = json.dumps({"00081198": {"vr": "SQ", "Value": [
        {"00081155": {"vr": "UI", "Value": [u]}, "00081197": {"vr": "US", "Value": [0xA700]}} for u in refused]}}).encode()

    def respond(h):
        return 409, {"Content-Type": "application/dicom+json"}, answer

    with http_server(respond) as (url, seen):
        with pytest.raises(PacsSendError) as e:
            connect(Server(name="stow", address=url)).store(files)
    assert seen[0][0] == "POST" and seen[0][1].endswith("/studies")
    assert sorted(f for f, _ in e.value.refused) == [files[1], files[3]]
    assert e.value.refused[0][1] == "failure reason 0xA700"
    assert sorted(e.value.sent) == [files[0], files[2]]
    assert str(e.value).startswith("stow (") and "refused 2 of 4" in e.value.reason


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_find_is_bounded(pacs, transport, tmp_path):
    ids = []
    for i in range(4):
        ids += pacs.orthanc.upload(copies(pacs.files[:1], tmp_path / f"s{i}", new_study=True, name=f"MANY^{i}"))
    try:
        found = connect(pacs.server(transport)).find_studies(Query(patient="MANY"), limit=3)
        assert len(found.studies) == 3 and found.truncated
        found = connect(pacs.server(transport)).find_studies(Query(patient="MANY"), limit=4)
        assert len(found.studies) == 4 and not found.truncated
    finally:
        for i in ids:
            pacs.orthanc.delete("studies", pacs.orthanc.get(f"/instances/{i}/study").json()["ID"])


def test_flooding_dimse_server_is_cut_off():
    with flooding_find_scp(100000) as (port, sent):
        server = Server(name="flood", address=f"dicom://FLOOD@127.0.0.1:{port}", timeout=5)
        t0 = time.monotonic()
        found = connect(server).find_studies(Query(), limit=200)
        assert time.monotonic() - t0 < 20
    assert len(found.studies) == 200 and found.truncated and sent[0] < 100000


def test_flooding_web_server_is_cut_off():
    import json

    many = json.dumps([{"0020000D": {"vr": "UI", "Value": [f"1.2.3.{i}"]}} for i in range(20000)]).encode()

    def respond(h):
        if "/studies" in h.path and "huge" not in h.path:
            return 200, {"Content-Type": "application/dicom+json"}, many
        return 404, {}, b""

    with http_server(respond) as (url, _):
        found = connect(Server(name="flood", address=url)).find_studies(Query(), limit=100)
    assert len(found.studies) == 100 and found.truncated


def test_absurd_declared_size_is_refused_before_reading():
    def respond(h):
        return 200, {"Content-Type": "application/dicom+json", "Content-Length": str(10**13)}, b"[]"

    with http_server(respond) as (url, _):
        with pytest.raises(PacsLimitError) as e:
            connect(Server(name="liar", address=url, timeout=2)).find_studies(Query())
    assert str(e.value).startswith("liar (") and "MB" in e.value.reason


def test_retrieve_bigger_than_the_cache_is_stopped(pacs, tmp_path):
    folder = InstanceFolder(tmp_path / "got", "small", max_bytes=3 * 2**20)  # room for ~5 of the 12
    with pytest.raises(PacsLimitError):
        connect(pacs.server("web")).retrieve(pacs.study_uid, pacs.series_uid, folder)
    assert 0 < len(list((tmp_path / "got").iterdir())) < len(pacs.files)
    _complete(tmp_path / "got")


@pytest.mark.parametrize("transport", ["dimse", "move", "web"])
def test_cancel_midway_keeps_whole_files(pacs, transport, tmp_path):
    import threading

    cancel = threading.Event()

    def progress(done, total):
        if done >= 3:
            cancel.set()

    client = connect(pacs.server(transport))
    r = client.retrieve(pacs.study_uid, pacs.series_uid, InstanceFolder(tmp_path / "got", "t"), cancel, progress)
    assert r.cancelled and 3 <= len(r.received) < len(pacs.files)
    assert len(r.missing) == len(pacs.files) - len(r.received)
    _complete(tmp_path / "got")
    assert client.echo() < 5  # the server is fine afterwards


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ctrl_c_midway_keeps_whole_files(pacs, transport, tmp_path):
    arrived = []

    def on_file(p):
        arrived.append(p)
        if len(arrived) == 3:
            _thread.interrupt_main()  # as Ctrl-C does, whichever thread is writing

    folder = InstanceFolder(tmp_path / "got", "t", on_file=on_file)
    # a process started in the background by a non-interactive shell ignores SIGINT, and
    # interrupt_main then does nothing: give this test Python's own Ctrl-C handler
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            connect(pacs.server(transport)).retrieve(pacs.study_uid, pacs.series_uid, folder)
            time.sleep(5)  # (the interrupt lands here if the retrieve was quicker)
    finally:
        signal.signal(signal.SIGINT, previous)
    time.sleep(0.3)
    assert 3 <= len(list((tmp_path / "got").glob("*.dcm")))
    _complete(tmp_path / "got")


@pytest.mark.parametrize("transport", ["dimse", "web"])
def test_instances_deleted_midway_are_listed(pacs, transport, tmp_path):
    """The server loses two instances between our instance search and the retrieve: the
    others arrive and are kept, the two are named."""
    files = copies(pacs.files[:5], tmp_path / "src", new_study=True, name="MIDWAY^GONE")
    ids = pacs.orthanc.upload(files)
    uids = [str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files]
    head = dcmread(files[0], stop_before_pixels=True)
    client = connect(pacs.server(transport))
    listed = client.expected

    def expected_then_delete(*a):
        out = listed(*a)
        for i in (1, 3):
            pacs.orthanc.delete("instances", ids[i])
        return out

    client.expected = expected_then_delete
    try:
        with pytest.raises(PacsPartialError) as e:
            client.retrieve(str(head.StudyInstanceUID), str(head.SeriesInstanceUID), InstanceFolder(tmp_path / "got", "t"))
        assert sorted(e.value.missing) == sorted([uids[1], uids[3]])
        assert sorted(p.stem for p in e.value.received) == sorted([uids[0], uids[2], uids[4]])
        assert "2 of 5 instances did not arrive" in e.value.reason
        _complete(tmp_path / "got")
    finally:
        pacs.orthanc.delete("studies", pacs.orthanc.get(f"/instances/{ids[0]}/study").json()["ID"])
