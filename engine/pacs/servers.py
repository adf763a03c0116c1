"""PACS servers: addresses, and the list configured once and shared by the viewer and
the command line.

An address is ``dicom://AET@host:port`` (DIMSE: the server's AE title, host, port) or
``https://host/dicom-web`` (DICOMweb; ``http://`` too, but credentials only go over
plain HTTP to this machine).  The list lives in ``pacs-servers.json`` in the user's
MetaZoom configuration folder (beside the viewer's ``MetaZoom.ini``; the environment
variable ``METAZOOM_PACS_SERVERS`` names another file).  It never holds a password or
token: those are in the OS keyring or an environment variable (``secrets``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from .errors import PacsConfigError
from .limits import DEFAULT_TIMEOUT

APP = "MetaZoom"
FILE_NAME = "pacs-servers.json"
DEFAULT_AE = "METAZOOM"
AUTH_KINDS = ("none", "basic", "bearer")
RETRIEVE_KINDS = ("get", "move")
DEFAULT_CACHE_MB = 4096
_AET = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # printable, no backslash, 16 at most
_NAME = re.compile(r"^[\w .@:/+-]{1,64}$")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_ae(ae: str, what: str = "AE title") -> str:
    ae = ae.strip()
    if not _AET.match(ae):
        raise PacsConfigError(ae or "(empty)", f"{what} {ae!r}: 1 to 16 printable characters, no backslash")
    return ae


@dataclass(frozen=True)
class Address:
    kind: str  # "dicom" | "web"
    host: str
    port: int
    called_ae: str = ""
    url: str = ""

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK


def redacted(text: str) -> str:
    """``text`` without anything between ``:`` and ``@`` in its authority (a password)."""
    return re.sub(r"^([a-zA-Z]+://[^/:@]*):[^/@]*@", r"\1:***@", text.strip())


def parse_address(text: str) -> Address:
    """``dicom://AET@host:port`` or ``http(s)://host[:port]/path``; ``PacsConfigError``
    otherwise (and for an address that carries a password, which no message repeats)."""
    text = text.strip()
    shown = redacted(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as e:
        raise PacsConfigError(shown, "not an address (a bad port?)") from None
    scheme = parts.scheme.lower()
    if scheme == "dicom":
        if not parts.username or not parts.hostname or port is None:
            raise PacsConfigError(shown, "a DICOM address is dicom://AET@host:port (the server's AE title, host and port)")
        if parts.password is not None:
            raise PacsConfigError(shown, "an address never holds a password")
        return Address("dicom", parts.hostname, port, check_ae(parts.username, "the server's AE title"))
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise PacsConfigError(shown, "a DICOMweb address is https://host/path (e.g. https://pacs.example.org/dicom-web)")
        if parts.username or parts.password:
            raise PacsConfigError(shown, "an address never holds credentials: give the user name with --user and the "
                                  "password to the keyring or an environment variable")
        if parts.query or parts.fragment:
            raise PacsConfigError(shown, "a DICOMweb address has no query or fragment")
        url = text.rstrip("/")
        return Address("web", parts.hostname, port or (443 if scheme == "https" else 80), url=url)
    raise PacsConfigError(shown, "an address starts with dicom:// or https:// (or http://)")


@dataclass(frozen=True)
class Server:
    """One configured server.  ``calling_ae``: our AE title (DIMSE); ``username`` and
    ``auth`` (none/basic/bearer): DICOMweb; ``verify_tls`` and ``ca_bundle``: the
    certificate check (on by default); ``retrieve``: C-GET or C-MOVE, and for C-MOVE
    the port (and address) our storage SCP listens on."""

    name: str
    address: str
    calling_ae: str = DEFAULT_AE
    username: str = ""
    auth: str = "none"
    verify_tls: bool = True
    ca_bundle: str = ""
    retrieve: str = "get"
    move_port: int = 11113
    move_host: str = "0.0.0.0"
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise PacsConfigError(self.name or "(empty)", "a server name is 1 to 64 letters, digits, spaces or . @ : / + - _")
        addr = parse_address(self.address)
        check_ae(self.calling_ae, "our calling AE title")
        if self.auth not in AUTH_KINDS:
            raise PacsConfigError(self.name, f"auth must be one of {', '.join(AUTH_KINDS)}")
        if self.retrieve not in RETRIEVE_KINDS:
            raise PacsConfigError(self.name, f"retrieve must be one of {', '.join(RETRIEVE_KINDS)}")
        if not (0 < int(self.move_port) < 65536):
            raise PacsConfigError(self.name, f"move port {self.move_port} is not a TCP port")
        if not (0 < float(self.timeout) <= 600):
            raise PacsConfigError(self.name, f"timeout {self.timeout} s: between 0 and 600 s")
        if addr.kind == "web" and self.auth == "basic" and not self.username:
            raise PacsConfigError(self.name, "basic authentication needs a user name")
        if addr.kind == "web" and self.auth != "none" and self.address.lower().startswith("http://") and not addr.loopback:
            raise PacsConfigError(self.name, "credentials are only sent over https:// (plain http:// only to this machine)")

    @property
    def parsed(self) -> Address:
        return parse_address(self.address)

    @property
    def kind(self) -> str:
        return self.parsed.kind

    @property
    def label(self) -> str:
        """How messages name the server: ``name (address)``, or the address alone."""
        return self.address if self.name == self.address else f"{self.name} ({self.address})"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "Server":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP, appauthor=False))


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP, appauthor=False)) / "pacs"


class ServerStore:
    """The configured servers (and the retrieve cache's size), in one JSON file."""

    def __init__(self, path: Path | str | None = None) -> None:
        env = os.environ.get("METAZOOM_PACS_SERVERS")
        self.path = Path(path) if path is not None else Path(env) if env else config_dir() / FILE_NAME

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise PacsConfigError(str(self.path), f"cannot read the server list: {e}") from None
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".pacs-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
            os.replace(tmp, self.path)  # atomic: never a half-written list
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def servers(self) -> list[Server]:
        out = []
        for d in self._read().get("servers", []):
            try:
                out.append(Server.from_json(d))
            except (PacsConfigError, TypeError, ValueError):
                continue  # one broken entry does not hide the others
        return out

    def get(self, name: str) -> Server | None:
        return next((s for s in self.servers() if s.name == name), None)

    def save(self, server: Server) -> None:
        """Add or replace ``server`` (by name)."""
        data = self._read()
        rest = [d for d in data.get("servers", []) if isinstance(d, dict) and d.get("name") != server.name]
        data["servers"] = rest + [server.to_json()]
        self._write(data)

    def remove(self, name: str) -> bool:
        data = self._read()
        before = data.get("servers", [])
        data["servers"] = [d for d in before if isinstance(d, dict) and d.get("name") != name]
        self._write(data)
        return len(data["servers"]) != len(before)

    @property
    def cache_mb(self) -> int:
        try:
            return max(64, int(self._read().get("cache_mb", DEFAULT_CACHE_MB)))
        except (TypeError, ValueError):
            return DEFAULT_CACHE_MB

    @cache_mb.setter
    def cache_mb(self, mb: int) -> None:
        data = self._read()
        data["cache_mb"] = max(64, int(mb))
        self._write(data)

    def resolve(self, text: str, **overrides) -> Server:
        """SERVER as the user typed it: a configured name, else an address (with our
        default calling AE title)."""
        text = text.strip()
        server = self.get(text)
        if server is None:
            if "://" not in text:
                names = ", ".join(s.name for s in self.servers()) or "none configured"
                raise PacsConfigError(text, f"no server of that name ({names}); give a name or an address "
                                            "(dicom://AET@host:port, https://host/dicom-web)")
            server = Server(name=text, address=text)
        return replace(server, **{k: v for k, v in overrides.items() if v is not None}) if overrides else server
