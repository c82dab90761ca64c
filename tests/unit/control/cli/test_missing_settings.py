"""A setting a service cannot run without is one line naming every missing variable, exit 2,
said before Kafka or an API is contacted (a listening socket stands in for both and must
see no connection)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.services import free_port, headwater_with

#: a limit, not a measure of speed
LIMIT_S = 30.0


def _run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    env = {"HEADWATER_HTTP__PORT": str(free_port())} | env
    done = headwater_with(*command.split(), env=env, timeout=LIMIT_S)
    took = time.monotonic() - started
    print(f"headwater {command}: exit {done.returncode} after {took:.1f}s\n{done.stderr}")
    return done


@pytest.fixture
def witness() -> Iterator[socket.socket]:
    """A listening socket standing in for Kafka and the APIs: any connection is queued."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.setblocking(False)
        yield listener


def _contacted(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


MISSING = [
    ("sink cdc", {}, ["HEADWATER_WAREHOUSE__DSN"]),
    (
        "poll facebook_ads",
        {},
        ["HEADWATER_FACEBOOK__ACCESS_TOKEN", "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS"],
    ),
    (
        "poll facebook_ads",
        {"HEADWATER_FACEBOOK__ACCESS_TOKEN": "token-of-first-contact"},
        ["HEADWATER_FACEBOOK__AD_ACCOUNT_IDS"],
    ),
    (
        "poll google_ads",
        {"HEADWATER_GOOGLE_ADS__CUSTOMER_IDS": '["1234567890"]'},
        [
            "HEADWATER_GOOGLE_ADS__DEVELOPER_TOKEN",
            "HEADWATER_GOOGLE_ADS__CLIENT_ID",
            "HEADWATER_GOOGLE_ADS__CLIENT_SECRET",
            "HEADWATER_GOOGLE_ADS__REFRESH_TOKEN",
        ],
    ),
    (
        "poll clevertap",
        {"HEADWATER_CLEVERTAP__ACCOUNT_ID": "ACC-1"},
        ["HEADWATER_CLEVERTAP__PASSCODE"],
    ),
    ("poll --once clevertap", {}, ["HEADWATER_CLEVERTAP__ACCOUNT_ID"]),
    # CleverTap's user identities are pseudonymised by the processor: its key is needed
    (
        "process",
        {"HEADWATER_CLEVERTAP__ACCOUNT_ID": "ACC-1"},
        ["HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY"],
    ),
    (
        "connectors apply",
        {},
        ["HEADWATER_SOURCE__DSN", "HEADWATER_CDC__PASSWORD", "HEADWATER_CONNECT__SECRETS_DIR"],
    ),
    (
        "connectors validate",
        {"HEADWATER_CDC__PASSWORD": "replication-password"},
        ["HEADWATER_SOURCE__DSN", "HEADWATER_CONNECT__SECRETS_DIR"],
    ),
]


@pytest.mark.parametrize(("command", "given", "named"), MISSING)
def test_a_missing_setting_is_named_before_anything_is_contacted(
    command: str, given: dict[str, str], named: list[str], witness: socket.socket
) -> None:
    address = f"127.0.0.1:{witness.getsockname()[1]}"
    apis = {
        "HEADWATER_FACEBOOK__GRAPH_URL": f"https://{address}",
        "HEADWATER_GOOGLE_ADS__API_URL": f"https://{address}",
        "HEADWATER_GOOGLE_ADS__TOKEN_URL": f"https://{address}/token",
        "HEADWATER_CLEVERTAP__API_URL": f"https://{address}",
        "HEADWATER_CONNECT__URL": f"http://{address}",
    }
    env = apis | given | {"HEADWATER_KAFKA__BOOTSTRAP_SERVERS": address}
    done = _run(command, env)

    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    line = done.stderr.strip()
    assert line.startswith("headwater: HEADWATER_"), line
    assert "Kafka" not in line
    for setting in named:
        assert setting in line
    assert not _contacted(witness), "Kafka or an API was contacted before the settings check"
