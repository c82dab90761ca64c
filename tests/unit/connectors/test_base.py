"""The connectors contract: states, failure summaries, masking, error markers."""

from __future__ import annotations

from connectors.base import (
    MASK,
    ConnectorConfig,
    ConnectorFailed,
    ConnectorState,
    FieldProblem,
    InvalidConnectorConfig,
    TaskState,
    summary,
)
from headwater.errors import Terminal


def test_running_needs_the_connector_and_every_task() -> None:
    task = TaskState(0, "RUNNING", "w")
    assert ConnectorState("c", "RUNNING", "w", (task,)).running
    assert not ConnectorState("c", "RUNNING", "w", ()).running
    assert not ConnectorState("c", "RUNNING", "w", (task, TaskState(1, "UNASSIGNED", ""))).running
    assert not ConnectorState("c", "PAUSED", "w", (task,)).running


def test_the_failed_tasks_trace_is_preferred_to_the_connectors() -> None:
    state = ConnectorState(
        "c",
        "RUNNING",
        "w",
        (TaskState(0, "RUNNING", "w"), TaskState(1, "FAILED", "w", "Boom\n\tat x")),
        trace=None,
    )
    assert state.failed
    error = ConnectorFailed(state)
    assert isinstance(error, Terminal)
    assert error.trace == "Boom\n\tat x"
    assert str(error) == "connector c FAILED: Boom"


def test_summary_keeps_the_root_cause() -> None:
    trace = "A: outer\n\tat x\nCaused by: B: middle\n\tat y\nCaused by: C: root\n\tat z"
    assert summary(trace) == "A: outer (caused by C: root)"
    assert summary("") == ""


def test_masking_hides_secret_keys_and_anything_named_password() -> None:
    config = ConnectorConfig(
        "c",
        {"database.password": "p1", "ssl.truststore.password": "p2", "token": "t", "a": "b"},
        frozenset({"token"}),
    )
    assert config.masked() == {
        "database.password": MASK,
        "ssl.truststore.password": MASK,
        "token": MASK,
        "a": "b",
    }


def test_an_invalid_config_lists_every_field() -> None:
    error = InvalidConnectorConfig(
        "c",
        [FieldProblem("database.hostname", ("refused",)), FieldProblem("slot.name", ("bad", "x"))],
    )
    assert isinstance(error, Terminal)
    assert (
        str(error)
        == "connector c has an invalid config: database.hostname: refused; slot.name: bad / x"
    )
