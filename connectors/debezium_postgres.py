"""The Debezium PostgreSQL connector's config, rendered from :class:`~headwater.settings.Settings`.

Choices that are not Debezium's defaults, and why:

- ``time.precision.mode=adaptive_time_microseconds``: ``timestamp`` (precision 6) becomes
  ``io.debezium.time.MicroTimestamp`` and every ``time`` becomes ``io.debezium.time.MicroTime``
  (microseconds since epoch / midnight), ``timestamptz`` an ISO-8601 string with all its
  digits (``ZonedTimestamp``). ``connect`` would use Kafka Connect's logical types, which
  are milliseconds, and silently drop the last three digits; ``adaptive`` keeps them too
  but gives ``time(0..3)`` columns a millisecond type, so one column type, two encodings.
- ``decimal.handling.mode=precise``: ``numeric(p,s)`` is Connect's ``Decimal`` (exact,
  with ``scale`` in the schema parameters), never a double.
- ``skipped.operations=none``: TRUNCATE arrives as an ``op: "t"`` event (Debezium skips it
  by default); ``tombstones.on.delete=true``: a delete is followed by a null-valued record
  for the key, so compacted topics can forget the row.
- ``datatype.propagate.source.type``: only columns of the types in
  :data:`PROPAGATED_SOURCE_TYPES` carry their PostgreSQL type, length and scale
  (``__debezium.source.column.*``) in their schema: the types whose mirror column type the
  Connect schema alone does not give (``numeric(p,s)``, ``varchar(n)``, ``char(n)``,
  ``json`` rather than ``jsonb``, ``interval`` as text rather than microseconds). For every
  other type the Connect schema names the same mirror type, so the parameters were bytes
  in every record for nothing (``column.propagate.source.type=.*`` made up more than half
  of each schema).
- ``key.converter.schemas.enable=false``: the key is the bare primary key (``{"id": 42}``);
  its schema repeated the column types the value's schema already has.
- ``producer.override.*``: Connect's producer for this connector compresses with zstd and
  waits up to :data:`PRODUCER_LINGER_MS` to fill batches of up to :data:`PRODUCER_BATCH_BYTES`,
  so the schema repeated in every value compresses away within a batch. The worker must
  allow it (``connector.client.config.override.policy=All``: Kafka's default since 3.0, set
  explicitly by the native stack and docker-compose).
- ``publication.autocreate.mode=disabled``: ``headwater source setup`` owns the
  publication (least privilege: the replication role owns nothing).
- ``signal.data.collection``: a per-connector signaling table, through which
  ``connectors apply`` starts incremental snapshots of tables added to the captured list.
  Debezium captures that table by itself; a Filter transform keeps its rows out of Kafka.
- ``database.password`` is a ``${dir:<folder>:<file>}`` reference the worker resolves
  (:mod:`connectors.secrets`): the password stays out of Connect's config topic and REST API.
- Kafka Connect creates the topics (the broker does not auto-create them) with
  ``cleanup.policy=delete`` and a long retention; the heartbeat topic included. The topics
  of tables holding personal data (``headwater.privacy.retention.personal_tables``) are in
  the topic-creation group ``personal``, with the short retention of
  ``HEADWATER_PRIVACY__RAW_PERSONAL_RETENTION_HOURS`` (docs/privacy.md).
"""

from __future__ import annotations

import re

from psycopg.conninfo import conninfo_to_dict

from connectors.base import ConnectorConfig
from connectors.secrets import reference
from headwater.errors import ConfigurationError
from headwater.privacy.retention import personal_tables
from headwater.settings import CdcSettings, Settings
from headwater.topology import missing_settings

CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector"
PLUGIN = "PostgresConnector"
JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
SECRET_KEYS = frozenset({"database.password"})

