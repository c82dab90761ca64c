"""Records written with an older version of a schema land after it changed, and a record of
an unknown writer schema goes to ``dlq.sink`` with that reason while the rest lands.

Real Kafka, the real sink runner and upsert writer, the real warehouse, and ``headwater dlq
show``. The schema history holds two versions of ``AdPerformanceDaily``: v1, before the
optional names (account, campaign, ad group, ad) were inserted mid-record, and v2, the
current schema. Without the writer's schema, a v1 record read as v2 is garbage (or fails).
The table was made in the days of v1; the sink adds the new columns when it starts.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from fastavro import parse_schema

from headwater.avro import SCHEMA_HEADER, WriterSchemas, encode, schema_id
from headwater.kafka.clients import make_producer
from headwater.settings import Settings
from schemas import schema_json
from schemas.history import SCHEMAS_ROOT, History
from sinks import ads
from sinks.runner import SinkRunner
from sinks.upsert import VersionedUpsertWriter
from stream_processors.ads.normalize import to_output
from tests.conftest import wait_for
from tests.support.dead_letters import sink_dead_letters
from tests.support.norm_records import ad_row
from tests.support.running import Worker
from tests.support.services import headwater_with, kafka_env

RECORD = "norm/ad_performance_daily"
NAMES = ("account_name", "campaign_name", "ad_group_name", "ad_name")
LEGACY = b"headwater.norm.ads.AdPerformanceDaily"  # the header before the history: a name
Headers = list[tuple[str, bytes]]


def _two_versions(root: Path) -> tuple[dict[str, Any], WriterSchemas]:
    """v1 (without the names) and the current v2, recorded in a history under ``root``."""
    v1 = copy.deepcopy(schema_json(RECORD))
    v1["fields"] = [field for field in v1["fields"] if field["name"] not in NAMES]
    history = History(root)
    history.record(RECORD, json.dumps(v1))
    history.record(RECORD, (SCHEMAS_ROOT / f"{RECORD}.avsc").read_text())
    assert [version.number for version in history.versions(RECORD)] == [1, 2]
    return v1, WriterSchemas.of(history.versions(RECORD))


def test_older_versions_land_and_an_unknown_writer_schema_is_dead_lettered(
    settings: Settings,
    warehouse: psycopg.Connection,
    topic: str,
    unique_name: str,
    tmp_path: Path,
) -> None:
    v1, writers = _two_versions(tmp_path / "history")
    old = parse_schema(v1)
    unknown = LEGACY + f"@{secrets.token_hex(8)}".encode()
    current = [to_output(ad_row(n, f"{n}.50", name=f"ad {n}")) for n in range(6)]
    records: list[tuple[bytes, Headers]] = [
        (encode(old, ad_row(0, "0.50")), [(SCHEMA_HEADER, schema_id(old))]),
        (encode(old, ad_row(1, "1.50")), [(SCHEMA_HEADER, LEGACY)]),
        (encode(old, ad_row(2, "2.50")), []),  # no header: the first recorded version
        (current[3].value or b"", current[3].headers),
        (current[4].value or b"", [(SCHEMA_HEADER, unknown)]),
        (current[5].value or b"", current[5].headers),
    ]  # fmt: skip
    producer = make_producer(settings.kafka)
    for n, (value, headers) in enumerate(records):
        producer.produce(topic, value, f"k{n}".encode(), headers=headers)
    assert producer.flush(30) == 0
    spec = dataclasses.replace(ads.AD_PERFORMANCE_DAILY, schema=unique_name)
    writer = VersionedUpsertWriter("ad-performance", spec, writers=writers)
    writer.prepare(warehouse)  # the table as it was in the days of v1: without the names
    drops = ", ".join(f"DROP COLUMN {name}" for name in NAMES)
    warehouse.execute(f'ALTER TABLE "{unique_name}".ad_performance_daily {drops}')
    warehouse.commit()
    runner = SinkRunner(settings, writer, [topic], f"{unique_name}-sink")

    worker = Worker(runner)
    try:

        def stored() -> bool:
            row = warehouse.execute(
                "SELECT next_offset FROM headwater.sink_offsets WHERE sink = %s AND topic = %s",
                (runner.group_id, topic),
            ).fetchone()
            warehouse.commit()
            return row is not None and row[0] == len(records)

        wait_for(stored, timeout_s=60, what="the sink's offsets past every record")
    finally:
        worker.close()

    landed = warehouse.execute(
        f'SELECT ad_id, ad_name, spend, fetched_at FROM "{unique_name}".ad_performance_daily '
        "ORDER BY ad_id"
    ).fetchall()
    fetched_at = landed[0][3]
    assert fetched_at.isoformat() == "2026-11-21T00:00:00+00:00"  # not 1970: read as written
    assert landed == [
        ("0", None, Decimal("0.500000"), fetched_at),
        ("1", None, Decimal("1.500000"), fetched_at),
        ("2", None, Decimal("2.500000"), fetched_at),
        ("3", "ad 3", Decimal("3.500000"), fetched_at),
        ("5", "ad 5", Decimal("5.500000"), fetched_at),
    ]
    [letter] = sink_dead_letters(settings, topic, 1)
    assert letter["dlq.reason"] == f"unknown writer schema {unknown.decode()}"
    assert letter["dlq.error"] == "UnknownWriterSchema"
    assert (letter["key"], letter[SCHEMA_HEADER]) == (b"k4", unknown.decode())

    shown = headwater_with(
        "dlq", "show", "--stage", "sink", "--reason", unknown.decode(),
        env=kafka_env(settings.kafka),
        timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert f"from {topic}[0]@4 by sink.ad-performance (UnknownWriterSchema)" in shown.stdout
    assert f"value:  (unknown writer schema {unknown.decode()})" in shown.stdout
