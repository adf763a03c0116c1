"""Typed PACS errors.  Each names the server and the reason in words.

The GUI edge and ``metazoom-pacs`` catch ``PacsError`` (a ``MetaZoomError``) and show
``str(err)``: ``"<server>: <reason>"``.  No message ever holds a password or token.
"""

from __future__ import annotations

from ..errors import MetaZoomError, _rebuild


class PacsError(MetaZoomError):
    """A PACS operation failed.  ``.server``: the server's label; ``.reason``: why."""

    def __init__(self, server: str, reason: str):
        self.server = str(server)
        self.reason = reason
        super().__init__(f"{self.server}: {reason}")

    def __reduce__(self):
        return _rebuild, (type(self), str(self), dict(self.__dict__))


class PacsConfigError(PacsError):
    """An unknown server name, a malformed address, a secret in the wrong place."""


class PacsUnreachableError(PacsError):
    """No connection: refused, no route, name not found, or no answer in time."""


class PacsRejectedError(PacsError):
    """The server refused the association (wrong called AE title, our AE title not
    registered, no common presentation context) or aborted it."""


class PacsAuthError(PacsError):
    """The server refused our credentials (HTTP 401/403), or a needed secret is missing."""


class PacsTlsError(PacsError):
    """The server's TLS certificate failed verification (checks stay on by default)."""


class PacsNotFoundError(PacsError):
    """The study or series is not (or no longer) on the server."""


class PacsLimitError(PacsError):
    """The server sent something beyond our bounds (an absurd size or count)."""


class PacsProtocolError(PacsError):
    """The server answered with something we cannot use (a failure status, bad data)."""


class PacsPartialError(PacsError):
    """A retrieve where some instances did not arrive.  ``.received``: the files kept;
    ``.missing``: the SOP Instance UIDs (or descriptions) of what did not arrive."""

    def __init__(self, server: str, reason: str, received=(), missing=()):
        self.received = list(received)
        self.missing = list(missing)
        super().__init__(server, reason)


class PacsSendError(PacsError):
    """A send the server refused in part or whole.  ``.sent``: the files stored;
    ``.refused``: ``(file, reason)`` for each file refused."""

    def __init__(self, server: str, reason: str, sent=(), refused=()):
        self.sent = list(sent)
        self.refused = list(refused)
        super().__init__(server, reason)
