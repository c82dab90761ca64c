"""A typed client of Kafka Connect's REST API (validate, configure, watch, stop, delete).

Connect's answers map to errors through one table (:data:`RESOLUTIONS`): a refused
connection or a 5xx is :class:`~connectors.base.ConnectUnavailable` (transient), a 409
(a rebalance is in progress) is retried with bounded exponential backoff and jitter, a
404 is :class:`~connectors.base.ConnectorNotFound` and any other 4xx is
:class:`~connectors.base.ConnectRequestRejected` with Connect's own ``message``.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

from connectors.base import (
    ConnectBusy,
    ConnectorFailed,
    ConnectorNotFound,
    ConnectorNotRunning,
    ConnectorState,
    ConnectRequestRejected,
    ConnectUnavailable,
    FieldProblem,
    TaskState,
)
from headwater.errors import Transient


class Resolution(enum.Enum):
    """What to do with an HTTP status from Connect."""

    SUCCESS = "success"
    RETRY = "retry"  # Connect is rebalancing: the same request will work shortly
    UNAVAILABLE = "unavailable"  # transient: the worker is down, starting or overloaded
    NOT_FOUND = "not_found"  # terminal: no such connector or plugin
    REJECTED = "rejected"  # terminal: Connect refused the request and said why


RESOLUTIONS: Mapping[int, Resolution] = {
    404: Resolution.NOT_FOUND,
    409: Resolution.RETRY,
    500: Resolution.UNAVAILABLE,
    502: Resolution.UNAVAILABLE,
    503: Resolution.UNAVAILABLE,
    504: Resolution.UNAVAILABLE,
}


def resolve(status: int) -> Resolution:
    """The resolution of an HTTP status: the table first, then its class (2xx, 4xx, 5xx)."""
    if status in RESOLUTIONS:
        return RESOLUTIONS[status]
    if status < 400:
        return Resolution.SUCCESS
    return Resolution.REJECTED if status < 500 else Resolution.UNAVAILABLE


class ConnectClient:
    """Kafka Connect's REST API, one method per endpoint Headwater uses."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 30.0,
        validate_timeout_s: float = 100.0,
        busy_retries: int = 8,
        backoff_s: float = 0.25,
        max_backoff_s: float = 5.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self._timeout_s = timeout_s
        # Debezium's validation connects to the database, which may take a while.
        self._validate_timeout_s = validate_timeout_s
        self._busy_retries = busy_retries
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._session = session or requests.Session()
        self._sleep = sleep

    # -- HTTP ---------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        timeout_s: float | None = None,
    ) -> Any:
        return self._exchange(method, path, body=body, timeout_s=timeout_s)[1]

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        timeout_s: float | None = None,
    ) -> tuple[int, Any]:
        """Send one request (retrying 409s); the status and the decoded body, or an error."""
        url = f"{self.url}{path}"
        attempt = 0
        while True:
            try:
                reply = self._session.request(
                    method,
                    url,
                    json=body,
                    headers={"Accept": "application/json"},
                    timeout=timeout_s or self._timeout_s,
                )
            except requests.ConnectionError as error:
                raise ConnectUnavailable(url, _reason(error)) from error
            except requests.Timeout as error:
                waited = timeout_s or self._timeout_s
                raise ConnectUnavailable(url, f"no answer within {waited}s") from error
            resolution = resolve(reply.status_code)
            if resolution is Resolution.SUCCESS:
                return reply.status_code, reply.json() if reply.content else None
            error_code, message = _error_of(reply)
            if resolution is Resolution.RETRY:
                if attempt >= self._busy_retries:
                    raise ConnectBusy(url, message)
                delay = min(self._max_backoff_s, self._backoff_s * 2**attempt)
                self._sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 (jitter, not crypto)
                attempt += 1
                continue
            if resolution is Resolution.UNAVAILABLE:
                raise ConnectUnavailable(url, f"{reply.status_code}: {message}")
            error_type = (
                ConnectorNotFound if resolution is Resolution.NOT_FOUND else ConnectRequestRejected
            )
            raise error_type(method, url, reply.status_code, error_code, message)

    # -- endpoints ----------------------------------------------------------------------

    def connectors(self) -> list[str]:
        """The names of every connector on the cluster."""
        return list(self._request("GET", "/connectors"))

    def plugins(self) -> list[str]:
        """The class of every connector plugin the workers have installed."""
        return [str(plugin["class"]) for plugin in self._request("GET", "/connector-plugins")]

    def validate(self, config: Mapping[str, str], plugin: str | None = None) -> list[FieldProblem]:
        """Every field the plugin's own validation rejects (empty: the config is valid).

        ``PUT /connector-plugins/{plugin}/config/validate``; ``plugin`` defaults to the
        simple name of ``connector.class``.
        """
        plugin = plugin or config["connector.class"].rsplit(".", 1)[-1]
        result = self._request(
            "PUT",
            f"/connector-plugins/{_segment(plugin)}/config/validate",
            body=dict(config),
            timeout_s=self._validate_timeout_s,
        )
        problems = []
        for entry in result.get("configs", []):
            value = entry.get("value") or {}
            if value.get("errors"):
                problems.append(FieldProblem(value["name"], tuple(value["errors"])))
        return problems

    def get_config(self, name: str) -> dict[str, str] | None:
        """The deployed config of a connector, or None when there is no such connector."""
        try:
            config = self._request("GET", f"/connectors/{_segment(name)}/config")
        except ConnectorNotFound:
            return None
        return {str(key): str(value) for key, value in config.items()}

    def put_config(self, name: str, config: Mapping[str, str]) -> bool:
        """Create or update a connector (idempotent). Returns True when it was created."""
        body = {key: value for key, value in config.items() if key != "name"}
        status, _ = self._exchange("PUT", f"/connectors/{_segment(name)}/config", body=body)
        return status == 201

    def task_configs(self, name: str) -> list[dict[str, str]]:
        """The configs Connect generated for the connector's tasks."""
        tasks = self._request("GET", f"/connectors/{_segment(name)}/tasks")
        return [{str(k): str(v) for k, v in task.get("config", {}).items()} for task in tasks]

    def status(self, name: str) -> ConnectorState | None:
        """The connector's and its tasks' states, or None when there is no such connector."""
        try:
            reply = self._request("GET", f"/connectors/{_segment(name)}/status")
        except ConnectorNotFound:
            return None
        connector = reply.get("connector", {})
        tasks = tuple(
            TaskState(
                id=int(task["id"]),
                state=str(task["state"]),
                worker_id=str(task.get("worker_id", "")),
                trace=task.get("trace"),
            )
            for task in sorted(reply.get("tasks", []), key=lambda task: int(task["id"]))
        )
        return ConnectorState(
            name=str(reply.get("name", name)),
            state=str(connector.get("state", "UNASSIGNED")),
            worker_id=str(connector.get("worker_id", "")),
            tasks=tasks,
            trace=connector.get("trace"),
        )

    def offsets(self, name: str) -> list[dict[str, Any]]:
        """The connector's committed source offsets (``[{"partition", "offset"}]``)."""
        reply = self._request("GET", f"/connectors/{_segment(name)}/offsets")
        return list(reply.get("offsets", []))

    def stop(self, name: str) -> None:
        """Stop the connector and shut its tasks down; its config and offsets stay."""
        self._request("PUT", f"/connectors/{_segment(name)}/stop")

    def pause(self, name: str) -> None:
        """Pause the connector's tasks (they keep their resources; the slot is held, idle)."""
        self._request("PUT", f"/connectors/{_segment(name)}/pause")

    def resume(self, name: str) -> None:
        """Resume a stopped or paused connector."""
        self._request("PUT", f"/connectors/{_segment(name)}/resume")

    def restart(self, name: str, *, include_tasks: bool = True, only_failed: bool = False) -> None:
        """Restart the connector and (by default) its tasks."""
        query = f"includeTasks={str(include_tasks).lower()}&onlyFailed={str(only_failed).lower()}"
        self._request("POST", f"/connectors/{_segment(name)}/restart?{query}")

    def reset_offsets(self, name: str) -> None:
        """Forget the source offsets of a STOPPED connector (a re-created one starts afresh)."""
        self._request("DELETE", f"/connectors/{_segment(name)}/offsets")

    def delete(self, name: str) -> bool:
        """Delete the connector; returns False when there was none."""
        try:
            self._request("DELETE", f"/connectors/{_segment(name)}")
        except ConnectorNotFound:
            return False
        return True

    # -- waiting ------------------------------------------------------------------------

    def wait_running(
        self, name: str, timeout_s: float = 120.0, interval_s: float = 0.5
    ) -> ConnectorState:
        """Poll until the connector and all its tasks are RUNNING.

        Raises :class:`ConnectorFailed` (with the task's trace) as soon as something is
        FAILED, and :class:`ConnectorNotRunning` when the deadline passes first.
        """
        return self._wait(name, lambda state: state.running, timeout_s, interval_s, fail=True)

    def wait_stopped(
        self, name: str, timeout_s: float = 60.0, interval_s: float = 0.5
    ) -> ConnectorState:
        """Poll until the connector is STOPPED and has no tasks left."""
        return self._wait(
            name,
            lambda state: state.state == "STOPPED" and not state.tasks,
            timeout_s,
            interval_s,
            fail=False,
        )

    def _wait(
        self,
        name: str,
        done: Callable[[ConnectorState], bool],
        timeout_s: float,
        interval_s: float,
        *,
        fail: bool,
    ) -> ConnectorState:
        deadline = time.monotonic() + timeout_s
        last: ConnectorState | None = None
        last_error: Transient | None = None
        while True:
            try:
                last = self.status(name)
                last_error = None
            except Transient as error:  # Connect restarting: keep polling until the deadline
                last_error = error
            if last is not None and last_error is None:
                if fail and last.failed:
                    raise ConnectorFailed(last)
                if done(last):
                    return last
            if time.monotonic() >= deadline:
                raise ConnectorNotRunning(name, timeout_s, last) from last_error
            self._sleep(interval_s)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _reason(error: requests.ConnectionError) -> str:
    text = str(error)
    if "Connection refused" in text or "NewConnectionError" in text:
        return "connection refused"
    return text


def _error_of(reply: requests.Response) -> tuple[int, str]:
    """Connect's ``{"error_code", "message"}`` body, or the status and raw text."""
    try:
        body = reply.json()
    except ValueError:
        return reply.status_code, reply.text.strip()[:500] or reply.reason
    if isinstance(body, dict) and "message" in body:
        return int(body.get("error_code", reply.status_code)), str(body["message"])
    return reply.status_code, reply.text.strip()[:500]
