"""Apply and delete the CDC connector: validate, configure, wait for RUNNING, signal snapshots.

``apply_connector`` is idempotent. A new connector snapshots every captured table
(``snapshot.mode=initial``). Debezium does not snapshot a table added to
``table.include.list`` later, so when the deployed list lacks some captured tables the
connector is stopped (no task with the old list is left reading the WAL), an
``execute-snapshot`` signal for exactly the added tables is written to the signaling
table, and the connector is reconfigured and resumed: its first task with the new list
reads the signal from the WAL and snapshots those tables incrementally.

The password is not in the config but in a file the workers read (:mod:`connectors.secrets`),
written here first unless the workers mount it. Connect reads it only when it starts the
tasks, so a changed password restarts an otherwise unchanged connector.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from connectors.base import (
    ConnectorNotStreaming,
    ConnectorState,
    ConnectRequestRejected,
    InvalidConnectorConfig,
)
from connectors.client import ConnectClient
from connectors.debezium_postgres import (
    connector_config,
    connector_password,
    parse_include_list,
    password_file,
    source_dsn,
)
from connectors.secrets import secrets_folder, write_secret
from connectors.signals import request_incremental_snapshot
from connectors.slots import drop_slot, slot_active, wait_released
from connectors.source_setup import check_source_ready, tables_without_primary_key
from headwater.settings import Settings

Action = Literal["created", "updated", "restarted", "resumed", "unchanged"]


@dataclass(frozen=True)
class ApplyResult:
    """What ``apply_connector`` did and the connector's state afterwards."""

    name: str
    action: Action
    added_tables: tuple[str, ...]
    snapshot_signal: str | None
    status: ConnectorState
    #: The task holds the replication slot (False: still in its first snapshot, or slow).
    streaming: bool
    #: Added tables without a primary key: Debezium cannot snapshot them incrementally.
    not_snapshotted: tuple[str, ...] = ()


def place_secrets(settings: Settings) -> bool:
    """Write the password file where the workers read it (unless mounted); True if it changed."""
    if not settings.connect.write_secrets:
        return False
    return write_secret(
        secrets_folder(settings), password_file(settings.cdc), connector_password(settings)
    )


def validate_connector(settings: Settings, client: ConnectClient) -> None:
    """Raise :class:`InvalidConnectorConfig` with Connect's messages if any field is invalid.

    The password file is placed first: Connect validates with the password it resolves.
    """
    desired = connector_config(settings)
    place_secrets(settings)
    problems = client.validate({"name": desired.name, **desired.config})
    if problems:
        raise InvalidConnectorConfig(desired.name, problems)


def apply_connector(
    settings: Settings, client: ConnectClient, timeout_s: float = 180.0, settle_s: float = 15.0
) -> ApplyResult:
    """Validate, create or update the connector, wait until it RUNS, snapshot added tables."""
    desired = connector_config(settings)
    name = desired.name
    password_changed = place_secrets(settings)
    validate_connector(settings, client)
    check_source_ready(settings)
    deployed = client.get_config(name)
    added: tuple[str, ...] = ()
    keyless: tuple[str, ...] = ()
    signal: str | None = None
    action: Action
    if deployed is None:
        client.put_config(name, desired.config)
        action = "created"
    else:
        current = {key: value for key, value in deployed.items() if key != "name"}
        was = set(parse_include_list(current.get("table.include.list", "")))
        added = tuple(table for table in settings.cdc.tables if table not in was)
        if current != dict(desired.config):
            # Stop first, so that no task with the old config is left running: it would
            # read the snapshot signal and ignore it, and its FAILED state could be read
            # as the new task's.
            _stop(settings, client, timeout_s)
            try:
                if added:
                    keyless = tuple(tables_without_primary_key(settings, list(added)))
                    signal = _signal_while_stopped(settings, added, keyless)
                client.put_config(name, desired.config)
            finally:  # a refused config must not leave the connector stopped
                client.resume(name)
            action = "updated"
        else:
            action = _revive(settings, client, timeout_s, password_changed)
    status, streaming = _wait_streaming(settings, client, timeout_s, settle_s)
    return ApplyResult(name, action, added, signal, status, streaming, keyless)


