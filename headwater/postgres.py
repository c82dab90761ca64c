"""Connections to PostgreSQL (the warehouse, the source database) with bounded waits.

Every connection the services hold for a long time is made here, so that none of them can
hang forever: the server cancels a statement after ``statement_timeout_s`` and gives up a lock
wait after ``lock_timeout_s`` (both raise, and the caller retries or reports), and connecting
gives up after ``connect_timeout_s``.
"""

from __future__ import annotations

from typing import Any

import psycopg

from headwater.settings import DatabaseSettings


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
    """A connection to ``dsn`` whose waits are bounded by ``database``'s timeouts."""
    return psycopg.connect(
        dsn,
        connect_timeout=database.connect_timeout_s,
        options=session_options(database),
        **options,
    )
