"""Per-test CDC sandboxes on the real stack: a schema, a role, a slot, a connector, topics.

Every name is unique to the test (schema, role, publication, slot, connector, topic
prefix), so tests never collide with each other or with the default connector, and
everything is removed in ``finally``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from connectors.client import ConnectClient
from connectors.debezium_postgres import heartbeat_topic, signal_table
from connectors.deployment import delete_connector
from headwater.kafka.clients import make_admin, make_consumer
from headwater.settings import CdcSettings, Settings
from tests.support.services import headwater_with

CUSTOMERS = """
CREATE TABLE {schema}.customers (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    email text
)"""
ORDERS = """
CREATE TABLE {schema}.orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES {schema}.customers (id),
    amount numeric(12,2) NOT NULL,
    currency char(3) NOT NULL,
    utm_source text,
    created_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Record:
    """One Debezium record as consumed: topic, key and value decoded from JSON."""

    topic: str
    key: Any
    value: Any

    @property
    def payload(self) -> Any:
        """The envelope's payload (None for a tombstone)."""
        return None if self.value is None else self.value["payload"]


@dataclass
class CdcSandbox:
    """A unique schema with customers and orders, and CDC settings named after it."""

    base: Settings
    tag: str
    schema: str
    admin_dsn: str
    client: ConnectClient
    password: str = field(default_factory=lambda: f"pw-{uuid.uuid4().hex}")

    def settings(self, *tables: str, **cdc: Any) -> Settings:
        """Settings capturing ``tables`` (names inside the sandbox schema)."""
        fields: dict[str, Any] = {
            "tables": [f"{self.schema}.{table}" for table in tables],
            "connector_name": f"test-{self.tag}",
            "topic_prefix": f"test.{self.tag}",
            "slot_name": self.tag,
            "publication": self.tag,
            "user": self.tag,
            "password": SecretStr(self.password),
            "heartbeat_interval_ms": 1000,
            "topic_partitions": 1,
        } | cdc
        return self.base.model_copy(update={"cdc": CdcSettings(**fields)})

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement as the admin, committed; its rows if it returns any."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as connection:
            cursor = connection.execute(query.format(schema=self.schema), params)
            return cursor.fetchall() if cursor.description else []

    def topic(self, table: str) -> str:
        """The Debezium topic of a sandbox table."""
        return f"test.{self.tag}.{self.schema}.{table}"

    def cli(self, settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``headwater`` command with the sandbox's settings in its environment."""
        cdc = settings.cdc
        assert cdc.password is not None
        env = {k: v for k, v in os.environ.items() if k.startswith("HEADWATER_")} | {
            "HEADWATER_CDC__TABLES": json.dumps(cdc.tables),
            "HEADWATER_CDC__CONNECTOR_NAME": cdc.connector_name,
            "HEADWATER_CDC__TOPIC_PREFIX": cdc.topic_prefix,
            "HEADWATER_CDC__SLOT_NAME": cdc.slot_name,
            "HEADWATER_CDC__PUBLICATION": cdc.publication,
            "HEADWATER_CDC__USER": cdc.user,
            "HEADWATER_CDC__PASSWORD": cdc.password.get_secret_value(),
            "HEADWATER_CDC__HEARTBEAT_INTERVAL_MS": str(cdc.heartbeat_interval_ms),
            "HEADWATER_CDC__TOPIC_PARTITIONS": str(cdc.topic_partitions),
            "HEADWATER_LOG__FORMAT": "text",
        }
        return headwater_with(*args, env=env, timeout=300)

    def consume(
        self,
        topics: list[str],
        done: Callable[[list[Record]], bool],
        timeout_s: float = 90.0,
        what: str = "",
    ) -> list[Record]:
        """Read ``topics`` from the beginning until ``done(records)``; fail at the deadline."""
        admin = make_admin(self.base.kafka)
        deadline = time.monotonic() + timeout_s
        while not set(topics) <= set(admin.list_topics(timeout=10).topics):
            if time.monotonic() > deadline:
                pytest.fail(f"topics {topics} were not created within {timeout_s}s")
            time.sleep(0.2)
        consumer = make_consumer(self.base.kafka, f"test-{self.tag}-{uuid.uuid4().hex[:8]}")
        records: list[Record] = []
        try:
            consumer.subscribe(topics)
            while not done(records):
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"timed out after {timeout_s}s waiting for {what or done}; "
                        f"got {len(records)} records"
                    )
                message = consumer.poll(0.5)
                if message is None or message.error():
                    continue
                key, value = message.key(), message.value()
                records.append(
                    Record(
                        str(message.topic()),
                        json.loads(key) if key is not None else None,
                        json.loads(value) if value is not None else None,
                    )
                )
        finally:
            consumer.close()
        return records

    def cleanup(self, settings: Settings) -> None:
        """Remove connector, offsets, slot, publication, signal table, role, schema, topics."""
        errors: list[BaseException] = []

        def attempt(step: Callable[[], object]) -> None:
            try:
                step()
            except Exception as error:  # every step runs; the first error is raised after
                errors.append(error)

        attempt(lambda: delete_connector(settings, self.client, with_slot=True))
        attempt(lambda: self.sql(f"DROP PUBLICATION IF EXISTS {self.tag}"))
        attempt(lambda: self.sql(f"DROP TABLE IF EXISTS {signal_table(settings.cdc)}"))
        attempt(lambda: self.sql("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        attempt(lambda: self.sql(f"DROP OWNED BY {self.tag}") if self._role_exists() else None)
        attempt(lambda: self.sql(f"DROP ROLE IF EXISTS {self.tag}"))
        attempt(self._delete_topics)
        if errors:
            raise errors[0]

    def _role_exists(self) -> bool:
        return bool(self.sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.tag,)))

    def _delete_topics(self) -> None:
        admin = make_admin(self.base.kafka)
        prefix = f"test.{self.tag}."
        heartbeat = heartbeat_topic(CdcSettings(topic_prefix=f"test.{self.tag}"))
        topics = [
            topic
            for topic in admin.list_topics(timeout=10).topics
            if topic.startswith(prefix) or topic == heartbeat
        ]
        for future in admin.delete_topics(topics, operation_timeout=30).values() if topics else []:
            future.result()


