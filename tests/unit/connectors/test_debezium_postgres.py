"""The Debezium PostgreSQL connector config, rendered from settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.base import MASK
from connectors.debezium_postgres import (
    CONNECTOR_CLASS,
    PROPAGATED_SOURCE_TYPES,
    TOPIC_RETENTION_MS,
    connector_config,
    datatype_propagation,
    heartbeat_topic,
    include_list,
    parse_include_list,
    render_config,
    signal_table,
    source_address,
)
from headwater.errors import ConfigurationError
from headwater.settings import (
    CdcSettings,
    ConnectSettings,
    DatabaseSettings,
    KafkaSettings,
    Settings,
)
from sandbox.source_db.schema import COLUMNS
from stream_processors.cdc.columns import _SQL_TYPES, sql_type
from tests.support.debezium import SOURCE_TYPES, column_schema, propagates

PASSWORD = "pa55-w0rd-!"
SECRETS = Path("/run/secrets/connect")


def _settings(
    dsn: str = "postgresql://admin:adminpw@db.internal:6543/app", **cdc: object
) -> Settings:
    fields: dict[str, object] = {
        "tables": ["public.customers", "sales.orders"],
        "password": SecretStr(PASSWORD),
    } | cdc
    return Settings(
        source=DatabaseSettings(dsn=SecretStr(dsn)),
        kafka=KafkaSettings(replication_factor=3),
        connect=ConnectSettings(secrets_dir=SECRETS),
        cdc=CdcSettings(**fields),
    )


def test_every_key_of_the_rendered_config() -> None:
    config = render_config(_settings())
    assert config == {
        "connector.class": CONNECTOR_CLASS,
        "tasks.max": "1",
        "plugin.name": "pgoutput",
        "database.hostname": "db.internal",
        "database.port": "6543",
        "database.user": "headwater_cdc",
        "database.password": "${dir:/run/secrets/connect:headwater-cdc.database.password}",
        "database.dbname": "app",
        "database.sslmode": "verify-full",
        "topic.prefix": "cdc.app",
        "table.include.list": r"public\.customers,sales\.orders",
        "publication.name": "headwater_cdc",
        "publication.autocreate.mode": "disabled",
        "slot.name": "headwater_cdc",
        "heartbeat.interval.ms": "10000",
        "snapshot.mode": "initial",
        "decimal.handling.mode": "precise",
        "time.precision.mode": "adaptive_time_microseconds",
        "tombstones.on.delete": "true",
        "skipped.operations": "none",
        "datatype.propagate.source.type": (
            r".+\.numeric,.+\.varchar,.+\.bpchar,.+\.char,.+\.json,.+\.interval"
        ),
        "signal.enabled.channels": "source",
        "signal.data.collection": "headwater_cdc.headwater_cdc_signal",
        "incremental.snapshot.watermarking.strategy": "insert_insert",
        "transforms": "dropSignals",
        "transforms.dropSignals.type": "org.apache.kafka.connect.transforms.Filter",
        "transforms.dropSignals.predicate": "isSignalTable",
        "predicates": "isSignalTable",
        "predicates.isSignalTable.type": (
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
        ),
        "predicates.isSignalTable.pattern": r"cdc\.app\.headwater_cdc\.headwater_cdc_signal",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
        "producer.override.compression.type": "zstd",
        "producer.override.linger.ms": "10",
        "producer.override.batch.size": "262144",
        "topic.creation.default.replication.factor": "3",
        "topic.creation.default.partitions": "3",
        "topic.creation.default.cleanup.policy": "delete",
        "topic.creation.default.retention.ms": str(TOPIC_RETENTION_MS),
        # the customers' topic holds personal data: a short retention (docs/privacy.md)
        "topic.creation.groups": "personal",
        "topic.creation.personal.include": r"cdc\.app\.public\.customers",
        "topic.creation.personal.retention.ms": str(72 * 3600 * 1000),
    }
    assert all(isinstance(value, str) for value in config.values())


def test_settings_drive_names_partitions_and_heartbeat() -> None:
    settings = _settings(
        connector_name="cdc-2",
        topic_prefix="cdc.shop",
        slot_name="slot_2",
        publication="pub_2",
        user="cdc_2",
        heartbeat_interval_ms=2500,
        topic_partitions=6,
    )
    config = render_config(settings)
    assert connector_config(settings).name == "cdc-2"
    assert config["topic.prefix"] == "cdc.shop"
    assert (config["slot.name"], config["publication.name"]) == ("slot_2", "pub_2")
    assert config["database.user"] == "cdc_2"
    assert config["heartbeat.interval.ms"] == "2500"
    assert config["topic.creation.default.partitions"] == "6"
    assert config["signal.data.collection"] == "headwater_cdc.slot_2_signal"
    assert heartbeat_topic(settings.cdc) == "__debezium-heartbeat.cdc.shop"
    assert settings.cdc.topic("sales.orders") == "cdc.shop.sales.orders"


def test_the_signal_filter_drops_only_the_signal_tables_topic() -> None:
    settings = _settings()
    pattern = re.compile(render_config(settings)["predicates.isSignalTable.pattern"])
    assert pattern.fullmatch(settings.cdc.topic(signal_table(settings.cdc)))
    assert not pattern.fullmatch(settings.cdc.topic("public.customers"))
    assert not pattern.fullmatch("cdc.appXheadwater_cdc.headwater_cdc_signal")


def test_the_printable_form_masks_the_password() -> None:
    rendered = connector_config(_settings())
    printable = rendered.masked()
    assert printable["database.password"] == MASK
    assert PASSWORD not in json.dumps(printable)
    assert {k: v for k, v in printable.items() if k != "database.password"} == {
        k: v for k, v in rendered.config.items() if k != "database.password"
    }


def test_host_and_port_as_connect_sees_them_override_the_dsn() -> None:
    settings = _settings(database_host="postgres", database_port=5432)
    assert source_address(settings) == ("postgres", 5432, "app")
    config = render_config(settings)
    assert (config["database.hostname"], config["database.port"]) == ("postgres", "5432")


def test_the_port_defaults_to_postgres_own() -> None:
    assert source_address(_settings("postgresql://u:p@db/warehouse")) == ("db", 5432, "warehouse")


def test_a_socket_dsn_needs_an_explicit_host() -> None:
    with pytest.raises(ConfigurationError) as raised:
        render_config(_settings("postgresql:///app?host=/var/run/postgresql"))
    assert raised.value.setting == "HEADWATER_CDC__DATABASE_HOST"
    config = render_config(_settings("postgresql:///app?host=/run/pg", database_host="pg"))
    assert config["database.hostname"] == "pg"


def test_a_missing_password_names_its_setting() -> None:
    with pytest.raises(ConfigurationError) as raised:
        render_config(_settings(password=None))
    assert raised.value.setting == "HEADWATER_CDC__PASSWORD"


def test_a_missing_source_dsn_names_its_setting() -> None:
    settings = _settings().model_copy(update={"source": DatabaseSettings()})
    with pytest.raises(ConfigurationError) as raised:
        render_config(settings)
    assert raised.value.setting == "HEADWATER_SOURCE__DSN"


def test_include_list_round_trips() -> None:
    tables = ["public.customers", "sales.order_items"]
    assert include_list(tables) == r"public\.customers,sales\.order_items"
    assert parse_include_list(include_list(tables)) == tables
    assert parse_include_list("") == []


def test_a_slot_name_too_long_for_its_signal_table_is_refused() -> None:
    with pytest.raises(ConfigurationError) as raised:
        signal_table(CdcSettings(slot_name="s" * 60))
    assert raised.value.setting == "HEADWATER_CDC__SLOT_NAME"


# --- Which columns carry their source type ---------------------------------------------------

#: The source types ``sql_type`` reads length or scale of (besides its table of names).
_SIZED_TYPES = ("NUMERIC", "DECIMAL", "VARCHAR", "CHARACTER VARYING", "BPCHAR", "CHAR", "CHARACTER")
_SOURCE_TYPE = "__debezium.source.column.type"
#: What Debezium matches ``datatype.propagate.source.type`` against: ``<table id>.<type>``.
_TABLE_ID = "app.public.orders"


def _mirror_types() -> list[str]:
    """Every type of columns.py's tables and of the sandbox schema, by its spelling in DDL."""
    named = [name.lower() for name in (*_SQL_TYPES, *_SIZED_TYPES)]
    sandbox = [column.type for columns in COLUMNS.values() for column in columns]
    return sorted(set(named + sandbox))