#: Schema of the signaling tables (one per connector, named after its slot).
SIGNAL_SCHEMA = "headwater_cdc"
#: Retention of the cdc.* topics; the mirror is rebuilt past it with an incremental snapshot.
TOPIC_RETENTION_MS = 30 * 24 * 3600 * 1000
#: Debezium's default prefix of the heartbeat topic (``<prefix>.<topic.prefix>``).
HEARTBEAT_TOPIC_PREFIX = "__debezium-heartbeat"
#: PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1).
MAX_IDENTIFIER = 63
#: The PostgreSQL types (``pg_type`` names, as Debezium reports them) whose columns carry
#: their source type: the mirror's SQL type depends on it (length, scale, json or jsonb,
#: interval as text). Any other type maps to the same SQL type from its Connect schema.
#: ``char`` is PostgreSQL's one-byte ``"char"``; ``char(n)`` columns are ``bpchar``.
PROPAGATED_SOURCE_TYPES = ("numeric", "varchar", "bpchar", "char", "json", "interval")
#: Compression of the connector's producer. zstd rather than our producers' lz4: the cdc.*
#: topics keep 30 days of verbose JSON, and zstd stores an orders change in about 55 % of
#: lz4's bytes; librdkafka and aiokafka (through cramjam) both read it.
PRODUCER_COMPRESSION = "zstd"
#: How long the connector's producer waits to fill a batch (a bound on the added latency).
PRODUCER_LINGER_MS = 10
#: Largest batch per partition: room for dozens of changes, so their schemas compress away.
PRODUCER_BATCH_BYTES = 256 * 1024


def signal_table(cdc: CdcSettings) -> str:
    """The connector's signaling table, ``schema.table`` (one per slot, so per connector)."""
    table = f"{cdc.slot_name}_signal"
    if len(table) > MAX_IDENTIFIER:
        raise ConfigurationError(
            "HEADWATER_CDC__SLOT_NAME", f"is too long to name its signaling table {table!r}"
        )
    return f"{SIGNAL_SCHEMA}.{table}"


def heartbeat_topic(cdc: CdcSettings) -> str:
    """The topic Debezium writes heartbeats to."""
    return f"{HEARTBEAT_TOPIC_PREFIX}.{cdc.topic_prefix}"


def source_dsn(settings: Settings) -> str:
    """The admin connection URI of the source database (HEADWATER_SOURCE__DSN)."""
    if settings.source.dsn is None:
        raise ConfigurationError("HEADWATER_SOURCE__DSN", "is not set")
    return settings.source.dsn.get_secret_value()


def source_address(settings: Settings) -> tuple[str, int, str]:
    """Host, port and database name of the source as Kafka Connect reaches it."""
    params = conninfo_to_dict(source_dsn(settings))
    dbname = str(params.get("dbname") or "")
    if not dbname:
        raise ConfigurationError("HEADWATER_SOURCE__DSN", "names no database")
    host = settings.cdc.database_host or str(params.get("host") or "")
    if not host or host.startswith("/") or "," in host:
        raise ConfigurationError(
            "HEADWATER_CDC__DATABASE_HOST",
            "is needed: the source DSN has no single TCP host Connect could use",
        )
    port = settings.cdc.database_port or int(str(params.get("port") or "5432").split(",")[0])
    return host, port, dbname


#: libpq's sslmode names, which the PostgreSQL JDBC driver under Debezium takes as they are
SSL_MODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})


def source_tls(settings: Settings) -> dict[str, str]:
    """How Debezium reaches the source: the source DSN's ``sslmode`` (``verify-full`` when it
    names none, as Headwater's own connections) and its ``sslrootcert``, a PEM file that must
    be readable on the Connect workers."""
    params = conninfo_to_dict(source_dsn(settings))
    mode = str(params.get("sslmode") or "verify-full")
    if mode not in SSL_MODES:
        raise ConfigurationError("HEADWATER_SOURCE__DSN", f"sslmode={mode!r} is not a libpq mode")
    config = {"database.sslmode": mode}
    if params.get("sslrootcert"):
        config["database.sslrootcert"] = str(params["sslrootcert"])
    return config


def include_list(tables: list[str]) -> str:
    """``table.include.list``: anchored regular expressions, one per ``schema.table``."""
    return ",".join(re.escape(table) for table in tables)


def parse_include_list(value: str) -> list[str]:
    """The ``schema.table`` names of an include list written by :func:`include_list`."""
    return [item.strip().replace("\\.", ".") for item in value.split(",") if item.strip()]


def datatype_propagation(types: tuple[str, ...] = PROPAGATED_SOURCE_TYPES) -> str:
    """``datatype.propagate.source.type``: one regex per type name.

    Debezium matches each, case-insensitively and whole, against ``<table id>.<type name>``.
    """
    return ",".join(rf".+\.{re.escape(name)}" for name in types)


