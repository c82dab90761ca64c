"""An isolated CDC pipeline for the e2e tests: its own source schema, connector, slot, role,
consumer groups and ports, and the cleanup of all of it."""

from __future__ import annotations

import json
import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from confluent_kafka import KafkaError, KafkaException
from pydantic import SecretStr

from connectors.debezium_postgres import signal_table
from headwater.kafka.clients import make_admin
from headwater.settings import CdcSettings, Settings
from headwater.topology import norm_cdc_topic
from sandbox.source_db import drop_schema, prepare_source
from sandbox.source_db.mirrors import MirrorPolicy, differences
from tests.support.services import Service, headwater, kafka_env

TABLES = ["customers", "orders"]


class Pipeline:
    """One isolated CDC pipeline: its own schema, connector, slot, role, groups and ports."""

    def __init__(self, settings: Settings, logs: Path, extra: dict[str, str] | None = None) -> None:
        tag = uuid.uuid4().hex[:8]
        self.schema = f"e2e_{tag}"
        self.settings = settings
        assert settings.source.dsn is not None
        assert settings.warehouse.dsn is not None
        self.source_dsn = settings.source.dsn.get_secret_value()
        self.warehouse_dsn = settings.warehouse.dsn.get_secret_value()
        self.connector = f"e2e-{tag}"
        self.env = (
            {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
            | {
                **kafka_env(settings.kafka),
                "HEADWATER_CONNECT__URL": settings.connect.url,
                "HEADWATER_CONNECT__SECRETS_DIR": str(settings.connect.secrets_dir),
                "HEADWATER_SOURCE__DSN": self.source_dsn,
                "HEADWATER_WAREHOUSE__DSN": self.warehouse_dsn,
                "HEADWATER_CDC__TABLES": json.dumps([f"{self.schema}.{t}" for t in TABLES]),
                "HEADWATER_CDC__CONNECTOR_NAME": self.connector,
                "HEADWATER_CDC__SLOT_NAME": f"e2e_{tag}",
                "HEADWATER_CDC__PUBLICATION": f"e2e_{tag}",
                "HEADWATER_CDC__USER": f"e2e_cdc_{tag}",
                "HEADWATER_CDC__PASSWORD": secrets.token_urlsafe(16),
                "HEADWATER_PROCESSOR__APP_ID": f"e2e-processor-{tag}",
                # the customers' email and phone are hashed with it (docs/privacy.md)
                "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": secrets.token_hex(32),
                "HEADWATER_SINK__BATCH_SIZE": "2000",
                "HEADWATER_SINK__BATCH_INTERVAL_S": "0.5",
                "HEADWATER_SINK__CDC_TOPICS": rf"^norm\.cdc\.{self.schema}\..*",
            }
            | (extra or {})
        )
        self.sink_group = f"e2e-sink-{tag}"
        key = SecretStr(self.env["HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY"])
        #: what the mirrors hold of the source: compare with this
        self.policy = MirrorPolicy.of(Settings(processor={"pseudonymization_key": key}))
        self.cdc = CdcSettings(
            tables=[f"{self.schema}.{t}" for t in TABLES], slot_name=f"e2e_{tag}"
        )
        self.processor = Service("processor", ["process"], self.env, logs)
        self.sink = Service("sink", ["sink", "cdc", "--group-id", self.sink_group], self.env, logs)

    def run(self, *args: str) -> str:
        done = headwater(*args, env=self.env)
        assert done.returncode == 0, f"headwater {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def norm_topics(self) -> list[str]:
        return [norm_cdc_topic(self.schema, table) for table in TABLES]

    def mirrors_equal(self, foreign: str) -> bool:
        """Both mirrors exist and hold what their source tables (imported into the warehouse
        as ``foreign``) hold, as the privacy policy leaves it."""
        with psycopg.connect(self.warehouse_dsn) as warehouse:
            exists = warehouse.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                (self.schema,),
            ).fetchone()
            if not exists or exists[0] < len(TABLES):
                return False
            return all(
                differences(warehouse, foreign, self.schema, t, self.policy) == 0 for t in TABLES
            )


@contextmanager
def cdc_pipeline(
    settings: Settings,
    logs: Path,
    customers: int = 400,
    orders: int = 2_000,
    extra: dict[str, str] | None = None,
) -> Iterator[Pipeline]:
    """A seeded source schema and its pipeline; everything is removed afterwards."""
    line = Pipeline(settings, logs, extra)
    with psycopg.connect(line.source_dsn, autocommit=True) as source:
        prepare_source(source, schema=line.schema, customers=customers, orders=orders, seed=11)
    try:
        yield line
    finally:
        for service in (line.sink, line.processor):
            service.stop()
        headwater("connectors", "delete", "--drop-slot", env=line.env)
        with psycopg.connect(line.source_dsn, autocommit=True) as source:
            source.execute(f'DROP PUBLICATION IF EXISTS "{line.env["HEADWATER_CDC__PUBLICATION"]}"')
            source.execute(f"DROP TABLE IF EXISTS {signal_table(line.cdc)}")
            drop_schema(source, line.schema)
            role = line.env["HEADWATER_CDC__USER"]
            source.execute(f'DROP OWNED BY "{role}"')
            source.execute(f'DROP ROLE IF EXISTS "{role}"')
        with psycopg.connect(line.warehouse_dsn, autocommit=True) as warehouse:
            warehouse.execute(f'DROP SCHEMA IF EXISTS "{line.schema}" CASCADE')
            for table in TABLES:
                warehouse.execute(
                    f'DROP TABLE IF EXISTS headwater."deleted_{line.schema}__{table}"'
                )
            warehouse.execute(
                "DELETE FROM headwater.sink_offsets WHERE sink = %s", (line.sink_group,)
            )
            warehouse.execute(
                "DELETE FROM headwater.cdc_truncations WHERE mirror LIKE %s", (f"{line.schema}.%",)
            )
        admin = make_admin(settings.kafka)
        topics = [f"{settings.cdc.topic_prefix}.{line.schema}.{t}" for t in TABLES]
        for future in admin.delete_topics(
            [*topics, *line.norm_topics()], operation_timeout=30
        ).values():
            try:
                future.result()
            except KafkaException as error:  # a topic the run never created is fine
                if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise
