"""The connectors contract: a named connector config, its masked form, and the errors.

Every error here derives from :class:`ConnectorError` and carries one of the project's
markers, so a caller decides to retry with ``isinstance(error, Transient)``:

- :class:`ConnectUnavailable`, :class:`ConnectBusy`, :class:`ConnectorNotRunning`,
  :class:`ConnectorNotStreaming`: transient (Connect is down, rebalancing, or the
  connector is still starting or retrying);
- :class:`ConnectRequestRejected`, :class:`InvalidConnectorConfig`,
  :class:`ConnectorFailed`, :class:`SourceNotReady`: terminal (a person must act).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from headwater.errors import HeadwaterError, Terminal, Transient

MASK = "********"


class ConnectorError(HeadwaterError):
    """Root of the errors raised by the connectors package."""


class ConnectUnavailable(ConnectorError, Transient):
    """Kafka Connect's REST API did not answer (refused, timed out, or a 5xx)."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"Kafka Connect at {url} is unavailable: {problem}")


class ConnectBusy(ConnectorError, Transient):
    """Connect kept answering 409 (a rebalance is in progress) until the retries ran out."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(f"Kafka Connect at {url} is rebalancing: {message}")


class ConnectRequestRejected(ConnectorError, Terminal):
    """Connect refused a request with a 4xx; ``message`` is Connect's own explanation."""

    def __init__(self, method: str, url: str, status: int, error_code: int, message: str) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.error_code = error_code
        self.message = message
        super().__init__(f"Kafka Connect refused {method} {url} ({status}): {message}")


class ConnectorNotFound(ConnectRequestRejected):
    """The connector (or plugin) named in the request does not exist."""


@dataclass(frozen=True)
class FieldProblem:
    """One config field Connect's validation rejected, with its messages."""

    name: str
    errors: tuple[str, ...]


class InvalidConnectorConfig(ConnectorError, Terminal):
    """Connect's ``config/validate`` reported invalid fields; nothing was applied."""

    def __init__(self, connector: str, problems: list[FieldProblem]) -> None:
        self.connector = connector
        self.problems = problems
        fields = "; ".join(f"{p.name}: {' / '.join(p.errors)}" for p in problems)
        super().__init__(f"connector {connector} has an invalid config: {fields}")


@dataclass(frozen=True)
class TaskState:
    """The state of one connector task as Connect reports it."""

    id: int
    state: str
    worker_id: str
    trace: str | None = None


@dataclass(frozen=True)
class ConnectorState:
    """The connector's state and its tasks' states (``GET /connectors/{name}/status``)."""

    name: str
    state: str
    worker_id: str
    tasks: tuple[TaskState, ...] = ()
    trace: str | None = None

    @property
    def running(self) -> bool:
        """The connector and at least one task run, and no task is in another state."""
        return (
            self.state == "RUNNING"
            and bool(self.tasks)
            and all(task.state == "RUNNING" for task in self.tasks)
        )

    @property
    def failed(self) -> bool:
        """The connector or one of its tasks failed (Connect will not restart it by itself)."""
        return self.state == "FAILED" or any(task.state == "FAILED" for task in self.tasks)

    def failure_trace(self) -> str:
        """The stack trace of what failed: the first failed task's, else the connector's."""
        for task in self.tasks:
            if task.state == "FAILED" and task.trace:
                return task.trace
        return self.trace or "(Connect reported no trace)"


class ConnectorFailed(ConnectorError, Terminal):
    """The connector or a task is FAILED; ``trace`` is the Java stack trace Connect keeps."""

    def __init__(self, status: ConnectorState) -> None:
        self.status = status
        self.trace = status.failure_trace()
        super().__init__(f"connector {status.name} FAILED: {summary(self.trace)}")


def summary(trace: str) -> str:
    """A Java stack trace in one line: its first line, and its root cause when it has one."""
    lines = [line.strip() for line in trace.strip().splitlines()]
    if not lines:
        return ""
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by:")]
    return f"{lines[0]} (caused by {causes[-1]})" if causes else lines[0]


class ConnectorNotRunning(ConnectorError, Transient):
    """The connector did not reach RUNNING before the deadline (and did not fail)."""

    def __init__(self, name: str, timeout_s: float, last: ConnectorState | None) -> None:
        self.name = name
        self.last = last
        states = "absent"
        if last is not None:
            tasks = ", ".join(f"task {t.id} {t.state}" for t in last.tasks) or "no tasks"
            states = f"{last.state} ({tasks})"
        super().__init__(f"connector {name} not RUNNING after {timeout_s:.0f}s: {states}")


class ConnectorNotStreaming(ConnectorError, Transient):
    """The task is RUNNING but has not opened its replication stream before the deadline.

    Debezium retries what it deems retriable (the database unreachable, a role without
    REPLICATION) by restarting itself, without ever marking the task FAILED: the cause is
    in the Connect worker's log, not in the REST status.
    """

    def __init__(self, name: str, slot: str, timeout_s: float) -> None:
        self.name = name
        self.slot = slot
        super().__init__(
            f"connector {name} is RUNNING but has not held replication slot {slot} within "
            f"{timeout_s:.0f}s: Debezium is retrying an error, see the Connect worker log"
        )


class SourceNotReady(ConnectorError, Terminal):
    """The source database is not prepared for the config (run `headwater source setup`)."""


@dataclass(frozen=True)
class ConnectorConfig:
    """A connector's name and its flat Kafka Connect config, with the keys that are secret."""

    name: str
    config: Mapping[str, str]
    secret_keys: frozenset[str] = field(default_factory=frozenset)

    def masked(self) -> dict[str, str]:
        """The config safe to print or log: every secret value replaced."""
        return mask(self.config, self.secret_keys)


def mask(config: Mapping[str, str], secret_keys: frozenset[str]) -> dict[str, str]:
    """A copy of ``config`` with the values of ``secret_keys`` (and ``*password*`` keys) hidden."""
    return {
        key: MASK if key in secret_keys or "password" in key.lower() else value
        for key, value in config.items()
    }
