"""The sinks' integration tests: a warehouse connection whose test schema is dropped after,
a topic of the test's own, and the CDC mirror writer with a feed of Debezium events."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from headwater.kafka.clients import make_admin
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.settings import Settings
from sinks.cdc.mirror import MirrorWriter
from sinks.dlq import DLQ_TOPIC
from tests.support.mirror import CdcFeed


@pytest.fixture
def warehouse(settings: Settings, unique_name: str) -> Iterator[psycopg.Connection]:
    """A warehouse connection; the schema named ``unique_name`` (and the mirror writer's
    deletion log of its orders) are dropped when the test ends."""
    assert settings.warehouse.dsn is not None
    with psycopg.connect(settings.warehouse.dsn.get_secret_value()) as connection:
        yield connection
        connection.rollback()
        connection.execute(f'DROP SCHEMA IF EXISTS "{unique_name}" CASCADE')
        connection.execute(f'DROP TABLE IF EXISTS headwater."deleted_{unique_name}__orders"')
        connection.commit()


@pytest.fixture
def topic(settings: Settings, unique_name: str) -> Iterator[str]:
    """A one-partition topic of the test's own (and ``dlq.sink``), deleted after."""
    name = f"test.sinks.{unique_name}"
    ensure_topics(make_admin(settings.kafka), [TopicSpec(name, 1, 1, {})])
    ensure_topics(make_admin(settings.kafka), [TopicSpec(DLQ_TOPIC, 1, 1, {})])
    yield name
    make_admin(settings.kafka).delete_topics([name])


@pytest.fixture
def feed(unique_name: str) -> CdcFeed:
    """Debezium events of ``<unique_name>.orders``, normalized into sink records."""
    return CdcFeed(unique_name)


@pytest.fixture
def mirror_writer(settings: Settings, warehouse: psycopg.Connection) -> MirrorWriter:
    """The CDC mirror writer, its control tables prepared."""
    writer = MirrorWriter(settings)
    writer.prepare(warehouse)
    return writer
