"""Least privilege in the warehouse (``headwater warehouse setup``): each sink's role writes
its own tables and its own bookkeeping rows only, the analyst role reads and never writes,
and a sink running as its role lands its batches. Real PostgreSQL and Kafka."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql
from pydantic import SecretStr

from control.cli.warehouse import dsn_as
from headwater.kafka.clients import make_admin, make_producer
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.postgres import connect
from headwater.settings import Settings
from sinks import ads
from sinks.cdc.mirror import MirrorWriter
from sinks.roles import analyst_role, sink_roles
from sinks.runner import SinkRunner
from tests.conftest import wait_for
from tests.support.debezium import order_row
from tests.support.mirror import CdcFeed, write_batch
from tests.support.norm_records import ad_value
from tests.support.running import Worker


def _admin(settings: Settings) -> str:
    assert settings.warehouse.dsn is not None
    return settings.warehouse.dsn.get_secret_value()


def _setup(
    settings: Settings, credentials: Path, prefix: str, **env: str
) -> subprocess.CompletedProcess[str]:
    argv = ["warehouse", "setup", "--credentials-file", str(credentials), "--role-prefix", prefix]
    return subprocess.run(
        [sys.executable, "-m", "control.cli.main", *argv],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"HEADWATER_WAREHOUSE__DSN": _admin(settings)} | env,
        timeout=120,
    )


@pytest.fixture
def roles(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """The roles of a setup with a prefix of the test's own, dropped after (their tables go
    back to the admin). The CDC sink's role mirrors one table, in a schema named after the
    prefix."""
    prefix = f"t{secrets.token_hex(4)}_"
    credentials = tmp_path / "warehouse-roles.json"
    done = _setup(
        settings, credentials, prefix, HEADWATER_CDC__TABLES=json.dumps([f"{prefix}src.orders"])
    )
    assert done.returncode == 0, done.stderr
    try:
        yield prefix, json.loads(credentials.read_text())
    finally:
        names = [r.role for r in sink_roles(settings, prefix)] + [analyst_role(prefix)]
        with connect(_admin(settings), autocommit=True) as admin:
            person = f"{prefix}alice"
            for name in [*names, person]:
                exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
                if exists.fetchone() is None:
                    continue
                role = sql.Identifier(name)
                admin.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(role))
                admin.execute(sql.SQL("DROP OWNED BY {}").format(role))
                admin.execute(sql.SQL("DROP ROLE {}").format(role))
            admin.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(f"{prefix}src"))
            )


def _settings_as(settings: Settings, dsn: str) -> Settings:
    """The settings with the warehouse reached through another DSN."""
    return settings.model_copy(
        update={"warehouse": settings.warehouse.model_copy(update={"dsn": SecretStr(dsn)})}
    )


def _as(credentials: dict[str, dict[str, str]], role: str) -> psycopg.Connection:
    return connect(credentials[role]["dsn"], autocommit=True)


def test_setup_writes_the_credentials_privately_and_changes_nothing_when_run_again(
    settings: Settings, roles: tuple[str, dict[str, dict[str, str]]], tmp_path: Path
) -> None:
    prefix, credentials = roles
    file = tmp_path / "warehouse-roles.json"
    assert oct(file.stat().st_mode & 0o777) == "0o600"
    assert set(credentials) == {r.role for r in sink_roles(settings, prefix)}

    def catalog() -> list[tuple[object, ...]]:
        with connect(_admin(settings)) as admin:
            return admin.execute(
                "SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE %s "
                "UNION ALL SELECT policyname, qual FROM pg_policies WHERE policyname LIKE %s "
                "ORDER BY 1",
                (f"{prefix}%", f"{prefix}%"),
            ).fetchall()

    before = catalog()
    assert all(
        str(row[1]).startswith("SCRAM-SHA-256$")
        for row in before
        if "_own_rows" not in str(row[0]) and row[1]
    )
    again = _setup(settings, file, prefix)
    assert again.returncode == 0, again.stderr
    assert json.loads(file.read_text()) == credentials  # the same passwords
    assert catalog() == before  # the same verifiers and policies: nothing was redone
    for entry in credentials.values():
        assert entry["password"] not in again.stdout + again.stderr
        assert "sslmode=verify-full" in entry["dsn"]


def test_a_sink_cannot_write_another_sinks_table_nor_its_offsets(
    settings: Settings, roles: tuple[str, dict[str, dict[str, str]]]
) -> None:
    prefix, credentials = roles
    ads_role = f"{prefix}sink_ad_performance"
    with _as(credentials, ads_role) as connection:
        for table in ("app_events", "campaign_kpis_daily"):
            with pytest.raises(errors.InsufficientPrivilege):
                connection.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        with pytest.raises(errors.InsufficientPrivilege):
            connection.execute("CREATE TABLE public.intruder (a int)")
        # another sink's offsets: invisible, and not writable
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            connection.execute(
                "INSERT INTO headwater.sink_offsets (sink, topic, partition, next_offset) "
                "VALUES ('headwater-sink-kpis', 'x', 0, 1)"
            )
        moved = connection.execute(
            "UPDATE headwater.sink_offsets SET next_offset = 0 "
            "WHERE sink NOT LIKE 'headwater-sink-ad-performance%'"
        )
        assert moved.rowcount == 0
        # its own rows it may keep
        own = f"headwater-sink-ad-performance-{prefix}"
        connection.execute(
            "INSERT INTO headwater.sink_offsets (sink, topic, partition, next_offset) "
            "VALUES (%s, 'x', 0, 1)",
            (own,),
        )
        connection.execute("DELETE FROM headwater.sink_offsets WHERE sink = %s", (own,))


def test_the_analyst_reads_and_never_writes(
    settings: Settings, roles: tuple[str, dict[str, dict[str, str]]]
) -> None:
    prefix, _credentials = roles
    person, password = f"{prefix}alice", secrets.token_urlsafe(16)
    with connect(_admin(settings), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(person), sql.Literal(password), sql.Identifier(analyst_role(prefix))
            )
        )
    with connect(dsn_as(_admin(settings), person, password), autocommit=True) as analyst:
        for table in ("ad_performance_daily", "app_events", "campaign_kpis_daily"):
            counted = analyst.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            )
            assert counted.fetchone() is not None
        for statement in (
            "DELETE FROM ad_performance_daily",
            "UPDATE campaign_kpis_daily SET spend = 0",
            "CREATE TABLE public.analyst_table (a int)",
            "SELECT * FROM headwater.sink_offsets",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                analyst.execute(statement)


def test_a_sink_running_as_its_role_lands_its_batches(
    settings: Settings, roles: tuple[str, dict[str, dict[str, str]]], unique_name: str
) -> None:
    prefix, credentials = roles
    as_role = _settings_as(settings, credentials[f"{prefix}sink_ad_performance"]["dsn"])
    topic = f"test.roles.{unique_name}"
    ensure_topics(make_admin(settings.kafka), [TopicSpec(topic, 1, 1, {})])
    first = 9_100_000_000 + secrets.randbelow(10**6) * 100
    ad_ids = range(first, first + 10)
    producer = make_producer(settings.kafka)
    for n in ad_ids:
        producer.produce(topic, ad_value(n, f"{n % 100}.25"), f"k{n}".encode())
    assert producer.flush(30) == 0
    group = f"headwater-sink-ad-performance-{unique_name}"

    def landed() -> int:
        with connect(_admin(settings)) as admin:
            row = admin.execute(
                "SELECT count(*) FROM ad_performance_daily WHERE ad_id = ANY(%s)",
                ([str(n) for n in ad_ids],),
            ).fetchone()
        return int(row[0]) if row else 0

    worker = Worker(SinkRunner(as_role, ads.ads_writer(as_role), [topic], group))
    try:
        wait_for(lambda: landed() == 10, timeout_s=90, what="10 rows landed by the sink's role")
        assert worker.error is None
    finally:
        worker.close()
        make_admin(settings.kafka).delete_topics([topic])
        with connect(_admin(settings), autocommit=True) as admin:
            admin.execute(
                "DELETE FROM ad_performance_daily WHERE ad_id = ANY(%s)",
                ([str(n) for n in ad_ids],),
            )
            admin.execute("DELETE FROM headwater.sink_offsets WHERE sink = %s", (group,))


def test_the_cdc_sink_as_its_role_creates_and_fills_a_mirror(
    settings: Settings, roles: tuple[str, dict[str, dict[str, str]]]
) -> None:
    prefix, credentials = roles
    schema = f"{prefix}src"
    as_role = _settings_as(settings, credentials[f"{prefix}sink_cdc"]["dsn"])
    as_role = as_role.model_copy(
        update={"cdc": as_role.cdc.model_copy(update={"tables": [f"{schema}.orders"]})}
    )
    writer = MirrorWriter(as_role)
    feed = CdcFeed(schema)
    with _as(credentials, f"{prefix}sink_cdc") as connection:
        connection.autocommit = False
        writer.prepare(connection)
        stats = write_batch(
            connection,
            writer,
            feed("c", after=order_row(1), lsn=100) + feed("c", after=order_row(2), lsn=110),
        )
        write_batch(connection, writer, feed("d", before=order_row(2), lsn=120))
        connection.commit()
    assert stats.rows_written == 2
    with connect(_admin(settings)) as admin:
        owners = admin.execute(
            "SELECT schemaname, tablename, tableowner FROM pg_tables "
            "WHERE schemaname = %s OR tablename LIKE %s ORDER BY 1, 2",
            (schema, f"%{schema}%"),
        ).fetchall()
    assert owners
    assert all(owner == f"{prefix}sink_cdc" for _, _, owner in owners), owners
    assert any(s == schema for s, _, _ in owners), owners
    mirror = next(sql.Identifier(s, t) for s, t, _ in owners if s == schema)
    with connect(_admin(settings), autocommit=True) as analyst:
        analyst.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(analyst_role(prefix))))
        read = analyst.execute(sql.SQL("SELECT id FROM {} ORDER BY id").format(mirror))
        assert read.fetchall() == [(1,)]
