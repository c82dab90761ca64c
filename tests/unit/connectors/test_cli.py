"""`headwater connectors config | validate` as a user runs them (a stand-in Connect)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.services import headwater_with
from tests.unit.connectors.conftest import FakeConnect

PASSWORD = "never-print-me-42"
#: Where the commands write the connector's password file (a test's own folder).
_secrets: list[Path] = []


@pytest.fixture(autouse=True)
def _secrets_dir(tmp_path: Path) -> None:
    _secrets[:] = [tmp_path / "connect-secrets"]


def _headwater(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return headwater_with(
        *args,
        env={
            "HEADWATER_SOURCE__DSN": "postgresql://admin:adminpw@127.0.0.1:5432/app",
            "HEADWATER_CDC__PASSWORD": PASSWORD,
            "HEADWATER_CONNECT__SECRETS_DIR": str(_secrets[0]),
            "HEADWATER_LOG__FORMAT": "text",
        }
        | env,
        timeout=120,
    )


def test_config_prints_the_rendered_config_with_the_password_masked() -> None:
    done = _headwater("connectors", "config", env={})
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["name"] == "headwater-cdc"
    assert printed["config"]["database.password"] == "********"
    assert printed["config"]["database.dbname"] == "app"
    assert PASSWORD not in done.stdout + done.stderr
    assert not _secrets[0].exists()  # printing the config writes nothing


def test_validate_sends_a_provider_reference_and_writes_the_password_file(
    fake_connect: FakeConnect,
) -> None:
    fake_connect.script(
        "PUT",
        "/connector-plugins/PostgresConnector/config/validate",
        (200, {"error_count": 0, "configs": []}),
    )
    done = _headwater("connectors", "validate", env={"HEADWATER_CONNECT__URL": fake_connect.url})
    assert done.returncode == 0, done.stderr
    sent = fake_connect.requests[-1].body
    assert sent["database.password"] == (f"${{dir:{_secrets[0]}:headwater-cdc.database.password}}")
    assert PASSWORD not in json.dumps(sent)
    password_file = _secrets[0] / "headwater-cdc.database.password"
    assert password_file.read_text() == PASSWORD
    assert password_file.stat().st_mode & 0o077 == 0


def test_validate_prints_each_invalid_field_and_fails(fake_connect: FakeConnect) -> None:
    message = "Error while validating connector config: FATAL: password authentication failed"
    fake_connect.script(
        "PUT",
        "/connector-plugins/PostgresConnector/config/validate",
        (
            200,
            {
                "error_count": 1,
                "configs": [
                    {"value": {"name": "database.hostname", "value": "x", "errors": [message]}},
                    {"value": {"name": "database.password", "value": "[hidden]", "errors": []}},
                ],
            },
        ),
    )
    done = _headwater("connectors", "validate", env={"HEADWATER_CONNECT__URL": fake_connect.url})
    assert done.returncode == 2
    assert f"invalid database.hostname: {message}" in done.stderr
    assert "Traceback" not in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    sent = fake_connect.requests[0].body
    assert sent["name"] == "headwater-cdc"
    assert sent["database.password"].startswith("${dir:")  # Connect reads the file


def test_validate_says_when_the_config_is_valid(fake_connect: FakeConnect) -> None:
    fake_connect.script(
        "PUT",
        "/connector-plugins/PostgresConnector/config/validate",
        (200, {"error_count": 0, "configs": []}),
    )
    done = _headwater("connectors", "validate", env={"HEADWATER_CONNECT__URL": fake_connect.url})
    assert done.returncode == 0, done.stderr
    assert "config is valid" in done.stdout


def test_connect_down_is_a_transient_exit() -> None:
    done = _headwater("connectors", "status", env={"HEADWATER_CONNECT__URL": "http://127.0.0.1:9"})
    assert done.returncode == 75
    assert (
        "headwater: Kafka Connect at http://127.0.0.1:9/connectors/headwater-cdc/status"
        in done.stderr
    )
