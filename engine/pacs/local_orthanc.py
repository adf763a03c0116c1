"""A throwaway Orthanc on the loopback interface, for the PACS tests and benchmark.

    with LocalOrthanc() as pacs:            # free ports, temporary storage, DICOMweb on
        pacs.upload(files)                  # through Orthanc's REST API
        pacs.dicom_address                  # "dicom://ORTHANC@127.0.0.1:PORT"
        pacs.web_address                    # "http://127.0.0.1:PORT/dicom-web"

It runs the ``Orthanc`` binary (Debian's ``orthanc`` package; the DICOMweb plugin from
``orthanc-dicomweb``) with a generated JSON configuration: HTTP and DICOM on free
ports with remote access off, storage in a temporary folder, and the modalities
given (our AE, so that C-MOVE can send to us).  It is never the system's own service.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ORTHANC = "Orthanc"
DICOMWEB_PLUGINS = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/libOrthancDicomWeb.so",
)


def orthanc_binary() -> str | None:
    return shutil.which(ORTHANC) or (str(Path("/usr/sbin/Orthanc")) if Path("/usr/sbin/Orthanc").exists() else None)


def dicomweb_plugin() -> str | None:
    for p in DICOMWEB_PLUGINS:
        if Path(p).exists():
            return p
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalOrthanc:
    """Start with ``start()`` (or ``with``), stop with ``stop()``.  ``users``: HTTP basic
    auth accounts (then every REST and DICOMweb call needs one)."""

    def __init__(self, aet: str = "ORTHANC", modalities: dict | None = None, users: dict | None = None,
                 check_called_aet: bool = True) -> None:
        self.aet = aet
        self.modalities = dict(modalities or {})
        self.users = dict(users or {})
        self.check_called_aet = check_called_aet
        self.http_port = self.dicom_port = 0
        self.folder: Path | None = None
        self.process: subprocess.Popen | None = None

    # -- addresses --------------------------------------------------------------
    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def web_address(self) -> str:
        return f"{self.rest}/dicom-web"

    @property
    def dicom_address(self) -> str:
        return f"dicom://{self.aet}@127.0.0.1:{self.dicom_port}"

    # -- life -------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> "LocalOrthanc":
        binary = orthanc_binary()
        if binary is None:
            raise RuntimeError("Orthanc is not installed (Debian: apt-get install orthanc orthanc-dicomweb)")
        self.folder = Path(tempfile.mkdtemp(prefix="metazoom-orthanc-"))
        self.http_port, self.dicom_port = free_port(), free_port()
        config = {
            "Name": "metazoom-test",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "storage"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": self.aet,
            "DicomCheckCalledAet": self.check_called_aet,
            "RemoteAccessAllowed": False,  # loopback only
            "AuthenticationEnabled": bool(self.users),
            "RegisteredUsers": self.users,
            "DicomModalities": {name: list(v) for name, v in self.modalities.items()},
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True,
            "DicomAlwaysAllowMove": True,
            "DicomScuTimeout": 10,
            "MaximumPduLength": 131072,  # DCMTK's largest: fewer PDUs for our pure-Python DUL to handle
            "DicomAssociationCloseDelay": 0,
            "StorageCompression": False,
            "StableAge": 1,
            "LimitFindResults": 0,
            "LimitFindInstances": 0,
            "HttpThreadsCount": 8,
            "SaveJobs": False,
            "Plugins": [p for p in [dicomweb_plugin()] if p],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True, "Ssl": False, "StudiesMetadata": "Full"},
        }
        path = self.folder / "orthanc.json"
        path.write_text(json.dumps(config, indent=2))
        log = open(self.folder / "orthanc.log", "wb")
        self.process = subprocess.Popen([binary, str(path)], stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.folder / "orthanc.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"Orthanc exited at start:\n{tail}")
            try:
                if self.get("/system").status_code == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer on port {self.http_port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # storage is temporary: no need to wait for a slow clean shutdown
            try:
                self.process.wait(0.5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> "LocalOrthanc":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- REST -------------------------------------------------------------------
    def _auth(self):
        if not self.users:
            return None
        user, password = next(iter(self.users.items()))
        return user.encode("utf-8"), password.encode("utf-8")

    def get(self, path: str, **kw):
        import requests

        return requests.get(self.rest + path, auth=self._auth(), timeout=30, **kw)

    def upload(self, files) -> list[str]:
        """POST each DICOM file to ``/instances``; the Orthanc ids of the instances."""
        import requests

        ids = []
        with requests.Session() as s:
            s.auth = self._auth()
            for f in files:
                r = s.post(self.rest + "/instances", data=Path(f).read_bytes(), timeout=60)
                r.raise_for_status()
                ids.append(r.json()["ID"])
        return ids

    def delete(self, level: str, orthanc_id: str) -> None:
        import requests

        requests.delete(f"{self.rest}/{level}/{orthanc_id}", auth=self._auth(), timeout=30).raise_for_status()

    def lookup(self, uid: str) -> list[dict]:
        """``/tools/lookup``: what Orthanc holds under a DICOM UID (``[]`` when nothing)."""
        import requests

        r = requests.post(self.rest + "/tools/lookup", data=uid, auth=self._auth(), timeout=30)
        r.raise_for_status()
        return r.json()

    def series_instances(self, series_uid: str) -> list[dict]:
        """The simplified tags of every instance of a series (``[]`` when absent)."""
        found = [x for x in self.lookup(series_uid) if x["Type"] == "Series"]
        if not found:
            return []
        return self.get(f"/series/{found[0]['ID']}/instances?expand").json()

    def instance_tags(self, orthanc_id: str) -> dict:
        return self.get(f"/instances/{orthanc_id}/simplified-tags").json()
