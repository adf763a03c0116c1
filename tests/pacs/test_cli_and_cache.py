"""``metazoom-pacs`` and ``metazoom-upscale --send`` against Orthanc; the retrieve cache
and the instance folder on their own."""

from __future__ import annotations

import os
import time

import pytest
from pydicom import dcmread

from engine.pacs import InstanceFolder, PacsLimitError, PacsProtocolError, ServerStore, files_to_send
from engine.pacs.cache import RetrieveCache, retrieve_to_cache
from engine.pacs.cli import main as pacs_main


def test_cli_configure_echo_find_get_send(pacs, tmp_path, capsys):
    address = pacs.orthanc.dicom_address
    assert pacs_main(["add", "local", address, "--ae", "METAZOOM"]) == 0
    assert ServerStore().get("local").address == address
    assert pacs_main(["servers"]) == 0
    assert f"local\t{address}\tAE METAZOOM" in capsys.readouterr().out

    assert pacs_main(["echo", "local"]) == 0
    assert "local (dicom://ORTHANC@" in capsys.readouterr().out
    assert pacs_main(["find", pacs.orthanc.web_address, "--patient", "VS-SEG", "--modality", "MR", "--date", "19940101-"]) == 0
    out = capsys.readouterr()
    assert pacs.study_uid in out.out and pacs.series_uid in out.out and "t1_mpr_tra_gk_v4" in out.out
    assert "1 studies" in out.err
    assert pacs_main(["find", "local", "--date", "tomorrow"]) == 2
    assert "dates" in capsys.readouterr().err

    assert pacs_main(["get", "local", "--study", pacs.study_uid, "-o", str(tmp_path / "got"), "-q"]) == 0
    got = sorted((tmp_path / "got" / pacs.series_uid).glob("*.dcm"))
    assert len(got) == len(pacs.files)
    assert f"{len(pacs.files)} instances of 1 series" in capsys.readouterr().err

    assert pacs_main(["get", "local", "--study", "1.2.3.4", "-o", str(tmp_path / "none"), "-q"]) == 1
    assert "local (dicom://" in capsys.readouterr().err

    assert pacs_main(["send", "local", str(tmp_path / "nothing-here")]) == 1
    assert pacs_main(["remove", "local"]) == 0 and ServerStore().get("local") is None


