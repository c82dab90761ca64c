"""The right to erasure: a person's rows out of the warehouse, tombstones for their keys.

``headwater forget --email X | --identity Y`` finds the person through their pseudonyms (the
value hashed with the current key and every retired key still configured, so rows made
before a rotation are found too), and in one warehouse transaction:

- deletes their events from ``app_events`` (``user_key``), and counts what those events
  added to the KPIs per day, campaign and event name in ``headwater.privacy_erased_events``
  (no person in it: the KPIs are aggregates and stay as they are; that tally is what makes
  them reconcile with the base tables afterwards, see docs/privacy.md);
- deletes the rows of every CDC mirror whose hashed email column holds their pseudonym
  (``--email``), and remembers each deleted key with its version in the mirror's
  deleted-keys table, so a replayed older change cannot bring it back;
- writes a tombstone for every deleted key to the compacted topic it came from
  (``norm.app.events`` by event id, ``norm.cdc.<schema>.<table>`` by primary key) before
  committing, so compaction forgets them in Kafka too;
- records the request in ``headwater.privacy_erasures``: when, what kind, the pseudonym
  (never the email or identity itself), the key ids tried and the counts per table.

A second run finds nothing, deletes nothing and records that (counts 0).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Literal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from headwater.errors import ConfigurationError
from headwater.kafka.clients import make_producer
from headwater.kafka.delivery import DeliveryTracker
from headwater.postgres import connect
from headwater.privacy.policy import Category, CdcPolicy
from headwater.privacy.pseudonyms import every_pseudonymizer
from headwater.settings import Settings
from headwater.topology import NORM_EVENTS, norm_cdc_topic
from sinks.cdc.tables import CONTROL_SCHEMA, VERSION, MirrorTable
from sinks.events import APP_EVENTS
from stream_processors.runner import PARTITIONER

Kind = Literal["email", "identity"]

ERASURES: Final = sql.Identifier(CONTROL_SCHEMA, "privacy_erasures")
ERASED_EVENTS: Final = sql.Identifier(CONTROL_SCHEMA, "privacy_erased_events")
_APP_EVENTS = sql.Identifier(APP_EVENTS.schema, APP_EVENTS.table)


@dataclass
class Erasure:
    """What one request did."""

    id: int
    pseudonym: str
    key_ids: list[str]
    #: rows deleted per warehouse table
    deleted: dict[str, int] = field(default_factory=dict)
    #: tombstones written per topic
    tombstones: dict[str, int] = field(default_factory=dict)


def pseudonyms_of(settings: Settings, value: str) -> list[str]:
    """Every pseudonym a value may have in the warehouse: under each configured key, as
    given and (for an email written with capitals or spaces) lower-cased and trimmed."""
    variants = dict.fromkeys([value, value.strip().lower()])
    return [p(v) for p in every_pseudonymizer(settings) for v in variants]


def forget(settings: Settings, kind: Kind, value: str) -> Erasure:
    """Erase one person (by email or CleverTap identity); idempotent."""
    if not value.strip():
        raise ConfigurationError(f"--{kind}", "is empty")
    pseudonyms = pseudonyms_of(settings, value)
    if settings.warehouse.dsn is None:
        raise ConfigurationError("HEADWATER_WAREHOUSE__DSN", "is not set")
    key_ids = [p.key_id for p in every_pseudonymizer(settings)]
    # partitioned as the processor partitions: a tombstone must follow its record to compact it
    producer = make_producer(settings.kafka, partitioner=PARTITIONER)
    tracker = DeliveryTracker()
    with connect(settings.warehouse.dsn.get_secret_value(), settings.warehouse) as warehouse:
        _prepare(warehouse)
        erasure = Erasure(0, pseudonyms[0], key_ids)
        tally, event_ids = _erase_events(warehouse, pseudonyms)
        erasure.deleted[APP_EVENTS.table] = len(event_ids)
        tombstones = {NORM_EVENTS: [event_id.encode() for event_id in event_ids]}
        if kind == "email":
            for table in settings.cdc.tables:
                schema, name = table.split(".", 1)
                columns = CdcPolicy(settings).hashed_columns(schema, name, Category.EMAIL)
                keys = _erase_mirror_rows(warehouse, schema, name, columns, pseudonyms)
                if keys is not None:
                    erasure.deleted[f"{schema}.src_{name}"] = len(keys)
                    tombstones[norm_cdc_topic(schema, name)] = keys
        for topic, keys in tombstones.items():
            for key in keys:
                producer.produce(topic, key=key, value=None, on_delivery=tracker)
            erasure.tombstones[topic] = len(keys)
        tracker.confirm(producer)  # in Kafka before the deletes commit: a failure rolls back
        erasure.id = _record(warehouse, kind, erasure, tally)
    return erasure


def _prepare(warehouse: psycopg.Connection) -> None:
    warehouse.execute(
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(CONTROL_SCHEMA))
    )
    warehouse.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, "
            "requested_at timestamptz NOT NULL DEFAULT now(), kind text NOT NULL, "
            "pseudonym text NOT NULL, key_ids text[] NOT NULL, deleted jsonb NOT NULL, "
            "tombstones jsonb NOT NULL)"
        ).format(ERASURES)
    )
    warehouse.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (erasure_id bigint NOT NULL REFERENCES {}, "
            "date date NOT NULL, campaign_id text NOT NULL, event_name text NOT NULL, "
            "events integer NOT NULL)"
        ).format(ERASED_EVENTS, ERASURES)
    )


def _exists(warehouse: psycopg.Connection, table: sql.Identifier) -> bool:
    row = warehouse.execute("SELECT to_regclass(%s)", (table.as_string(warehouse),)).fetchone()
    return row is not None and row[0] is not None


def _erase_events(
    warehouse: psycopg.Connection, pseudonyms: list[str]
) -> tuple[Counter[tuple[date, str, str]], list[str]]:
    """Delete the person's events; the KPI-relevant tally of them and their ids."""
    if not _exists(warehouse, _APP_EVENTS):
        return Counter(), []
    rows = warehouse.execute(
        sql.SQL(
            "DELETE FROM {} WHERE user_key = ANY(%s) RETURNING event_id, "
            "(occurred_at AT TIME ZONE 'UTC')::date, campaign_id, event_name"
        ).format(_APP_EVENTS),
        (pseudonyms,),
    ).fetchall()
    tally = Counter((day, campaign, name) for _, day, campaign, name in rows if campaign)
    return tally, [str(row[0]) for row in rows]