def password_file(cdc: CdcSettings) -> str:
    """The name of the file holding the connector's database password (one per connector)."""
    return f"{cdc.connector_name}.database.password"


def connector_password(settings: Settings) -> str:
    """The replication role's password, for the secret file (HEADWATER_CDC__PASSWORD)."""
    if settings.cdc.password is None:
        raise ConfigurationError("HEADWATER_CDC__PASSWORD", "is not set")
    return settings.cdc.password.get_secret_value()


#: what the connector's config cannot be rendered without: the source it captures, the
#: replication role's password and the folder where the Connect workers read that password
REQUIRED = ("HEADWATER_SOURCE__DSN", "HEADWATER_CDC__PASSWORD", "HEADWATER_CONNECT__SECRETS_DIR")


def render_config(settings: Settings) -> dict[str, str]:
    """The connector's Kafka Connect config: the password only as a config-provider reference.

    Every setting in :data:`REQUIRED` that is missing is named at once, before anything is
    contacted.
    """
    missing = missing_settings(settings, REQUIRED)
    if missing:
        raise ConfigurationError(", ".join(missing), "required by the CDC connector, not set")
    cdc = settings.cdc
    host, port, dbname = source_address(settings)
    return {
        "connector.class": CONNECTOR_CLASS,
        "tasks.max": "1",
        "plugin.name": "pgoutput",
        "database.hostname": host,
        "database.port": str(port),
        "database.user": cdc.user,
        "database.password": reference(settings, password_file(cdc)),
        "database.dbname": dbname,
        **source_tls(settings),
        "topic.prefix": cdc.topic_prefix,
        "table.include.list": include_list(cdc.tables),
        "publication.name": cdc.publication,
        "publication.autocreate.mode": "disabled",
        "slot.name": cdc.slot_name,
        "heartbeat.interval.ms": str(cdc.heartbeat_interval_ms),
        "snapshot.mode": "initial",
        "decimal.handling.mode": "precise",
        "time.precision.mode": "adaptive_time_microseconds",
        "tombstones.on.delete": "true",
        "skipped.operations": "none",
        "datatype.propagate.source.type": datatype_propagation(),
        "signal.enabled.channels": "source",
        "signal.data.collection": signal_table(cdc),
        # Watermarks are INSERTs only, so the role needs no DELETE on the signaling table.
        "incremental.snapshot.watermarking.strategy": "insert_insert",
        # Debezium captures its signaling table by itself; keep those rows out of Kafka.
        "transforms": "dropSignals",
        "transforms.dropSignals.type": "org.apache.kafka.connect.transforms.Filter",
        "transforms.dropSignals.predicate": "isSignalTable",
        "predicates": "isSignalTable",
        "predicates.isSignalTable.type": (
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
        ),
        "predicates.isSignalTable.pattern": re.escape(cdc.topic(signal_table(cdc))),
        "key.converter": JSON_CONVERTER,
        "key.converter.schemas.enable": "false",
        "value.converter": JSON_CONVERTER,
        "value.converter.schemas.enable": "true",
        "producer.override.compression.type": PRODUCER_COMPRESSION,
        "producer.override.linger.ms": str(PRODUCER_LINGER_MS),
        "producer.override.batch.size": str(PRODUCER_BATCH_BYTES),
        "topic.creation.default.replication.factor": str(settings.kafka.replication_factor),
        "topic.creation.default.partitions": str(cdc.topic_partitions),
        "topic.creation.default.cleanup.policy": "delete",
        "topic.creation.default.retention.ms": str(TOPIC_RETENTION_MS),
    } | personal_topic_group(settings)


def personal_topic_group(settings: Settings) -> dict[str, str]:
    """The topic-creation group of the tables holding personal data: a short retention."""
    tables = personal_tables(settings)
    if not tables:
        return {}
    topics = "|".join(re.escape(settings.cdc.topic(table)) for table in tables)
    return {
        "topic.creation.groups": "personal",
        "topic.creation.personal.include": topics,
        "topic.creation.personal.retention.ms": str(settings.privacy.raw_personal_retention_ms),
    }


def connector_config(settings: Settings) -> ConnectorConfig:
    """The named connector config, with its secret keys marked for masking."""
    return ConnectorConfig(settings.cdc.connector_name, render_config(settings), SECRET_KEYS)
