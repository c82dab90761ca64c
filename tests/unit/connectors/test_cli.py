"""`headwater connectors config | validate` as a user runs them (a stand-in Connect)."""

from __future__ import annotations

import json
import subprocess

from tests.support.services import headwater_with
from tests.unit.connectors.conftest import FakeConnect

PASSWORD = "never-print-me-42"


def _headwater(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return headwater_with(
        *args,
        env={
            "HEADWATER_SOURCE__DSN": "postgresql://admin:adminpw@127.0.0.1:5432/app",
            "HEADWATER_CDC__PASSWORD": PASSWORD,
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
    assert sent["database.password"] == PASSWORD  # Connect needs it; we never print it


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