def _signal_while_stopped(
    settings: Settings, added: tuple[str, ...], keyless: tuple[str, ...]
) -> str | None:
    """Queue the snapshot signal in the WAL, for the resumed task to read with its new config.

    Written once the slot is released (no task of the old config reads the WAL any more),
    the signal sits after the connector's offset: the task that resumes with the new
    config reads it whenever it starts, even if this process dies or the start fails first.
    """
    to_snapshot = [table for table in added if table not in keyless]
    return request_incremental_snapshot(settings, to_snapshot) if to_snapshot else None


def _stop(settings: Settings, client: ConnectClient, timeout_s: float) -> None:
    """Stop the connector and wait until its task is gone and has let go of the slot."""
    name = settings.cdc.connector_name
    client.stop(name)
    client.wait_stopped(name, timeout_s=timeout_s)
    wait_released(source_dsn(settings), settings.cdc.slot_name, timeout_s=timeout_s)


def _wait_streaming(
    settings: Settings, client: ConnectClient, timeout_s: float, settle_s: float
) -> tuple[ConnectorState, bool]:
    """Wait for RUNNING, then for the task to stream (to hold its replication slot).

    A task reports RUNNING before Debezium opens its replication stream, and some
    failures come only then (Debezium retries them in a loop, the task stays RUNNING).
    While the initial snapshot runs the slot stays free, possibly for hours: then the
    connector is reported running, not yet streaming, after ``settle_s`` without failure.
    Otherwise it must stream before ``timeout_s``, or :class:`ConnectorNotStreaming`.
    """
    name = settings.cdc.connector_name
    dsn, slot = source_dsn(settings), settings.cdc.slot_name
    state = client.wait_running(name, timeout_s=timeout_s)
    started = time.monotonic()
    while not slot_active(dsn, slot):
        waited = time.monotonic() - started
        if initial_snapshot_pending(client, name):
            if waited >= settle_s:
                return state, False
        elif waited >= timeout_s:
            raise ConnectorNotStreaming(name, slot, timeout_s)
        time.sleep(0.5)
        state = client.wait_running(name, timeout_s=timeout_s)  # raises once FAILED
    return state, True


def initial_snapshot_pending(client: ConnectClient, name: str) -> bool:
    """Whether the connector has yet to finish its first snapshot, by its offsets."""
    try:
        offsets = client.offsets(name)
    except ConnectRequestRejected:  # a Connect without the offsets API (before 3.5)
        return True
    if not offsets:
        return True
    for entry in offsets:
        offset = entry.get("offset") or {}
        snapshot = str(offset.get("snapshot", "false")).lower()
        if snapshot != "false" and not offset.get("snapshot_completed", False):
            return True
    return False


def _revive(
    settings: Settings, client: ConnectClient, timeout_s: float, password_changed: bool
) -> Action:
    """Get an unchanged connector running again if it failed, paused or was stopped.

    A running one is restarted when its password changed: its tasks read it only at start.
    """
    name = settings.cdc.connector_name
    state = client.status(name)
    if state is None or (state.running and not password_changed):
        return "unchanged"
    if state.failed or state.running:
        # Stop and resume rather than POST .../restart: once stopped, the failed task's
        # status is gone, so the next FAILED read is a new failure, not the old one.
        _stop(settings, client, timeout_s)
        client.resume(name)
        return "restarted"
    if state.state in {"PAUSED", "STOPPED"}:
        client.resume(name)
        return "resumed"
    return "unchanged"


def delete_connector(
    settings: Settings,
    client: ConnectClient,
    *,
    with_slot: bool = False,
    timeout_s: float = 60.0,
) -> list[str]:
    """Delete the connector; with ``with_slot``, also its offsets and replication slot.

    Offsets and slot go together: a connector re-created with the same name would
    otherwise resume from offsets the new slot cannot serve, skipping its snapshot.
    """
    name = settings.cdc.connector_name
    done = []
    if with_slot and client.status(name) is not None:
        _stop(settings, client, timeout_s)
        client.reset_offsets(name)
        done.append(f"reset the offsets of connector {name}")
    if client.delete(name):
        done.append(f"deleted connector {name}")
    else:
        done.append(f"connector {name} was not deployed")
    if with_slot:
        slot = settings.cdc.slot_name
        if drop_slot(source_dsn(settings), slot, timeout_s=timeout_s):
            done.append(f"dropped replication slot {slot}")
        else:
            done.append(f"replication slot {slot} did not exist")
    return done
