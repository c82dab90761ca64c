"""An ads flow of the test's own, for the replay commands run the way an operator types them.

The shared stack serves other runs, whose records sit in ``raw.facebook_ads.insights`` and
``norm.ads.performance_daily`` and whose rows sit in ``ad_performance_daily``; a replay or a
swap there would reach into them. So the test gets a warehouse database of its own, and a
raw and a normalized topic of its own put in the topology's place for the Facebook source
and the ad-performance sink: the one thing it changes. The normalizer, the writer, the
table and every command are the product's.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from confluent_kafka import TopicPartition
from pydantic import SecretStr

from control.cli.main import main
from headwater import topology
from headwater.avro import record_reader
from headwater.kafka.clients import make_admin, make_consumer, make_producer, message_headers
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.raw import RAW_RETENTION_MS, make_envelope, raw_topic, read_envelope
from headwater.settings import Settings
from sinks.ads import ads_writer
from sinks.base import SinkRecord, sink_record
from sinks.offsets import OffsetStore
from sinks.runner import SinkRunner
from stream_processors.ads.normalize import facebook, facebook_row, to_output
from stream_processors.base import Transform
from stream_processors.output import Output
from stream_processors.runner import PRODUCER
from tests.support.progress import high_watermarks
from tests.support.running import Worker

DAY = date(2026, 11, 20)
#: The normalizer the test's Facebook source names; set per test to write its own topic.
facebook_onto_own_topic: Callable[[Settings], Transform]


@dataclass(frozen=True)
class Outcome:
    """How a command ended, and what it printed."""

    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Ad:
    """One Insights row of the test's account: an ad's day, as the API returned it then."""

    ad: int
    spend: str
    fetched_at: datetime
    clicks: int = 4


@dataclass
class OwnAdsFlow:
    """The test's raw and normalized topics and warehouse, and the commands run against them."""

    settings: Settings
    account: str
    raw: str
    norm: str
    dsn: str
    capsys: pytest.CaptureFixture[str]

    def envelope(self, row: Ad) -> bytes:
        """The raw record the poller wrote for the row."""
        envelope = make_envelope(
            source="facebook_ads",
            stream="insights",
            account=f"act_{self.account}",
            window={"since": DAY.isoformat(), "until": DAY.isoformat()},
            api_version="v21.0",
            request={"level": "ad"},
            payload={
                "account_id": self.account,
                "account_currency": "EUR",
                "campaign_id": "100",
                "adset_id": "200",
                "ad_id": str(row.ad),
                "impressions": "1000",
                "clicks": str(row.clicks),
                "spend": row.spend,
                "date_start": DAY.isoformat(),
            },
        )
        envelope["fetched_at"] = row.fetched_at.isoformat()
        return json.dumps(envelope).encode()

    def produce_raw(self, rows: list[Ad], at: datetime) -> None:
        """The poller's records of the rows, stamped ``at`` (when it fetched them)."""
        producer = make_producer(self.settings.kafka)
        for row in rows:
            producer.produce(
                self.raw,
                self.envelope(row),
                f"{self.account}|{row.ad}|{DAY}".encode(),
                timestamp=int(at.timestamp() * 1000),
            )
        assert producer.flush(30) == 0

    def normalized(self, row: Ad, spend_factor: int = 1) -> Output:
        """The row as a normalizer wrote it to the normalized topic; ``spend_factor`` 100 is
        the broken normalizer, which read spend in cents."""
        wrong = dataclasses.replace(row, spend=str(Decimal(row.spend) * spend_factor))
        output = to_output(facebook_row(read_envelope(self.envelope(wrong)), []))
        return dataclasses.replace(output, topic=self.norm)

    def produce_norm(self, outputs: list[Output], at: datetime | None = None) -> None:
        """Outputs onto the normalized topic, partitioned as the processor does, stamped
        ``at`` (when the processor wrote them; now by default)."""
        producer = make_producer(self.settings.kafka, **PRODUCER)
        stamp = int(at.timestamp() * 1000) if at else 0  # 0: now
        for output in outputs:
            headers: list[tuple[str, str | bytes | None]] = list(output.headers)
            producer.produce(self.norm, output.value, output.key, headers=headers, timestamp=stamp)
        assert producer.flush(30) == 0

    def land_all(self, group: str) -> None:
        """What the stopped sink ``group`` had done: the whole normalized topic landed in the
        live table, rows and offsets in one transaction."""
        ends = high_watermarks(self.settings.kafka, [self.norm])
        consumer = make_consumer(self.settings.kafka, f"{group}-probe-{uuid.uuid4().hex}")
        records: list[SinkRecord] = []
        try:
            consumer.assign([TopicPartition(t, p, 0) for (t, p), end in ends.items() if end])
            while len(records) < sum(ends.values()):
                for message in consumer.consume(100, 1.0):
                    assert message.error() is None, message.error()
                    records.append(sink_record(message))
        finally:
            consumer.close()
        writer = ads_writer(self.settings)
        with psycopg.connect(self.dsn) as connection:
            writer.prepare(connection)
            OffsetStore.prepare(connection)
            writer.write(connection, records)
            OffsetStore(group).save(connection, ends)

    def sink(self, group: str) -> Worker[SinkRunner]:
        """The ad-performance sink running as ``group`` on the test's topic and warehouse."""
        return Worker(SinkRunner(self.settings, ads_writer(self.settings), [self.norm], group))

    def break_rows(self) -> None:
        """Rows gone wrong (a bad deploy, a manual edit): every spend of the account is 0."""
        with psycopg.connect(self.dsn) as connection:
            connection.execute(
                "UPDATE public.ad_performance_daily SET spend = 0 WHERE account_id = %s",
                (self.account,),
            )

    def rows(self, table: str = "ad_performance_daily") -> dict[int, tuple[Decimal, datetime]]:
        """Spend and version of each ad in a table of the test's warehouse (none yet: {})."""
        with psycopg.connect(self.dsn) as connection:
            exists = connection.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
            if exists is None or exists[0] is None:
                return {}
            found = connection.execute(
                f"SELECT ad_id, spend, fetched_at FROM public.{table} WHERE account_id = %s",
                (self.account,),
            ).fetchall()
        return {int(ad): (spend, fetched_at) for ad, spend, fetched_at in found}

    def stored_offsets(self, group: str) -> dict[tuple[str, int], int]:
        """The sink's offsets in the test's warehouse."""
        with psycopg.connect(self.dsn) as connection:
            return OffsetStore(group).load(connection, high_watermarks(self.settings.kafka,
                                                                       [self.norm]))  # fmt: skip

    def last_versions(self) -> dict[bytes, int]:
        """The version (fetched_at, µs) of each key's last record on the normalized topic:
        what compaction keeps."""
        read_record = record_reader("norm/ad_performance_daily")
        ends = high_watermarks(self.settings.kafka, [self.norm])
        last: dict[bytes, int] = {}
        consumer = make_consumer(self.settings.kafka, f"probe-{uuid.uuid4().hex}")
        read = 0
        try:
            consumer.assign([TopicPartition(t, p, 0) for (t, p), end in ends.items() if end])
            while read < sum(ends.values()):
                for message in consumer.consume(100, 1.0):
                    read += 1
                    row = read_record(message.value() or b"", message_headers(message))
                    fetched = row["fetched_at"]
                    last[message.key() or b""] = int(fetched.timestamp() * 1_000_000)
        finally:
            consumer.close()
        return last

    def headwater(self, *args: str) -> Outcome:
        """Run a ``headwater`` command here, as ``main()`` runs it (same exit codes)."""
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        argv = sys.argv
        sys.argv = ["headwater", *args]
        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        finally:
            sys.argv = argv
            root.handlers[:], root.level = handlers, level
        captured = self.capsys.readouterr()
        return Outcome(code, captured.out, captured.err)


