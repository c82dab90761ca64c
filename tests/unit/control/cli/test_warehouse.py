"""``headwater warehouse setup``'s credentials: role DSNs, the mode-600 file, kept passwords."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from control.cli.warehouse import dsn_as, kept_passwords, save_credentials
from headwater.errors import ConfigurationError

ADMIN = (
    "postgresql://postgres:admin-secret@db.example:5433/warehouse"
    "?sslmode=verify-full&sslrootcert=/etc/ca.pem"
)


def test_a_role_dsn_is_the_admins_with_the_roles_name_and_password() -> None:
    parts = urlsplit(dsn_as(ADMIN, "headwater_sink_kpis", "p@ss/w:rd"))
    assert (unquote(parts.username or ""), unquote(parts.password or "")) == (
        "headwater_sink_kpis",
        "p@ss/w:rd",
    )
    assert (parts.hostname, parts.port, parts.path) == ("db.example", 5433, "/warehouse")
    assert parts.query == "sslmode=verify-full&sslrootcert=/etc/ca.pem"  # TLS kept
    assert "admin-secret" not in parts.geturl()


def test_the_file_is_mode_600_whatever_the_umask_or_its_mode_before(tmp_path: Path) -> None:
    path = tmp_path / "roles.json"
    path.write_text("{}")
    path.chmod(0o644)
    previous = os.umask(0)
    try:
        save_credentials(path, ADMIN, {"r1": "pw1"})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entry = json.loads(path.read_text())["r1"]
    assert entry["password"] == "pw1"
    assert entry["dsn"].startswith("postgresql://r1:pw1@db.example:5433/warehouse?")
    assert kept_passwords(path) == {"r1": "pw1"}


def test_no_file_keeps_nothing_and_another_shape_is_refused_unquoted(tmp_path: Path) -> None:
    path = tmp_path / "roles.json"
    assert kept_passwords(path) == {}
    path.write_text('{"r1": "a-password-in-the-wrong-place"}')
    with pytest.raises(ConfigurationError) as refused:
        kept_passwords(path)
    assert "not a credentials file written by warehouse setup" in str(refused.value)
    assert "a-password" not in str(refused.value)
