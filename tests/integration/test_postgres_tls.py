"""The stack's PostgreSQL: TLS verified against the stack's CA, or no connection at all.

A client that trusts another CA is refused by its own check of the server; a client that
asks for no TLS is refused by the server (``pg_hba.conf``: TCP only over TLS).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from control.stack.tls import StackTls
from headwater.postgres import connect
from headwater.settings import Settings


def _warehouse(settings: Settings) -> str:
    assert settings.warehouse.dsn is not None
    return settings.warehouse.dsn.get_secret_value()


def test_the_stack_dsn_verifies_the_server_and_the_link_is_encrypted(settings: Settings) -> None:
    dsn = _warehouse(settings)
    assert conninfo_to_dict(dsn)["sslmode"] == "verify-full"
    with connect(dsn) as connection:
        row = connection.execute(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert row is not None
    assert row[0] is True
    assert str(row[1]) in {"TLSv1.2", "TLSv1.3"}


def test_a_client_trusting_another_ca_is_refused(settings: Settings, tmp_path: Path) -> None:
    other = StackTls(tmp_path / "other-ca")
    other.ensure()
    dsn = make_conninfo(_warehouse(settings), sslrootcert=str(other.ca_cert))
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        connect(dsn).close()


def test_a_client_without_tls_is_refused_by_the_server(settings: Settings) -> None:
    dsn = make_conninfo(_warehouse(settings), sslmode="disable")
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        connect(dsn).close()


def test_a_client_naming_another_host_is_refused(settings: Settings) -> None:
    params = conninfo_to_dict(_warehouse(settings))
    # the server's address, reached by a name its certificate does not hold
    dsn = make_conninfo(_warehouse(settings), host="127.0.0.1.nip.invalid", hostaddr=params["host"])
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        connect(dsn).close()