def test_cli_unreachable_names_server_and_reason(capsys):
    from engine.pacs.local_orthanc import free_port

    assert pacs_main(["echo", f"dicom://NOBODY@127.0.0.1:{free_port()}", "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("metazoom-pacs: error: dicom://NOBODY@127.0.0.1:") and "refused" in err


@pytest.mark.parametrize("transport", ["dimse", "web"])
def test_upscale_send_sends_only_the_derived_series(pacs, transport, tmp_path, capsys):
    from engine.batch import main as upscale

    src = tmp_path / "src"
    src.mkdir()
    for f in pacs.files[:3]:
        (src / f.name).write_bytes(f.read_bytes())
    address = pacs.server(transport).address
    rc = upscale([str(src), "--scale", "1.5", "--method", "bicubic", "--format", "dicom", "-o", str(tmp_path / "out"),
                  "--send", address, "--quiet", "--uid-seed", f"send-{transport}"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert f"sent 3 instances to {address}" in err
    written = files_to_send([tmp_path / "out"])
    series = {str(dcmread(f, stop_before_pixels=True).SeriesInstanceUID) for f in written}
    assert len(written) == 3 and len(series) == 1
    (derived,) = series
    assert len(pacs.orthanc.series_instances(derived)) == 3
    assert len(pacs.orthanc.series_instances(pacs.series_uid)) == len(pacs.files)  # nothing else went
    pacs.orthanc.delete("series", pacs.orthanc.lookup(derived)[0]["ID"])


def test_upscale_send_refuses_other_formats_and_unknown_servers(tmp_path, capsys):
    from engine.batch import main as upscale

    assert upscale(["x.nii.gz", "--scale", "2", "-o", str(tmp_path / "o.png"), "--send", "somewhere"]) == 2
    assert "--send sends a DICOM series" in capsys.readouterr().err
    assert upscale(["x.nii.gz", "--scale", "2", "--format", "dicom", "-o", str(tmp_path), "--send", "nowhere"]) == 1
    assert "nowhere: no server of that name" in capsys.readouterr().err


def test_instance_folder_is_atomic_and_safe(tmp_path):
    f = InstanceFolder(tmp_path / "s", "srv")
    p = f.add_bytes("1.2.3", b"x" * 200)
    assert p.name == "1.2.3.dcm" and not os.access(p, os.W_OK) or os.geteuid() == 0
    assert not (p.stat().st_mode & 0o222)
    assert f.add_bytes("1.2.3", b"other") == p and p.read_bytes() == b"x" * 200  # never rewritten
    for evil in ("../../etc/passwd", "1.2/../3", "", "1" * 65):
        with pytest.raises(PacsProtocolError) as e:
            f.add_bytes(evil, b"x")
        assert str(e.value).startswith("srv: ")
    small = InstanceFolder(tmp_path / "t", "srv", max_bytes=1000)
    small.add_bytes("1.1", b"x" * 600)
    with pytest.raises(PacsLimitError):
        small.add_bytes("1.2", b"x" * 600)
    assert [p.name for p in (tmp_path / "t").iterdir()] == ["1.1.dcm"]
    (tmp_path / "t" / ".1.3.99.part").write_bytes(b"half")  # a crash mid-write
    assert InstanceFolder(tmp_path / "t", "srv").files() == [tmp_path / "t" / "1.1.dcm"]
    assert not (tmp_path / "t" / ".1.3.99.part").exists()


def test_cache_evicts_least_recently_used_never_the_target(tmp_path):
    from engine.pacs import Server

    cache = RetrieveCache(tmp_path / "cache", max_mb=1)
    server = Server(name="s", address="dicom://A@h:1")
    folders = []
    for i in range(3):
        folder = cache.folder_for(server, "1.2", f"1.2.{i}")
        InstanceFolder(folder, "s").add_bytes("9.9", b"x" * 400_000)
        os.utime(folder, (time.time() - 100 + i, time.time() - 100 + i))
        folders.append(folder)
    target = folders[0]  # the oldest, but the one being retrieved
    removed = cache.make_room(target)
    assert removed == [folders[1]] and target.exists() and folders[2].exists()
    assert cache.size() <= cache.max_bytes
    assert cache.room_for(target) == cache.max_bytes - 400_000


def test_retrieve_to_cache(pacs, tmp_path):
    from engine.pacs import connect

    cache = RetrieveCache(tmp_path / "cache", max_mb=64)
    server = pacs.server("web")
    arrived = []
    r = retrieve_to_cache(connect(server), server, pacs.study_uid, pacs.series_uid, cache, on_file=arrived.append)
    assert r.folder == cache.folder_for(server, pacs.study_uid, pacs.series_uid)
    assert len(r.received) == len(arrived) == len(pacs.files)
    again = retrieve_to_cache(connect(server), server, pacs.study_uid, pacs.series_uid, cache, on_file=arrived.append)
    assert len(again.received) == len(pacs.files) and len(arrived) == len(pacs.files)  # nothing fetched twice


def test_cli_get_ctrl_c_keeps_whole_files(pacs, tmp_path, capsys, monkeypatch):
    import _thread

    written = []
    add = InstanceFolder.add_bytes

    def add_then_interrupt(self, uid, data):
        path = add(self, uid, data)
        written.append(path)
        if len(written) == 3:
            _thread.interrupt_main()  # Ctrl-C, whichever thread is writing
        return path

    monkeypatch.setattr(InstanceFolder, "add_bytes", add_then_interrupt)
    rc = pacs_main(["get", pacs.orthanc.dicom_address, "--study", pacs.study_uid, "-o", str(tmp_path / "got"), "-q"])
    if rc == 0:  # the retrieve finished before the interrupt landed: nothing to check
        pytest.skip("the retrieve was quicker than the interrupt")
    assert rc == 130
    err = capsys.readouterr().err
    kept = list((tmp_path / "got" / pacs.series_uid).glob("*.dcm"))
    assert 3 <= len(kept) and f"interrupted: {len(kept)} complete instance files kept" in err
    assert not list((tmp_path / "got" / pacs.series_uid).glob(".*"))
    for f in kept:
        assert dcmread(f).PixelData