def own_ads_flow(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[OwnAdsFlow]:
    """The flow, its database and topics made for one test and removed after it."""
    tag = uuid.uuid4().hex[:10]
    assert settings.warehouse.dsn is not None
    shared = settings.warehouse.dsn.get_secret_value()
    database = f"replay_{tag}"
    with psycopg.connect(shared, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    dsn = urlunsplit(urlsplit(shared)._replace(path=f"/{database}"))  # its query (TLS) kept
    raw, norm = raw_topic("facebook_ads", f"insights_{tag}"), f"norm.ads.{tag}"
    kafka = make_admin(settings.kafka)
    ensure_topics(kafka, [
        TopicSpec(raw, 2, 1, {"cleanup.policy": "delete", "retention.ms": RAW_RETENTION_MS}),
        TopicSpec.compacted(norm, settings.processor.partitions, 1),
    ])  # fmt: skip
    _own_topology(monkeypatch, tag, norm)
    for name, value in {
        "HEADWATER_WAREHOUSE__DSN": dsn,
        "HEADWATER_PROCESSOR__APP_ID": f"replay-processor-{tag}",
        "HEADWATER_CDC__TABLES": json.dumps([f"public.t_{tag}"]),  # no CDC topic: none read
        "HEADWATER_LOG__FORMAT": "text",
    }.items():
        monkeypatch.setenv(name, value)
    own = settings.model_copy(
        update={"warehouse": settings.warehouse.model_copy(update={"dsn": SecretStr(dsn)})}
    )
    try:
        yield OwnAdsFlow(own, str(int(tag, 16) % 10**9), raw, norm, dsn, capsys)
    finally:
        for future in kafka.delete_topics([raw, norm]).values():
            future.result()
        with psycopg.connect(shared, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _own_topology(monkeypatch: pytest.MonkeyPatch, tag: str, norm: str) -> None:
    """The Facebook source reads ``raw.facebook_ads.insights_<tag>`` and writes ``norm``,
    which the ad-performance sink reads; no other source or sink changes."""

    def onto_own_topic(settings: Settings) -> Transform:
        normalize = facebook(settings)

        def transform(topic: str, key: bytes | None, value: bytes | None) -> list[Output]:
            return [dataclasses.replace(o, topic=norm) for o in normalize(topic, key, value)]

        return transform

    monkeypatch.setattr(sys.modules[__name__], "facebook_onto_own_topic", onto_own_topic,
                        raising=False)  # fmt: skip
    source = dataclasses.replace(
        topology.api_source("facebook_ads"),
        streams=(f"insights_{tag}",),
        normalizer=f"{__name__}:facebook_onto_own_topic",
        normalized=norm,
    )
    sinks = tuple(
        dataclasses.replace(entry, topics=lambda _s: [norm])
        if entry.name == "ad-performance"
        else entry
        for entry in topology.SINKS
    )
    monkeypatch.setattr(topology, "API_SOURCES", (source,))
    monkeypatch.setattr(topology, "SINKS", sinks)


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def as_decimal(value: str) -> Decimal:
    """A spend as the warehouse returns it (numeric(18,6))."""
    return Decimal(value).quantize(Decimal("0.000001"))