def _emitted(ddl_type: str, setting: str, *, snapshot: bool) -> dict[str, object]:
    """The field Debezium writes for a column of ``ddl_type`` under ``setting``."""
    source = SOURCE_TYPES[ddl_type]
    reported = str(source.snapshot.get("type") or source.reported) if snapshot else source.reported
    selected = propagates(setting, _TABLE_ID, reported.lower())
    return column_schema("c", ddl_type, propagated=selected, snapshot=snapshot)


def _full(ddl_type: str, *, snapshot: bool) -> dict[str, object]:
    """The field as ``column.propagate.source.type=.*`` wrote it: every column propagated."""
    return column_schema("c", ddl_type, propagated=True, snapshot=snapshot)


def _parameters(field: dict[str, object]) -> dict[str, str]:
    parameters = field.get("parameters") or {}
    assert isinstance(parameters, dict)
    return parameters


def test_the_catalogue_knows_every_type_the_mirror_maps() -> None:
    assert [t for t in _mirror_types() if t not in SOURCE_TYPES] == []


@pytest.mark.parametrize("snapshot", [False, True], ids=["streamed", "snapshot"])
@pytest.mark.parametrize("ddl_type", sorted(SOURCE_TYPES))
def test_every_column_keeps_its_mirror_type(ddl_type: str, snapshot: bool) -> None:
    setting = render_config(_settings())["datatype.propagate.source.type"]
    lean = _emitted(ddl_type, setting, snapshot=snapshot)
    assert sql_type(lean) == sql_type(_full(ddl_type, snapshot=snapshot))