@pytest.fixture
def sandbox(settings: Settings) -> Iterator[CdcSandbox]:
    """A schema with ``customers`` (3 rows) and ``orders`` (5 rows), cleaned up afterwards."""
    tag = f"hw_{uuid.uuid4().hex[:10]}"
    assert settings.source.dsn is not None
    box = CdcSandbox(
        base=settings,
        tag=tag,
        schema=f"{tag}_app",
        admin_dsn=settings.source.dsn.get_secret_value(),
        client=ConnectClient(settings.connect.url),
    )
    box.sql("CREATE SCHEMA {schema}")
    box.sql(CUSTOMERS)
    box.sql(ORDERS)
    box.sql(
        "INSERT INTO {schema}.customers VALUES"
        " (1, 'Zoë Ålander', 'zoe@example.com'), (2, 'Bo', NULL), (3, 'Chidi', 'c@example.com')"
    )
    box.sql(
        "INSERT INTO {schema}.orders (id, customer_id, amount, currency, utm_source) VALUES"
        " (10, 1, 12.30, 'EUR', 'google'), (11, 1, 0.01, 'EUR', NULL),"
        " (12, 2, 9999999999.99, 'USD', 'facebook'), (13, 3, 5.00, 'GBP', 'clevertap'),"
        " (14, 3, 42.42, 'EUR', 'google')"
    )
    try:
        yield box
    finally:
        box.cleanup(box.settings("customers", "orders"))


@pytest.fixture
def warehouse(settings: Settings, sandbox: CdcSandbox) -> Iterator[psycopg.Connection]:
    """A warehouse connection; the mirrors of the sandbox's tables (its schema there, and
    their deleted-keys tables) are dropped after the test."""
    assert settings.warehouse.dsn is not None
    with psycopg.connect(settings.warehouse.dsn.get_secret_value()) as connection:
        yield connection
        connection.rollback()
        connection.execute(f'DROP SCHEMA IF EXISTS "{sandbox.schema}" CASCADE')
        deleted = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'headwater' "
            "AND starts_with(tablename, %s)",
            (f"deleted_{sandbox.schema}__",),
        ).fetchall()
        for (table,) in deleted:
            connection.execute(f'DROP TABLE headwater."{table}"')
        if connection.execute("SELECT to_regclass('headwater.cdc_truncations')").fetchone() != (
            None,
        ):
            connection.execute(
                "DELETE FROM headwater.cdc_truncations WHERE starts_with(mirror, %s)",
                (f"{sandbox.schema}.",),
            )
        connection.commit()
