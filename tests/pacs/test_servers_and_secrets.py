"""Server addresses and the server list; secrets only in the keyring or the environment,
never in the settings file, a message or a log; TLS checks on by default; auth."""

from __future__ import annotations

import json
import logging
import subprocess

import keyring
import pytest
from keyring.backend import KeyringBackend

from engine.pacs import (
    PacsAuthError,
    PacsConfigError,
    PacsTlsError,
    Query,
    Server,
    ServerStore,
    connect,
    parse_address,
)
from engine.pacs.local_orthanc import LocalOrthanc
from engine.pacs.secrets import env_name, get_secret, set_secret

from .conftest import need_orthanc
from .fakes import http_server

SECRET = "pa55-Wörd-7c1e"


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.store = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


def test_addresses():
    a = parse_address("dicom://PACS_AE@pacs.example.org:104")
    assert (a.kind, a.called_ae, a.host, a.port) == ("dicom", "PACS_AE", "pacs.example.org", 104)
    w = parse_address("https://pacs.example.org/dicom-web/")
    assert (w.kind, w.url, w.port) == ("web", "https://pacs.example.org/dicom-web", 443)
    for bad in ("pacs.example.org:104", "dicom://pacs:104", "dicom://AE@pacs", "ftp://x/y",
                "dicom://THIS_AE_TITLE_IS_FAR_TOO_LONG@h:104", "https://host/dicom-web?x=1"):
        with pytest.raises(PacsConfigError):
            parse_address(bad)


@pytest.mark.parametrize("address", ["https://user:" + SECRET + "@pacs.example.org/dicom-web",
                                     "dicom://AE:" + SECRET + "@pacs:104"])
def test_an_address_never_holds_a_secret(address):
    with pytest.raises(PacsConfigError) as e:
        parse_address(address)
    assert SECRET not in str(e.value)


def test_server_checks():
    with pytest.raises(PacsConfigError, match="https"):  # no credentials over plain http except to this machine
        Server(name="h", address="http://pacs.example.org/dicom-web", auth="basic", username="u")
    Server(name="h", address="http://127.0.0.1:8042/dicom-web", auth="basic", username="u")
    with pytest.raises(PacsConfigError, match="user name"):
        Server(name="h", address="https://pacs.example.org/dicom-web", auth="basic")
    with pytest.raises(PacsConfigError, match="calling AE"):
        Server(name="h", address="dicom://A@h:104", calling_ae="BAD\\AE")
    assert Server(name="h", address="https://pacs.example.org/dicom-web").verify_tls  # on by default


def test_store_round_trip_without_secrets(tmp_path, memory_keyring, monkeypatch):
    store = ServerStore(tmp_path / "servers.json")
    s = Server(name="hospital", address="https://pacs.example.org/dicom-web", auth="basic", username="dr.who",
               ca_bundle="/etc/ssl/hospital.pem")
    store.save(s)
    set_secret(s, SECRET)
    store.save(Server(name="ct", address="dicom://CTPACS@10.0.0.5:104", calling_ae="MZ1", retrieve="move", move_port=11112))
    store.cache_mb = 512
    again = ServerStore(tmp_path / "servers.json")
    assert again.get("hospital") == s and again.get("ct").retrieve == "move" and again.cache_mb == 512
    assert get_secret(s) == SECRET and memory_keyring.store
    text = (tmp_path / "servers.json").read_text()
    assert SECRET not in text and "password" not in text.lower() and "token" not in text.lower()
    assert json.loads(text)["servers"][0]["username"] == "dr.who"
    # the environment wins over the keyring
    monkeypatch.setenv(env_name("hospital"), "from-env")
    assert get_secret(s) == "from-env"
    # a name or an address
    assert again.resolve("ct").address == "dicom://CTPACS@10.0.0.5:104"
    assert again.resolve("dicom://X@h:1").calling_ae == "METAZOOM"
    assert again.resolve("ct", calling_ae="OTHER").calling_ae == "OTHER"
    with pytest.raises(PacsConfigError, match="no server of that name"):
        again.resolve("nowhere")
    assert again.remove("ct") and again.get("ct") is None


def test_missing_secret_says_where_to_put_it(memory_keyring):
    s = Server(name="web pacs", address="https://pacs.example.org/dicom-web", auth="bearer")
    with pytest.raises(PacsAuthError) as e:
        connect(s)
    assert "METAZOOM_PACS_SECRET_WEB_PACS" in e.value.reason and "metazoom-pacs secret" in e.value.reason


def test_bearer_token_sent_never_logged(monkeypatch, caplog, memory_keyring):
    caplog.set_level(logging.DEBUG)
    token = "tok-" + SECRET

    def respond(h):
        return 200, {"Content-Type": "application/dicom+json"}, b"[]"

    with http_server(respond) as (url, seen):
        s = Server(name="bearer", address=url, auth="bearer")
        monkeypatch.setenv(env_name("bearer"), token)
        found = connect(s).find_studies(Query(patient="x"))
    assert found.studies == []
    assert all(h.get("Authorization") == f"Bearer {token}" for _, _, h in seen)
    assert token not in caplog.text and SECRET not in caplog.text


@pytest.fixture(scope="module")
def locked_orthanc():
    need_orthanc()
    with LocalOrthanc(users={"radiologist": SECRET}) as o:
        yield o


def test_basic_auth_against_orthanc(locked_orthanc, monkeypatch, caplog, memory_keyring):
    caplog.set_level(logging.DEBUG)
    s = Server(name="locked", address=locked_orthanc.web_address, auth="basic", username="radiologist")
    set_secret(s, SECRET)  # the keyring
    assert connect(s).echo() < 5
    assert connect(s).find_studies(Query()).studies == []
    monkeypatch.setenv(env_name("locked"), "wrong-" + SECRET[:4])
    with pytest.raises(PacsAuthError) as e:
        connect(s).echo()
    assert str(e.value).startswith("locked (http://127.0.0.1") and "refused our credentials" in e.value.reason
    with pytest.raises(PacsAuthError) as e:
        connect(Server(name="anon", address=locked_orthanc.web_address)).echo()
    assert "wants credentials" in e.value.reason
    assert SECRET not in caplog.text and SECRET not in str(e.value)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    pem = d / "server.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                       check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("needs the openssl command to make a test certificate")
    pem.write_text((d / "key.pem").read_text() + (d / "cert.pem").read_text())
    return pem, d / "cert.pem"


def test_tls_certificates_are_checked_by_default(self_signed):
    pem, cert = self_signed

    def respond(h):
        return 200, {"Content-Type": "application/dicom+json"}, b"[]"

    with http_server(respond, certfile=str(pem)) as (url, _):
        with pytest.raises(PacsTlsError) as e:
            connect(Server(name="tls", address=url, timeout=5)).echo()
        assert "certificate" in e.value.reason and str(e.value).startswith("tls (https://127.0.0.1")
        assert connect(Server(name="tls", address=url, ca_bundle=str(cert), timeout=5)).echo() < 5  # the hospital's CA
