"""File > Open from PACS… and the export dialog's "Send to PACS", against Orthanc."""

from __future__ import annotations

import time

import pytest
from pydicom import dcmread

from tests.pacs.conftest import _own_server_list, pacs  # noqa: F401  (fixtures: a real Orthanc, an empty server list)
from viewer.model.pacs_search import query_from_form, send_question, study_row

from .conftest import wait_frames


def test_form_to_query():
    q = query_from_form(" doe ", "Any", "2020-01-01", "2020-12-31")
    assert (q.patient, q.modality, q.dates) == ("doe", "", "20200101-20201231")
    assert query_from_form(date_from="20200101").dates == "20200101-"
    assert query_from_form(date_to="2020-01-01", modality="MR").dates == "-20200101"
    assert query_from_form(date_from="20200101", date_to="20200101").dates == "20200101"
    for bad in (dict(date_from="2020-1-1"), dict(date_from="20201231", date_to="20200101")):
        with pytest.raises(ValueError):
            query_from_form(**bad)
    assert "hospital (https://pacs/dicom-web)" in send_question(3, "hospital (https://pacs/dicom-web)")


def _dialog(win, pacs, tmp_path, transport="web"):
    from engine.pacs import ServerStore
    from engine.pacs.cache import RetrieveCache
    from viewer.widgets.pacs_dialog import OpenFromPacsDialog

    store = ServerStore()
    store.save(pacs.server(transport, name="orthanc"))
    dlg = OpenFromPacsDialog(win, store=store, cache=RetrieveCache(tmp_path / "cache", max_mb=256))
    dlg.server.setCurrentText("orthanc")
    return dlg


def _search_and_select(qtbot, dlg, patient="VS-SEG"):
    dlg.patient.setText(patient)
    dlg.start_search()
    qtbot.waitUntil(lambda: dlg.results.topLevelItemCount() == 1 and dlg.results.topLevelItem(0).childCount() == 1,
                    timeout=15000)
    study = dlg.results.topLevelItem(0)
    dlg.results.setCurrentItem(study.child(0))
    assert dlg.retrieve.isEnabled()
    return study


@pytest.mark.parametrize("transport", ["dimse", "web"])
def test_open_from_pacs_retrieves_into_the_cache_and_opens(make_window, qtbot, pacs, tmp_path, transport):
    win = make_window()
    dlg = _dialog(win, pacs, tmp_path, transport)
    study = _search_and_select(qtbot, dlg)
    assert study.text(0) == "VS-SEG-001" and study.text(2) == "1994-09-04"
    with qtbot.waitSignal(win.opener.opened, timeout=30000):
        dlg.start_retrieve()
    assert win.live.scan.volume.shape[2] == len(pacs.files)
    folder = dlg.folder
    assert folder.is_relative_to(tmp_path / "cache") and len(list(folder.glob("*.dcm"))) == len(pacs.files)
    assert all(not (f.stat().st_mode & 0o222) for f in folder.glob("*.dcm"))
    assert win.settings.q.value("pacs/last_server") == "orthanc"


def test_cancel_midway_then_open_what_arrived(make_window, qtbot, pacs, tmp_path):
    win = make_window()
    dlg = _dialog(win, pacs, tmp_path, "dimse")
    _search_and_select(qtbot, dlg)
    original = dlg._progress

    def progress(done, total):  # Cancel pressed once three images are in
        original(done, total)
        if done >= 3:
            dlg.reject()

    dlg._progress = progress
    dlg.start_retrieve()
    qtbot.waitUntil(lambda: not dlg._retrieving, timeout=30000)
    assert dlg.status.text().startswith("Cancelled") and dlg.open_now.isEnabled()
    n = len(list(dlg.folder.glob("*.dcm")))
    assert 3 <= n < len(pacs.files)
    with qtbot.waitSignal(win.opener.opened, timeout=30000):
        dlg.open_arrived()
    assert win.live.scan.volume.shape[2] == n


def test_search_runs_off_the_gui_thread_and_names_the_server(make_window, qtbot, monkeypatch, tmp_path):
    from engine.pacs import ServerStore
    from viewer.widgets.pacs_dialog import OpenFromPacsDialog

    from tests.pacs.fakes import silent_server

    shown = []
    monkeypatch.setattr("viewer.widgets.pacs_dialog.QMessageBox.warning", lambda parent, title, text: shown.append(text))
    win = make_window()
    with silent_server() as (host, port):
        from engine.pacs import Server

        store = ServerStore()
        store.save(Server(name="silent", address=f"dicom://SILENT@{host}:{port}", timeout=1))
        dlg = OpenFromPacsDialog(win, store=store)
        dlg.server.setCurrentText("silent")
        t0 = time.perf_counter()
        dlg.start_search()
        assert time.perf_counter() - t0 < 0.2  # the window does not wait for the server
        qtbot.waitUntil(lambda: bool(shown), timeout=30000)
    assert shown[0].startswith(f"silent (dicom://SILENT@{host}:{port}): ") and "within 1 s" in shown[0]


