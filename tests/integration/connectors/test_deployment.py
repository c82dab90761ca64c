"""`headwater connectors validate | apply | status | delete` against the real Connect."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from connectors.base import ConnectorFailed, ConnectorNotStreaming, InvalidConnectorConfig
from connectors.debezium_postgres import render_config, signal_table
from connectors.deployment import apply_connector, delete_connector, validate_connector
from connectors.source_setup import setup_source
from control.stack.tls import StackTls
from headwater.kafka.clients import make_admin
from headwater.settings import Settings
from tests.integration.connectors.conftest import CdcSandbox, Record


def _ids(records: list[Record], op: str) -> set[int]:
    return {
        r.payload["after"]["id"] for r in records if r.payload is not None and r.payload["op"] == op
    }


def _slot(box: CdcSandbox) -> list[tuple[object, ...]]:
    return box.sql("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (box.tag,))


def test_validate_reports_a_bad_password_and_a_bad_host(sandbox: CdcSandbox) -> None:
    setup_source(sandbox.settings("customers"))

    wrong_password = sandbox.settings("customers", password=SecretStr("not-the-password"))
    with pytest.raises(InvalidConnectorConfig) as raised:
        validate_connector(wrong_password, sandbox.client)
    [problem] = raised.value.problems
    assert problem.name == "database.hostname"
    assert "password authentication failed" in problem.errors[0]

    wrong_host = sandbox.settings("customers", database_host="127.0.0.1", database_port=9)
    with pytest.raises(InvalidConnectorConfig) as refused:
        validate_connector(wrong_host, sandbox.client)
    assert [p.name for p in refused.value.problems] == ["database.hostname"]
    assert "Connection to 127.0.0.1:9 refused" in refused.value.problems[0].errors[0]

    # apply validates first and refuses: nothing reaches Connect.
    with pytest.raises(InvalidConnectorConfig):
        apply_connector(wrong_password, sandbox.client)
    assert sandbox.client.status(f"test-{sandbox.tag}") is None

    done = sandbox.cli(wrong_password, "connectors", "validate")
    assert done.returncode == 2
    assert "invalid database.hostname: Error while validating connector config:" in done.stderr
    assert "not-the-password" not in done.stdout + done.stderr


def test_apply_snapshots_existing_rows_then_streams_changes(sandbox: CdcSandbox) -> None:
    settings = sandbox.settings("customers", "orders")
    setup_source(settings)

    result = apply_connector(settings, sandbox.client)

    assert result.action == "created"
    assert result.status.running
    assert result.streaming  # small tables: the snapshot is done within the settle time
    topics = [sandbox.topic("customers"), sandbox.topic("orders")]
    sandbox.consume(
        topics,
        lambda records: _ids(records, "r") >= {1, 2, 3, 10, 11, 12, 13, 14},
        what="the snapshot of the pre-existing rows",
    )
    sandbox.sql("INSERT INTO {schema}.customers VALUES (4, 'Dana', NULL)")
    sandbox.sql(
        "INSERT INTO {schema}.orders (id, customer_id, amount, currency) VALUES (15, 4, 1.5, 'EUR')"
    )
    records = sandbox.consume(
        topics,
        lambda records: {4, 15} <= _ids(records, "c"),
        what="the inserts streamed from the WAL",
    )
    created = [r for r in records if r.payload and r.payload["op"] == "c"]
    assert {r.topic for r in created} == set(topics)
    assert all(r.payload["source"]["lsn"] for r in created)

    again = apply_connector(settings, sandbox.client)
    assert (again.action, again.added_tables) == ("unchanged", ())

    status = sandbox.cli(settings, "connectors", "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines() == [
        f"connector test-{sandbox.tag} RUNNING (worker {result.status.worker_id})",
        f"task 0 RUNNING (worker {result.status.tasks[0].worker_id})",
    ]
    # Debezium captures its signaling table by itself; the Filter keeps it out of Kafka.
    signal_topic = settings.cdc.topic(signal_table(settings.cdc))
    assert signal_topic not in make_admin(settings.kafka).list_topics(timeout=10).topics

    restarted = sandbox.cli(settings, "connectors", "restart")
    assert restarted.returncode == 0, restarted.stderr
    assert f"connector test-{sandbox.tag} RUNNING" in restarted.stdout
    sandbox.sql("INSERT INTO {schema}.customers VALUES (5, 'Eve', NULL)")
    sandbox.consume(
        [sandbox.topic("customers")],
        lambda records: 5 in _ids(records, "c"),
        what="an insert after the restart",
    )


def test_a_table_added_to_the_settings_is_captured_with_its_existing_rows(
    sandbox: CdcSandbox,
) -> None:
    first = sandbox.settings("customers")
    setup_source(first)
    apply_connector(first, sandbox.client)
    sandbox.consume(
        [sandbox.topic("customers")],
        lambda records: _ids(records, "r") >= {1, 2, 3},
        what="the initial snapshot of customers",
    )
    sandbox.sql("UPDATE {schema}.orders SET utm_source = 'bing' WHERE id = 14")  # not captured

    second = sandbox.settings("customers", "orders")  # a setting change, no code change
    assert setup_source(second) == [
        f"granted SELECT on {sandbox.schema}.orders to {sandbox.tag}",
        f"publication {sandbox.tag}: added {sandbox.schema}.orders",
    ]
    result = apply_connector(second, sandbox.client)

    assert result.action == "updated"
    assert result.added_tables == (f"{sandbox.schema}.orders",)
    assert result.snapshot_signal is not None
    records = sandbox.consume(
        [sandbox.topic("orders")],
        lambda records: _ids(records, "r") >= {10, 11, 12, 13, 14},
        what="the incremental snapshot of the added table's existing rows",
    )
    snapshot = {r.payload["after"]["id"]: r.payload for r in records if r.payload["op"] == "r"}
    assert snapshot[14]["after"]["utm_source"] == "bing"  # current rows, not history
    assert snapshot[14]["source"]["snapshot"] == "incremental"
    # ...and the added table's changes stream from now on.
    sandbox.sql("UPDATE {schema}.orders SET currency = 'CHF' WHERE id = 10")
    sandbox.consume(
        [sandbox.topic("orders")],
        lambda records: any(
            r.payload["op"] == "u" and r.payload["after"]["currency"] == "CHF" for r in records
        ),
        what="an update of the added table",
    )
    # A second apply with the same settings signals nothing more.
    assert apply_connector(second, sandbox.client).snapshot_signal is None


def test_a_failed_connector_shows_its_trace_and_apply_recovers_it(sandbox: CdcSandbox) -> None:
    settings = sandbox.settings("customers")
    setup_source(settings)
    # Connect's validation only logs a role without REPLICATION; the task fails to start.
    sandbox.sql(f"ALTER ROLE {sandbox.tag} NOREPLICATION")

    with pytest.raises(ConnectorFailed) as raised:
        apply_connector(settings, sandbox.client)
    assert "must be superuser or replication role to start walsender" in raised.value.trace
    assert "replication role" in str(raised.value)  # the root cause, in one line

    done = sandbox.cli(settings, "connectors", "apply", "--timeout", "60")
    assert done.returncode == 2
    assert "task 0 FAILED" in done.stdout
    assert "at io.debezium.connector.postgresql" in done.stderr  # the trace
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"headwater: connector test-{sandbox.tag} FAILED:")
    )
    assert sandbox.password not in done.stdout + done.stderr

    status = sandbox.cli(settings, "connectors", "status")
    assert status.returncode == 3
    assert "task 0 FAILED" in status.stdout

    assert setup_source(settings) == [f"gave role {sandbox.tag} REPLICATION"]
    recovered = apply_connector(settings, sandbox.client)
    assert (recovered.action, recovered.status.running) == ("restarted", True)
    sandbox.consume(
        [sandbox.topic("customers")],
        lambda records: _ids(records, "r") >= {1, 2, 3},
        what="the snapshot after recovery",
    )


def test_delete_removes_the_connector_and_drops_the_slot(sandbox: CdcSandbox) -> None:
    settings = sandbox.settings("customers")
    setup_source(settings)
    apply_connector(settings, sandbox.client)
    sandbox.consume([sandbox.topic("customers")], lambda records: _ids(records, "r") >= {1, 2, 3})
    assert _slot(sandbox) == [(True,)]

    done = sandbox.cli(settings, "connectors", "delete", "--drop-slot")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"reset the offsets of connector test-{sandbox.tag}",
        f"deleted connector test-{sandbox.tag}",
        f"dropped replication slot {sandbox.tag}",
    ]
    assert sandbox.client.status(f"test-{sandbox.tag}") is None
    assert _slot(sandbox) == []
    assert delete_connector(settings, sandbox.client, with_slot=True) == [
        f"connector test-{sandbox.tag} was not deployed",
        f"replication slot {sandbox.tag} did not exist",
    ]
    gone = sandbox.cli(settings, "connectors", "status")
    assert (gone.returncode, gone.stdout.strip()) == (
        3,
        f"connector test-{sandbox.tag} is not deployed",
    )

    # Re-created after the reset, it snapshots again instead of resuming stale offsets.
    apply_connector(settings, sandbox.client)
    records = sandbox.consume(
        [sandbox.topic("customers")],
        lambda records: sum(1 for r in records if r.payload and r.payload["op"] == "r") >= 6,
        what="a second snapshot after delete --drop-slot",
    )
    assert _ids(records, "r") == {1, 2, 3}


def test_an_added_table_is_snapshotted_even_when_the_first_start_fails(
    sandbox: CdcSandbox,
) -> None:
    first = sandbox.settings("customers")
    setup_source(first)
    apply_connector(first, sandbox.client)
    second = sandbox.settings("customers", "orders")
    setup_source(second)
    # The resumed task reports RUNNING, then cannot open its stream: Debezium retries
    # in a loop and never marks the task FAILED, so apply watches the slot instead.
    sandbox.sql(f"ALTER ROLE {sandbox.tag} NOREPLICATION")

    with pytest.raises(ConnectorNotStreaming, match="see the Connect worker log"):
        apply_connector(second, sandbox.client, timeout_s=15)

    assert setup_source(second) == [f"gave role {sandbox.tag} REPLICATION"]
    recovered = apply_connector(second, sandbox.client)
    assert (recovered.action, recovered.added_tables, recovered.streaming) == (
        "unchanged",
        (),
        True,
    )
    sandbox.consume(
        [sandbox.topic("orders")],
        lambda records: _ids(records, "r") >= {10, 11, 12, 13, 14},
        what="the snapshot signal queued before the failed start",
    )


def _source_dsn(box: CdcSandbox, **tls: str) -> Settings:
    """The sandbox's settings whose source DSN has other TLS parameters."""
    settings = box.settings("customers")
    source = settings.source.model_copy(
        update={"dsn": SecretStr(make_conninfo(box.admin_dsn, **tls))}
    )
    return settings.model_copy(update={"source": source})


def test_debezium_verifies_the_source_and_refuses_another_ca_or_no_tls(
    sandbox: CdcSandbox, tmp_path: Path
) -> None:
    setup_source(sandbox.settings("customers"))
    stack_ca = str(conninfo_to_dict(sandbox.admin_dsn)["sslrootcert"])
    verified = _source_dsn(sandbox)
    assert render_config(verified)["database.sslmode"] == "verify-full"
    assert render_config(verified)["database.sslrootcert"] == stack_ca
    validate_connector(verified, sandbox.client)  # the stack's CA, a PEM file: accepted

    other = StackTls(tmp_path / "other-ca")
    other.ensure()
    with pytest.raises(InvalidConnectorConfig) as wrong_ca:
        validate_connector(_source_dsn(sandbox, sslrootcert=str(other.ca_cert)), sandbox.client)
    [problem] = wrong_ca.value.problems
    assert "PKIX path validation failed" in problem.errors[0]

    with pytest.raises(InvalidConnectorConfig) as plaintext:
        validate_connector(_source_dsn(sandbox, sslmode="disable"), sandbox.client)
    [problem] = plaintext.value.problems
    assert "pg_hba.conf rejects connection" in problem.errors[0]
    assert "no encryption" in problem.errors[0]
