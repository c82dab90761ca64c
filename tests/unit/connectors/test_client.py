"""The Connect REST client maps Connect's answers to typed errors, over real HTTP."""

from __future__ import annotations

import socket

import pytest

from connectors.base import (
    ConnectBusy,
    ConnectorFailed,
    ConnectorNotFound,
    ConnectorNotRunning,
    ConnectRequestRejected,
    ConnectUnavailable,
    FieldProblem,
)
from connectors.client import ConnectClient, Resolution, resolve
from headwater.errors import Terminal, Transient, is_transient
from tests.unit.connectors.conftest import FakeConnect

RUNNING = {
    "name": "cdc",
    "connector": {"state": "RUNNING", "worker_id": "w1:8083"},
    "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "w1:8083"}],
    "type": "source",
}
TRACE = (
    "io.debezium.DebeziumException: Creation of replication slot failed\n"
    "\tat io.debezium.connector.postgresql.PostgresConnectorTask.tryToCreateSlot(X.java:1)\n"
    "Caused by: org.postgresql.util.PSQLException: FATAL: must be superuser or replication role\n"
    "\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(Q.java:2)\n"
)


def _client(fake: FakeConnect, **options: float) -> ConnectClient:
    return ConnectClient(fake.url, sleep=lambda _: None, **options)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("status", "resolution"),
    [
        (200, Resolution.SUCCESS),
        (201, Resolution.SUCCESS),
        (204, Resolution.SUCCESS),
        (400, Resolution.REJECTED),
        (404, Resolution.NOT_FOUND),
        (409, Resolution.RETRY),
        (422, Resolution.REJECTED),
        (500, Resolution.UNAVAILABLE),
        (503, Resolution.UNAVAILABLE),
    ],
)
def test_resolution_table(status: int, resolution: Resolution) -> None:
    assert resolve(status) is resolution


def test_connection_refused_is_transient_and_names_the_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ConnectUnavailable) as raised:
        ConnectClient(url).connectors()
    assert is_transient(raised.value)
    assert raised.value.url == f"{url}/connectors"
    assert "connection refused" in str(raised.value)


def test_a_4xx_is_terminal_and_carries_connects_message(fake_connect: FakeConnect) -> None:
    message = "Connector configuration is invalid and contains the following 1 error(s)"
    fake_connect.script(
        "PUT", "/connectors/cdc/config", (400, {"error_code": 400, "message": message})
    )
    with pytest.raises(ConnectRequestRejected) as raised:
        _client(fake_connect).put_config("cdc", {"connector.class": "X"})
    assert isinstance(raised.value, Terminal)
    assert (raised.value.status, raised.value.error_code) == (400, 400)
    assert raised.value.message == message
    assert message in str(raised.value)


def test_a_404_is_not_found_and_reads_as_absent(fake_connect: FakeConnect) -> None:
    client = _client(fake_connect)
    assert client.get_config("nope") is None
    assert client.status("nope") is None
    assert client.delete("nope") is False
    with pytest.raises(ConnectorNotFound, match="no route"):
        client.stop("nope")


def test_a_5xx_is_transient(fake_connect: FakeConnect) -> None:
    fake_connect.script(
        "GET", "/connectors", (500, {"error_code": 500, "message": "Request timed out"})
    )
    with pytest.raises(ConnectUnavailable, match="Request timed out") as raised:
        _client(fake_connect).connectors()
    assert isinstance(raised.value, Transient)


def test_409_rebalance_is_retried_until_it_passes(fake_connect: FakeConnect) -> None:
    busy = (409, {"error_code": 409, "message": "Cannot complete request: rebalance"})
    fake_connect.script("PUT", "/connectors/cdc/config", busy, busy, (201, {"name": "cdc"}))
    delays: list[float] = []
    client = ConnectClient(fake_connect.url, sleep=delays.append, backoff_s=0.1)
    assert client.put_config("cdc", {"connector.class": "X"}) is True
    assert len(delays) == 2
    # exponential, with jitter
    assert 0.05 <= delays[0] <= 0.1
    assert 0.1 <= delays[1] <= 0.2
    assert [r.method for r in fake_connect.requests] == ["PUT"] * 3


def test_409_retries_are_bounded(fake_connect: FakeConnect) -> None:
    busy = (409, {"error_code": 409, "message": "rebalance in progress"})
    fake_connect.script("PUT", "/connectors/cdc/config", busy)
    with pytest.raises(ConnectBusy, match="rebalance in progress") as raised:
        _client(fake_connect, busy_retries=3).put_config("cdc", {"connector.class": "X"})
    assert is_transient(raised.value)
    assert len(fake_connect.requests) == 4