def test_thousands_of_results_fill_in_slices(make_window, qtbot):
    from engine.pacs.records import FindResult, Study
    from viewer.widgets.pacs_dialog import OpenFromPacsDialog

    win = make_window()
    dlg = OpenFromPacsDialog(win)
    studies = [Study(study_uid=f"1.2.{i}", patient_name=f"P^{i}", date="20200101") for i in range(1000)]
    dlg._generation = 1
    dlg._found(FindResult(studies, truncated=True), type("S", (), {"label": "big"})(), None, 1)
    assert dlg.results.topLevelItemCount() == 0  # nothing added in this call
    qtbot.waitUntil(lambda: dlg.results.topLevelItemCount() == 1000, timeout=10000)
    assert "1000 studies shown; big has more" in dlg.status.text()
    assert dlg.results.topLevelItem(5).text(0) == study_row(studies[5])[0] == "P 5"


@pytest.mark.parametrize("confirmed", [True, False])
def test_export_dialog_sends_after_confirmation(make_window, qtbot, pacs, tmp_path, confirmed):
    from engine.pacs import ServerStore
    from viewer.widgets.export_dialog import ExportDialog

    ServerStore().save(pacs.server("dimse", name="orthanc"))
    src = tmp_path / "src"
    src.mkdir()
    for f in pacs.files[:4]:
        (src / f.name).write_bytes(f.read_bytes())
    win = make_window()
    with qtbot.waitSignal(win.opener.opened, timeout=30000):
        win.open_path(src)
    wait_frames(qtbot, win.live, timeout=30000)
    dlg = ExportDialog(win)
    dlg.format.setCurrentIndex(dlg.format.findData("dicom"))
    dlg.whole.setChecked(True)
    dlg.typed.setChecked(True)
    dlg.scale.setValue(1.5)
    dlg.sr.setChecked(False)
    dlg.destination.setText(str(tmp_path / "out"))
    assert dlg.pacs.isEnabled()
    dlg.pacs.enabled.setChecked(True)
    dlg.pacs.server.setCurrentText("orthanc")
    asked = []
    dlg.pacs.confirm = lambda text: asked.append(text) or confirmed
    if confirmed:
        with qtbot.waitSignal(dlg.pacs.finished, timeout=60000):
            dlg.run()
    else:
        dlg.run()
        qtbot.waitUntil(lambda: bool(dlg.outputs) or dlg.error is not None, timeout=60000)
    assert dlg.error is None and dlg.pacs.error is None
    assert len(asked) == 1 and "orthanc (dicom://ORTHANC@127.0.0.1:" in asked[0] and "4 DICOM images" in asked[0]
    derived = str(dcmread(dlg.outputs[0], stop_before_pixels=True).SeriesInstanceUID)
    stored = pacs.orthanc.series_instances(derived)
    assert len(stored) == (4 if confirmed else 0)
    assert len(pacs.orthanc.series_instances(pacs.series_uid)) == len(pacs.files)  # the source: never sent
    if confirmed:
        assert dlg.pacs.note.text() == "Sent 4 images to orthanc"
        pacs.orthanc.delete("series", pacs.orthanc.lookup(derived)[0]["ID"])
    dlg.pacs.set_format("png")
    assert not dlg.pacs.isEnabled()


def test_server_editor_saves_to_the_shared_list_and_secret_to_the_keyring(make_window, qtbot, monkeypatch):
    from engine.pacs import ServerStore
    from viewer.widgets.pacs_dialog import OpenFromPacsDialog

    stored = {}
    monkeypatch.setattr("keyring.set_password", lambda service, user, pw: stored.update({(service, user): pw}))
    win = make_window()
    dlg = OpenFromPacsDialog(win, store=ServerStore())
    dlg.server.setCurrentText("https://pacs.example.org/dicom-web")
    editor = dlg.server_editor()
    assert editor.address.text() == "https://pacs.example.org/dicom-web"
    editor.name.setText("hospital")
    editor.username.setText("dr.who")
    editor.auth.setCurrentText("basic")
    editor.secret.setText("s3cret-typed")
    editor.save()
    assert editor.saved is not None and editor.secret.text() == ""
    saved = ServerStore().get("hospital")
    assert saved.address == "https://pacs.example.org/dicom-web" and saved.username == "dr.who" and saved.verify_tls
    assert stored == {("MetaZoom PACS", "hospital"): "s3cret-typed"}
    assert "s3cret-typed" not in ServerStore().path.read_text()
    assert dlg.server.currentText() == "hospital" and dlg.server.findText("hospital") >= 0
