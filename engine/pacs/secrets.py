"""Passwords and tokens: from an environment variable or the OS keyring, never from a
settings file, never into a message or a log.

For a server named ``NAME`` the environment variable is ``METAZOOM_PACS_SECRET_NAME``
(upper case; characters other than letters and digits become ``_``); the keyring entry
is service ``MetaZoom PACS``, user ``NAME``.
"""

from __future__ import annotations

import os
import re

from .errors import PacsAuthError, PacsConfigError

SERVICE = "MetaZoom PACS"


def env_name(server_name: str) -> str:
    return "METAZOOM_PACS_SECRET_" + re.sub(r"[^A-Z0-9]", "_", server_name.upper())


def get_secret(server) -> str | None:
    """The password or token for ``server`` (a ``Server``), or None."""
    value = os.environ.get(env_name(server.name))
    if value:
        return value
    try:
        import keyring

        return keyring.get_password(SERVICE, server.name) or None
    except Exception:  # no keyring backend (headless machine): the environment is the way
        return None


def require_secret(server) -> str:
    secret = get_secret(server)
    if not secret:
        raise PacsAuthError(server.label, f"{server.auth} authentication needs a secret: store it with "
                            f"`metazoom-pacs secret {server.name}` (OS keyring) or set {env_name(server.name)}")
    return secret


def set_secret(server, secret: str) -> None:
    try:
        import keyring

        keyring.set_password(SERVICE, server.name, secret)
    except Exception as e:
        raise PacsConfigError(server.label, f"cannot store the secret in the OS keyring ({type(e).__name__}); "
                              f"set {env_name(server.name)} instead") from None


def delete_secret(server) -> None:
    try:
        import keyring

        keyring.delete_password(SERVICE, server.name)
    except Exception:
        pass
