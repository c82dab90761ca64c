"""A CDC pipeline of the benchmark's own on the local stack, and what can be read off it.

A fresh source schema (seeded), its own replication role, slot, publication and Debezium
connector, a processor (own app id) and a mirror sink (own group) that follow only this
schema's topics; all of it removed again on exit, topics included.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any
from unittest.mock import patch

import psycopg
from confluent_kafka import KafkaException, TopicPartition
from psycopg import sql
from pydantic import SecretStr

from bench.services import BenchService
from connectors.client import ConnectClient
from control.stack.launcher import Stack
from headwater.kafka.clients import make_admin, make_consumer
from headwater.postgres import verified
from headwater.settings import Settings, load_settings
from headwater.topology import norm_cdc_topic
from sandbox.source_db import drop_schema, prepare_source
from sandbox.source_db.mirrors import MirrorPolicy, differences, source_in_warehouse
from sandbox.workload import WorkloadStats
from stream_processors.app import processor_stages
from stream_processors.kpis.contributions import contributions_topic

TABLES = ["customers", "orders"]
SEED_CUSTOMERS, SEED_ORDERS = 1_000, 5_000

Partition = tuple[str, int]


def cdc_events(stats: WorkloadStats) -> int:
    """Debezium events a workload makes: one per row change, plus a tombstone per delete."""
    total = stats.total()
    return total.changes + total.deletes


class CdcRig:
    """Source schema -> Debezium -> processor -> mirror sink, owned by one benchmark."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.schema = f"bench_{self.tag}"
        settings = load_settings()
        self.settings = settings
        self.connector = f"bench-{self.tag}"
        self.app_id = f"bench-processor-{self.tag}"
        self.sink_group = f"bench-sink-{self.tag}"
        self.key = secrets.token_hex(32)  # the customers' email and phone are hashed with it
        self.cdc_topics = [settings.cdc.topic(f"{self.schema}.{t}") for t in TABLES]
        self.norm_topics = [norm_cdc_topic(self.schema, t) for t in TABLES]
        self.env = self._environment()
        self.source_dsn = self.env["HEADWATER_SOURCE__DSN"]
        self.warehouse_dsn = self.env["HEADWATER_WAREHOUSE__DSN"]
        self.logs = Path(tempfile.mkdtemp(prefix=f"headwater-bench-{self.tag}-"))
        self.processor = BenchService("processor", ["process"], self.env, self.logs)
        self.sink = BenchService(
            "sink", ["sink", "cdc", "--group-id", self.sink_group], self.env, self.logs
        )
        self.connect = ConnectClient(self.env["HEADWATER_CONNECT__URL"])
        self._stack = Stack(settings.stack, say=lambda _: None)
        self._kafka = make_consumer(settings.kafka, f"bench-probe-{self.tag}")
        self._processor_offsets = make_consumer(settings.kafka, self.app_id)
        self._warehouse: psycopg.Connection[Any] | None = None
        self._exit = ExitStack()
        self.foreign = ""

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_CDC__")}
        return (
            env
            | Stack(self.settings.stack).environment()
            | {
                "HEADWATER_CDC__TABLES": json.dumps([f"{self.schema}.{t}" for t in TABLES]),
                "HEADWATER_CDC__CONNECTOR_NAME": self.connector,
                "HEADWATER_CDC__SLOT_NAME": f"bench_{self.tag}",
                "HEADWATER_CDC__PUBLICATION": f"bench_{self.tag}",
                "HEADWATER_CDC__USER": f"bench_cdc_{self.tag}",
                "HEADWATER_CDC__PASSWORD": secrets.token_urlsafe(16),
                "HEADWATER_PROCESSOR__APP_ID": self.app_id,
                "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": self.key,
                "HEADWATER_SINK__CDC_TOPICS": rf"^norm\.cdc\.{self.schema}\..*",
                "HEADWATER_KPIS__ORDERS_TABLE": f"{self.schema}.orders",
            }
        )

    # -- life -----------------------------------------------------------------------------

    def __enter__(self) -> CdcRig:
        """Seed the schema, prepare the source, start both services, apply the connector."""
        self._exit.callback(self._remove)
        try:
            self._prepare()
        except BaseException:
            self._exit.close()
            raise
        return self

    def _prepare(self) -> None:
        with psycopg.connect(verified(self.source_dsn), autocommit=True) as source:
            prepare_source(
                source, schema=self.schema, customers=SEED_CUSTOMERS, orders=SEED_ORDERS, seed=5
            )
        self.headwater("source", "setup")
        self._skip_shared_history()
        self.start_services()  # the processor creates the cdc.* topics ahead of Debezium
        self.headwater("connectors", "apply")
        self.foreign = self._exit.enter_context(
            source_in_warehouse(self.warehouse_dsn, self.source_dsn, self.schema, TABLES)
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._exit.close()
        # the services' logs are kept to explain a failure, or when BENCH_KEEP_LOGS is set
        if kind is None and not os.environ.get("BENCH_KEEP_LOGS"):
            shutil.rmtree(self.logs, ignore_errors=True)
        else:
            print(f"  (the services' logs: {self.logs})", file=sys.stderr)

    def headwater(self, *args: str) -> None:
        """Run a ``headwater`` command to completion; raise with its output if it fails."""
        done = subprocess.run(
            [sys.executable, "-m", "control.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"headwater {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    def start_services(self) -> None:
        """Launch the processor and the sink."""
        self.processor.start()
        self.sink.start()

    def stop_services(self) -> None:
        """SIGTERM both; they finish their batch and commit."""
        self.sink.stop()
        self.processor.stop()

    def stop_connector(self) -> None:
        """Stop Debezium's connector (its slot keeps the WAL) until :meth:`resume_connector`."""
        self.connect.stop(self.connector)
        self.connect.wait_stopped(self.connector)

    def resume_connector(self) -> None:
        """Start the stopped connector again: it streams what the slot kept."""
        self.connect.resume(self.connector)

    def _skip_shared_history(self) -> None:
        """Start the processor's group at the end of every input that is not the rig's own.

        The processor also reads the stack's shared ads and events topics, which hold what
        earlier tests and demos wrote; without this the drain would time that history too.
        """
        with patch.dict(os.environ, self.env, clear=True):
            stages = processor_stages(load_settings())
        own = set(self.cdc_topics) | {contributions_topic(self.app_id)}
        shared = sorted({topic for stage in stages for topic in stage.sources} - own)
        ends = self.end_offsets(shared)
        if ends:
            offsets = [TopicPartition(t, p, end) for (t, p), end in ends.items()]
            self._processor_offsets.commit(offsets=offsets, asynchronous=False)

    # -- what can be read -----------------------------------------------------------------

    def pids(self) -> dict[str, int | None]:
        """The processes that do the work: our two services and the stack's servers."""
        postmaster = self._stack.postgres.data / "postmaster.pid"
        return {
            "processor": self.processor.pid,
            "sink": self.sink.pid,
            "connect": self._stack.connect.process.pid(),
            "kafka": self._stack.kafka.process.pid(),
            "postgres": int(postmaster.read_text().split()[0]) if postmaster.exists() else None,
        }

    def end_offsets(self, topics: list[str]) -> dict[Partition, int]:
        """The end offset of every partition of these topics (absent topics: none)."""
        metadata = self._kafka.list_topics(timeout=10).topics
        ends = {}
        for topic in topics:
            if topic in metadata:
                for partition in metadata[topic].partitions:
                    tp = TopicPartition(topic, partition)
                    ends[(topic, partition)] = self._kafka.get_watermark_offsets(tp, timeout=10)[1]
        return ends

    def _processor_committed(self, partitions: list[Partition]) -> dict[Partition, int]:
        wanted = [TopicPartition(t, p) for t, p in partitions]
        committed = self._processor_offsets.committed(wanted, timeout=10)
        return {(tp.topic, tp.partition): tp.offset for tp in committed}

    def _sink_committed(self) -> dict[Partition, tuple[int, float]]:
        if self._warehouse is None or self._warehouse.closed:  # one backend for every poll
            self._warehouse = psycopg.connect(verified(self.warehouse_dsn), autocommit=True)
        rows = self._warehouse.execute(
            "SELECT topic, partition, next_offset, extract(epoch FROM updated_at)::float8 "
            "FROM headwater.sink_offsets WHERE sink = %s",
            (self.sink_group,),
        ).fetchall()
        return {(topic, partition): (offset, at) for topic, partition, offset, at in rows}

    def caught_up(self) -> float | None:
        """When the sink committed its last batch, if both services have read everything.

        The processor's committed offsets are at the end of the cdc.* topics and the sink's
        stored offsets at the end of the norm.cdc.* topics; None otherwise.
        """
        for service in (self.processor, self.sink):
            service.check_alive()
        cdc_ends = {tp: end for tp, end in self.end_offsets(self.cdc_topics).items() if end}
        committed = self._processor_committed(list(cdc_ends))
        if any(committed.get(tp, -1) < end for tp, end in cdc_ends.items()):
            return None
        norm_ends = {tp: end for tp, end in self.end_offsets(self.norm_topics).items() if end}
        stored = self._sink_committed()
        if not norm_ends or any(stored.get(tp, (0, 0.0))[0] < e for tp, e in norm_ends.items()):
            return None
        return max(stored[tp][1] for tp in norm_ends)

    def wait_caught_up(self, timeout_s: float = 1_800.0, interval_s: float = 0.5) -> float:
        """Wait for :meth:`caught_up`; the time of the sink's last commit (epoch seconds)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            done = self.caught_up()
            if done is not None:
                return done
            time.sleep(interval_s)
        raise TimeoutError(f"the pipeline did not catch up within {timeout_s:.0f}s ({self.logs})")

    def check_mirrors(self, timeout_s: float = 60.0) -> None:
        """Every mirror equals its source table, row for row (SQL); raise when they differ."""
        deadline = time.monotonic() + timeout_s
        while True:
            with psycopg.connect(verified(self.warehouse_dsn)) as warehouse:
                policy = MirrorPolicy.of(
                    Settings(processor={"pseudonymization_key": SecretStr(self.key)})
                )
                found = {
                    t: differences(warehouse, self.foreign, self.schema, t, policy) for t in TABLES
                }
            if not any(found.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"mirrors differ from their source (rows per table): {found}")
            time.sleep(1)

    # -- removal --------------------------------------------------------------------------

    def _remove(self) -> None:
        self.stop_services()
        if self._warehouse is not None:
            self._warehouse.close()
        self.headwater("connectors", "delete", "--drop-slot")
        with psycopg.connect(verified(self.source_dsn), autocommit=True) as source:
            publication = sql.Identifier(f"bench_{self.tag}")
            source.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(publication))
            signal = sql.Identifier("headwater_cdc", f"bench_{self.tag}_signal")
            source.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(signal))
            drop_schema(source, self.schema)
            role = sql.Identifier(f"bench_cdc_{self.tag}")
            source.execute(sql.SQL("DROP OWNED BY {}").format(role))
            source.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
        with psycopg.connect(verified(self.warehouse_dsn), autocommit=True) as warehouse:
            warehouse.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )
            warehouse.execute(
                "DELETE FROM headwater.sink_offsets WHERE sink = %s", (self.sink_group,)
            )
        self._remove_from_kafka()
        shutil.rmtree(Path(tempfile.gettempdir()) / f"{self.app_id}-worker-data", True)

    def _remove_from_kafka(self) -> None:
        for consumer in (self._kafka, self._processor_offsets):
            consumer.close()
        admin = make_admin(self.settings.kafka)
        ours = (f"{self.app_id}-", *self.cdc_topics, *self.norm_topics)
        topics = [t for t in admin.list_topics(timeout=10).topics if t.startswith(ours)]
        futures: dict[Any, Any] = {}
        if topics:
            futures |= admin.delete_topics(topics, operation_timeout=30)
        groups = [self.app_id, f"{self.app_id}-worker", self.sink_group]
        futures |= admin.delete_consumer_groups(groups, request_timeout=30)
        for future in futures.values():
            try:
                future.result()
            except KafkaException as error:  # a group never created, say
                print(f"  (cleanup: {error})", file=sys.stderr)
