"""Replaying one sink: rewind it, land a window into its table once, or into its shadow.

A sink stands where its offsets in the warehouse say (``sinks/offsets.py``); its Kafka
commits only mirror them for lag monitoring. A rewind moves both; a window landed once (a
bounded replay, a shadow) moves neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from control.replay import shadow
from control.replay.plan import (
    Partition,
    PartitionPlan,
    ReplayRefused,
    ensure_idle,
    partitions_of,
    plan,
    rewind_kafka,
    topics_matching,
)
from headwater.kafka.clients import make_admin
from headwater.postgres import connect
from headwater.settings import Settings
from sinks.base import BatchWriter
from sinks.offsets import OffsetStore
from sinks.registry import writer_and_topics
from sinks.rejects import RejectOutbox
from sinks.upsert import TableSpec, VersionedUpsertWriter
from sinks.window import LandingReport, WindowLanding


def sink_table(settings: Settings, name: str) -> TableSpec:
    """The one table the sink ``name`` writes; refused for a sink of many (the CDC mirrors)
    and without a warehouse."""
    if settings.warehouse.dsn is None:
        raise ReplayRefused("HEADWATER_WAREHOUSE__DSN is needed: the tables live there")
    return _table_of(name, writer_and_topics(name, settings)[0])


def _table_of(name: str, writer: BatchWriter) -> TableSpec:
    if not isinstance(writer, VersionedUpsertWriter):
        raise ReplayRefused(
            f"sink {name} writes many tables: shadows are for the sinks of one table "
            "(the CDC mirrors are read again with `headwater connectors snapshot`)"
        )
    return writer.spec


@dataclass(frozen=True)
class SinkReplay:
    """One sink of the topology, as its consumer group ``group`` runs it."""

    settings: Settings
    name: str
    group: str
    writer: BatchWriter
    topics: list[str]
    dsn: str

    @classmethod
    def of(cls, settings: Settings, name: str, group: str) -> SinkReplay:
        """The sink called ``name``; refused when a topic is missing or there is no warehouse."""
        if settings.warehouse.dsn is None:
            raise ReplayRefused("HEADWATER_WAREHOUSE__DSN is needed: the offsets live there")
        writer, patterns = writer_and_topics(name, settings)
        topics = topics_matching(settings.kafka, patterns)
        return cls(settings, name, group, writer, topics, settings.warehouse.dsn.get_secret_value())

    @property
    def table(self) -> TableSpec:
        """The one table it writes; refused for a sink of many (the CDC mirrors)."""
        return _table_of(self.name, self.writer)

    def partitions(self) -> list[Partition]:
        """Every partition of its topics."""
        return partitions_of(self.settings.kafka, self.topics)

    def stored(self) -> dict[Partition, int]:
        """Where it stands: its offsets in the warehouse."""
        with connect(self.dsn, self.settings.warehouse) as connection:
            OffsetStore.prepare(connection)
            return OffsetStore(self.group).load(connection, self.partitions())

    def plan(
        self, since: datetime, until: datetime | None, into_shadow: bool
    ) -> list[PartitionPlan]:
        """What a replay reads. Into the live table it needs the sink stopped; a shadow
        starts where the sink stands if that is earlier (its copy of the live table holds
        nothing later), a window landed once at ``since``."""
        if into_shadow:
            _ = self.table  # refused before anything is read
        bounded = into_shadow or until is not None
        return plan(
            self.settings.kafka,
            self.group,
            self.topics,
            since,
            until,
            positions=self.stored(),
            require_idle=not into_shadow,
            stay_behind=into_shadow or not bounded,
        )

    def rewind(self, plans: list[PartitionPlan]) -> None:
        """Move the stopped sink back to the plan's starts, in the warehouse and in Kafka."""
        starts = {(p.topic, p.partition): p.start for p in plans}
        with connect(self.dsn, self.settings.warehouse) as connection:
            OffsetStore(self.group).save(connection, starts)
        rewind_kafka(self.settings.kafka, self.group, plans)

    def land(self, plans: list[PartitionPlan]) -> LandingReport:
        """Land the window into the live table once; refused records go to ``dlq.sink``."""
        outbox = RejectOutbox(self.group, self.writer.name)
        landing = WindowLanding(self.settings, self.writer, dead_letters=outbox)
        return landing.land([p.window for p in plans], [p.after for p in plans])

    def land_in_shadow(self, plans: list[PartitionPlan]) -> LandingReport:
        """Copy the live table into the shadow, land the window there, and mark the shadow
        complete with its position. Neither the live table nor the sink's offsets change;
        refused records are only reported (the live sink dead-letters its own)."""
        live = self.table
        assert isinstance(self.writer, VersionedUpsertWriter)
        with connect(self.dsn, self.settings.warehouse) as connection:
            self.writer.prepare(connection)  # a sink that never ran has no table yet
            connection.commit()
            copied_at = shadow.seed(connection, live, self.group, self.partitions())
        landing = WindowLanding(self.settings, self.writer.into(shadow.shadow_of(live)))
        report = landing.land([p.window for p in plans], [p.after for p in plans])
        position = {
            (p.topic, p.partition): max(copied_at.get((p.topic, p.partition), -1), p.end)
            for p in plans
        }
        with connect(self.dsn, self.settings.warehouse) as connection:
            shadow.complete(connection, self.group, position)
        return report

    def swap(self) -> dict[Partition, int]:
        """Make the shadow the live table, the sink stopped; the position it resumes from.

        Its Kafka commits, which only mirror the warehouse offsets for lag monitoring,
        follow at its first batch."""
        live = self.table
        ensure_idle(make_admin(self.settings.kafka), self.group)
        with connect(self.dsn, self.settings.warehouse) as connection:
            return shadow.swap(connection, live, self.group, self.partitions())