def _erase_mirror_rows(
    warehouse: psycopg.Connection,
    schema: str,
    table: str,
    columns: list[str],
    pseudonyms: list[str],
) -> list[bytes] | None:
    """Delete the mirror rows holding a pseudonym in one of ``columns``; their keys as the
    ``norm.cdc.*`` topic has them (None: no such mirror or column)."""
    mirror = MirrorTable(schema, table, ())
    if not _exists(warehouse, mirror.identifier):
        return None
    present = _columns(warehouse, schema, f"src_{table}")
    columns = [c for c in columns if c in present]
    primary_key = _primary_key(warehouse, mirror.identifier)
    if not columns or not primary_key:
        return None
    keys = sql.SQL(", ").join(map(sql.Identifier, primary_key))
    matches = sql.SQL(" OR ").join(
        sql.SQL("{} = ANY(%(p)s)").format(sql.Identifier(c)) for c in columns
    )
    rows = warehouse.execute(
        sql.SQL("DELETE FROM {} WHERE {} RETURNING {}, {}").format(
            mirror.identifier, matches, keys, sql.Identifier(VERSION)
        ),
        {"p": pseudonyms},
    ).fetchall()
    if rows and _exists(warehouse, mirror.deleted):
        version = sql.Identifier(VERSION)
        warehouse.cursor().executemany(
            sql.SQL(
                "INSERT INTO {} AS d ({}, {}) VALUES ({}) "
                "ON CONFLICT ({}) DO UPDATE SET {} = GREATEST(d.{}, EXCLUDED.{})"
            ).format(
                mirror.deleted,
                keys,
                version,
                sql.SQL(", ").join(sql.Placeholder() * (len(primary_key) + 1)),
                keys,
                version,
                version,
                version,
            ),
            [tuple(row) for row in rows],
        )
    return [_key_bytes(primary_key, row[: len(primary_key)]) for row in rows]


def _key_bytes(names: list[str], values: tuple[Any, ...]) -> bytes:
    """The key of a ``norm.cdc.*`` record: the primary key as compact JSON."""
    payload = {
        n: v if isinstance(v, int | float | str | bool) else str(v)
        for n, v in zip(names, values, strict=True)
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def _columns(warehouse: psycopg.Connection, schema: str, table: str) -> set[str]:
    rows = warehouse.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    ).fetchall()
    return {str(row[0]) for row in rows}


def _primary_key(warehouse: psycopg.Connection, table: sql.Identifier) -> list[str]:
    rows = warehouse.execute(
        "SELECT a.attname FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary "
        "ORDER BY array_position(i.indkey, a.attnum)",
        (table.as_string(warehouse),),
    ).fetchall()
    return [str(row[0]) for row in rows]


def _record(
    warehouse: psycopg.Connection,
    kind: Kind,
    erasure: Erasure,
    tally: Counter[tuple[date, str, str]],
) -> int:
    row = warehouse.execute(
        sql.SQL(
            "INSERT INTO {} (kind, pseudonym, key_ids, deleted, tombstones) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id"
        ).format(ERASURES),
        (
            kind,
            erasure.pseudonym,
            erasure.key_ids,
            Jsonb(erasure.deleted),
            Jsonb(erasure.tombstones),
        ),
    ).fetchone()
    assert row is not None
    erasure_id = int(row[0])
    warehouse.cursor().executemany(
        sql.SQL(
            "INSERT INTO {} (erasure_id, date, campaign_id, event_name, events) "
            "VALUES (%s, %s, %s, %s, %s)"
        ).format(ERASED_EVENTS),
        [(erasure_id, day, campaign, name, n) for (day, campaign, name), n in tally.items()],
    )
    return erasure_id