def test_only_the_types_the_mirror_needs_are_propagated() -> None:
    setting = render_config(_settings())["datatype.propagate.source.type"]
    carrying = {
        SOURCE_TYPES[t].reported.lower()
        for t in SOURCE_TYPES
        if _SOURCE_TYPE in _parameters(_emitted(t, setting, snapshot=False))
    }
    assert carrying == set(PROPAGATED_SOURCE_TYPES)
    # Each one is needed: without it, some column would get another mirror type.
    for dropped in PROPAGATED_SOURCE_TYPES:
        fewer = datatype_propagation(tuple(t for t in PROPAGATED_SOURCE_TYPES if t != dropped))
        changed = [
            t
            for t in SOURCE_TYPES
            if sql_type(_emitted(t, fewer, snapshot=False))
            != sql_type(_emitted(t, setting, snapshot=False))
        ]
        assert changed, f"{dropped} is propagated for nothing"


def test_the_propagation_regexes_select_whole_type_names() -> None:
    setting = datatype_propagation()
    for name in PROPAGATED_SOURCE_TYPES:
        assert propagates(setting, _TABLE_ID, name)
        assert propagates(setting, _TABLE_ID, name.upper())  # Debezium ignores case
        assert propagates(setting, "public.orders", name)  # with or without a catalog
    for name in ("_numeric", "int4", "jsonb", "text", "numeric2", "xvarchar", "character"):
        assert not propagates(setting, _TABLE_ID, name)
    assert not propagates(setting, "app.public.numeric", "int4")  # a table named like a type


def test_debezium_reaches_the_source_as_its_dsn_says_verified_by_default() -> None:
    ca = "/etc/headwater/ca.pem"
    stack = render_config(
        _settings(f"postgresql://a:b@127.0.0.1:5432/app?sslmode=verify-full&sslrootcert={ca}")
    )
    assert (stack["database.sslmode"], stack["database.sslrootcert"]) == ("verify-full", ca)
    assert render_config(_settings())["database.sslmode"] == "verify-full"
    assert "database.sslrootcert" not in render_config(_settings())
    local = render_config(_settings("postgresql://a:b@127.0.0.1:5432/app?sslmode=disable"))
    assert local["database.sslmode"] == "disable"
