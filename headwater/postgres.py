"""Connections to PostgreSQL (the warehouse, the source database): verified and bounded.

Every connection Headwater makes is made here or takes its connection string from
:func:`verified`, so that:

- the server is verified: a DSN that names no ``sslmode`` gets ``verify-full`` (TLS, the
  server's certificate checked against ``sslrootcert`` or libpq's default root file, and its
  host name). A DSN may ask for less (``disable``, ``prefer``, ``require``, ...) for local
  development only; the process then warns once per host that the link is not verified;
- nothing hangs forever: the server cancels a statement after ``statement_timeout_s`` and
  gives up a lock wait after ``lock_timeout_s`` (both raise, and the caller retries or
  reports), and connecting gives up after ``connect_timeout_s``.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from headwater.settings import DatabaseSettings

log = logging.getLogger(__name__)

#: the only sslmode that both encrypts and checks whom it talks to
VERIFIED = "verify-full"
_warned: set[tuple[str, str]] = set()


def verified(dsn: str) -> str:
    """``dsn`` verifying its server: ``sslmode=verify-full`` unless it names a mode itself.

    A mode other than ``verify-full`` is the DSN's owner's explicit choice; it is logged once
    per host as not verified (or not encrypted).
    """
    params = conninfo_to_dict(dsn)
    mode = params.get("sslmode")
    if mode is None:
        return make_conninfo(dsn, sslmode=VERIFIED)
    if mode != VERIFIED:
        _warn_unverified(str(params.get("host") or "local socket"), str(mode))
    return dsn


def _warn_unverified(host: str, mode: str) -> None:
    if (host, mode) in _warned:
        return
    _warned.add((host, mode))
    encrypted = mode in ("require", "verify-ca")
    what = "encrypted but the server's name is not verified" if encrypted else "may be plaintext"
    log.warning(
        "PostgreSQL at %s: sslmode=%s, the connection %s (local development only; "
        "use sslmode=verify-full)",
        host,
        mode,
        what,
    )


def session_options(database: DatabaseSettings) -> str:
    """The libpq ``options`` that bound a session's statements and lock waits."""
    statement_ms = round(database.statement_timeout_s * 1000)
    lock_ms = round(database.lock_timeout_s * 1000)
    return f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}"


#: the bounds of a connection made without settings at hand (the settings' defaults)
DEFAULT_BOUNDS = DatabaseSettings()


def connect(
    dsn: str, database: DatabaseSettings = DEFAULT_BOUNDS, **options: Any
) -> psycopg.Connection:
    """A verified connection to ``dsn`` whose waits are bounded by ``database``'s timeouts."""
    return psycopg.connect(
        verified(dsn),
        connect_timeout=database.connect_timeout_s,
        options=session_options(database),
        **options,
    )