def test_put_config_says_created_or_updated_and_never_sends_the_name(
    fake_connect: FakeConnect,
) -> None:
    fake_connect.script("PUT", "/connectors/cdc/config", (201, {}), (200, {}))
    client = _client(fake_connect)
    assert client.put_config("cdc", {"name": "cdc", "connector.class": "X"}) is True
    assert client.put_config("cdc", {"connector.class": "X"}) is False
    assert fake_connect.requests[0].body == {"connector.class": "X"}


def test_validate_lists_each_invalid_field_with_its_messages(fake_connect: FakeConnect) -> None:
    fake_connect.script(
        "PUT",
        "/connector-plugins/PostgresConnector/config/validate",
        (
            200,
            {
                "name": "io.debezium.connector.postgresql.PostgresConnector",
                "error_count": 1,
                "configs": [
                    {"value": {"name": "topic.prefix", "value": "cdc", "errors": []}},
                    {
                        "value": {
                            "name": "database.hostname",
                            "value": "db",
                            "errors": ["Error while validating connector config: refused"],
                        }
                    },
                ],
            },
        ),
    )
    config = {"connector.class": "io.debezium.connector.postgresql.PostgresConnector"}
    problems = _client(fake_connect).validate(config)
    assert problems == [
        FieldProblem("database.hostname", ("Error while validating connector config: refused",))
    ]
    assert fake_connect.requests[0].body == config


def test_status_is_typed(fake_connect: FakeConnect) -> None:
    fake_connect.script("GET", "/connectors/cdc/status", (200, RUNNING))
    state = _client(fake_connect).status("cdc")
    assert state is not None
    assert (state.state, state.worker_id, state.running, state.failed) == (
        "RUNNING",
        "w1:8083",
        True,
        False,
    )
    assert [(t.id, t.state) for t in state.tasks] == [(0, "RUNNING")]


def test_wait_running_polls_until_connector_and_tasks_run(fake_connect: FakeConnect) -> None:
    starting = {**RUNNING, "tasks": []}
    unassigned = {**RUNNING, "tasks": [{"id": 0, "state": "UNASSIGNED", "worker_id": ""}]}
    fake_connect.script(
        "GET",
        "/connectors/cdc/status",
        (404, {"error_code": 404, "message": "not yet"}),
        (200, starting),
        (200, unassigned),
        (200, RUNNING),
    )
    state = _client(fake_connect).wait_running("cdc", timeout_s=10, interval_s=0)
    assert state.running
    assert len(fake_connect.requests) == 4


def test_wait_running_surfaces_the_failed_tasks_trace(fake_connect: FakeConnect) -> None:
    failed = {**RUNNING, "tasks": [{"id": 0, "state": "FAILED", "worker_id": "w1", "trace": TRACE}]}
    fake_connect.script("GET", "/connectors/cdc/status", (200, failed))
    with pytest.raises(ConnectorFailed) as raised:
        _client(fake_connect).wait_running("cdc", timeout_s=10, interval_s=0)
    assert raised.value.trace == TRACE
    assert isinstance(raised.value, Terminal)
    assert "Creation of replication slot failed" in str(raised.value)
    assert "must be superuser or replication role" in str(raised.value)  # the root cause


def test_wait_running_gives_up_at_the_deadline(fake_connect: FakeConnect) -> None:
    paused = {**RUNNING, "connector": {"state": "PAUSED", "worker_id": "w1"}}
    fake_connect.script("GET", "/connectors/cdc/status", (200, paused))
    client = ConnectClient(fake_connect.url)
    with pytest.raises(ConnectorNotRunning, match="PAUSED") as raised:
        client.wait_running("cdc", timeout_s=0.3, interval_s=0.05)
    assert is_transient(raised.value)


def test_stop_resume_restart_reset_and_delete_hit_their_endpoints(
    fake_connect: FakeConnect,
) -> None:
    for method, path in [
        ("PUT", "/connectors/cdc/stop"),
        ("PUT", "/connectors/cdc/resume"),
        ("POST", "/connectors/cdc/restart?includeTasks=true&onlyFailed=true"),
        ("DELETE", "/connectors/cdc/offsets"),
        ("DELETE", "/connectors/cdc"),
    ]:
        fake_connect.script(method, path, (202 if method != "DELETE" else 204, None))
    client = _client(fake_connect)
    client.stop("cdc")
    client.resume("cdc")
    client.restart("cdc", only_failed=True)
    client.reset_offsets("cdc")
    assert client.delete("cdc") is True
    assert [(r.method, r.path) for r in fake_connect.requests] == [
        ("PUT", "/connectors/cdc/stop"),
        ("PUT", "/connectors/cdc/resume"),
        ("POST", "/connectors/cdc/restart?includeTasks=true&onlyFailed=true"),
        ("DELETE", "/connectors/cdc/offsets"),
        ("DELETE", "/connectors/cdc"),
    ]
