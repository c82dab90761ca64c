"""The connector's config on the real Debezium: lean records, same mirror types, safe upgrade.

A table with a column of every type in ``tests.support.debezium.SOURCE_TYPES`` shows that
only the types in ``PROPAGATED_SOURCE_TYPES`` carry their source type, that every column's
schema is the one the catalogue says (so the unit tests build real schemas), and that a
connector deployed with the previous config is moved to this one by ``apply_connector``
with the same mirror type for every column.
"""

from __future__ import annotations

import json
import re
from typing import Any

from psycopg import sql

from connectors.debezium_postgres import PROPAGATED_SOURCE_TYPES, render_config
from connectors.deployment import apply_connector, place_secrets
from connectors.source_setup import setup_source
from headwater.avro import record_reader
from headwater.settings import Settings
from stream_processors.cdc.columns import sql_type
from stream_processors.cdc.normalize import normalize
from tests.integration.connectors.conftest import CdcSandbox, Record
from tests.support.debezium import SOURCE_TYPES, column_schema

TABLE = "every_type"
_SOURCE_TYPE = "__debezium.source.column.type"


def _column(index: int, ddl_type: str) -> str:
    return f"c{index:02d}_" + re.sub(r"[^a-z0-9]+", "_", ddl_type).strip("_")


#: Column name -> its type's spelling in DDL (a key of SOURCE_TYPES).
COLUMNS = {_column(i, ddl_type): ddl_type for i, ddl_type in enumerate(SOURCE_TYPES)}


def _create_table(box: CdcSandbox) -> str:
    """The table with every type; returns the schema of ``citext`` (an extension's type)."""
    box.sql("CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA {schema}")
    [(citext_schema,)] = box.sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'citext'"
    )
    citext = sql.Identifier(str(citext_schema), "citext")
    columns = [
        sql.SQL("{} {}").format(
            sql.Identifier(name), citext if ddl_type == "citext" else sql.SQL(ddl_type)
        )
        for name, ddl_type in COLUMNS.items()
    ]
    box.sql(
        sql.SQL("CREATE TABLE {{schema}}.{} (id bigint PRIMARY KEY, {})")
        .format(sql.Identifier(TABLE), sql.SQL(", ").join(columns))
        .as_string()
    )
    return str(citext_schema)


def _insert(box: CdcSandbox, row_id: int) -> None:
    box.sql(f"INSERT INTO {{schema}}.{TABLE} (id) VALUES (%s)", (row_id,))


def _config_before(settings: Settings) -> dict[str, str]:
    """The connector config as ``connectors apply`` deployed it before the lean settings."""
    config = {
        key: value
        for key, value in render_config(settings).items()
        if key != "datatype.propagate.source.type" and not key.startswith("producer.override.")
    }
    return config | {"column.propagate.source.type": ".*", "key.converter.schemas.enable": "true"}


def _row_fields(record: Record) -> dict[str, dict[str, Any]]:
    envelope = {f["field"]: f for f in record.value["schema"]["fields"]}
    return {f["field"]: f for f in envelope["after"]["fields"] if f["field"] != "id"}


def _is(record: Record, op: str, row_id: int) -> bool:
    payload = record.payload
    return payload is not None and payload["op"] == op and payload["after"]["id"] == row_id


def _change(records: list[Record], op: str, row_id: int) -> Record:
    [record] = [r for r in records if _is(r, op, row_id)]
    return record


def _has(op: str, row_id: int) -> Any:
    return lambda records: any(_is(r, op, row_id) for r in records)


def _unlike_catalogue(
    record: Record, citext_schema: str, *, every_type: bool
) -> dict[str, tuple[Any, Any]]:
    """The columns whose schema is not the catalogue's, as (Debezium's, the catalogue's).

    ``every_type``: as ``column.propagate.source.type=.*`` wrote them; otherwise only the
    types in ``PROPAGATED_SOURCE_TYPES`` carry their source type.
    """
    fields = _row_fields(record)
    snapshot = record.payload["op"] == "r"
    expected = {
        name: column_schema(
            name,
            ddl_type,
            propagated=every_type
            or SOURCE_TYPES[ddl_type].reported.lower() in PROPAGATED_SOURCE_TYPES,
            snapshot=snapshot,
            # Not on the search path: the snapshot's JDBC metadata names it with its schema.
            reported=f'"{citext_schema.upper()}"."CITEXT"'
            if snapshot and ddl_type == "citext"
            else None,
        )
        for name, ddl_type in COLUMNS.items()
    }
    return {
        name: (fields.get(name), expected.get(name))
        for name in fields.keys() | expected.keys()
        if fields.get(name) != expected.get(name)
    }


def test_only_the_listed_types_carry_their_source_type(sandbox: CdcSandbox) -> None:
    citext_schema = _create_table(sandbox)
    _insert(sandbox, 1)  # before the connector: snapshotted
    settings = sandbox.settings(TABLE)
    setup_source(settings)
    assert apply_connector(settings, sandbox.client).action == "created"
    _insert(sandbox, 2)  # streamed from the WAL

    records = sandbox.consume([sandbox.topic(TABLE)], _has("c", 2), what="snapshot and insert")

    for record, row_id in ((_change(records, "r", 1), 1), (_change(records, "c", 2), 2)):
        assert record.key == {"id": row_id}  # the bare key, no schema
        assert _unlike_catalogue(record, citext_schema, every_type=False) == {}
        carried = {
            field["parameters"][_SOURCE_TYPE]
            for field in _row_fields(record).values()
            if _SOURCE_TYPE in field.get("parameters", {})
        }
        assert {name.lower() for name in carried} == set(PROPAGATED_SOURCE_TYPES)


def test_a_connector_deployed_before_is_updated_and_the_mirror_types_stay(
    sandbox: CdcSandbox,
) -> None:
    citext_schema = _create_table(sandbox)
    _insert(sandbox, 1)
    settings = sandbox.settings(TABLE)
    setup_source(settings)
    name, topic = settings.cdc.connector_name, sandbox.topic(TABLE)
    place_secrets(settings)  # the old config names its password file too, as apply placed it
    sandbox.client.put_config(name, _config_before(settings))
    sandbox.consume([topic], _has("r", 1), what="the old config's snapshot")
    _insert(sandbox, 2)
    before = sandbox.consume([topic], _has("c", 2), what="the old config's insert")

    result = apply_connector(settings, sandbox.client)
    assert (result.action, result.streaming) == ("updated", True)
    assert sandbox.client.get_config(name) == {"name": name, **render_config(settings)}
    _insert(sandbox, 3)
    records = sandbox.consume([topic], _has("c", 3), what="the new config's insert")

    # What the topic held stays as it was written: keys with their schema, every source type.
    old, new = records[: len(before)], records[len(before) :]
    assert [r.key["payload"] for r in old] == [{"id": 1}, {"id": 2}]
    assert all(set(r.key) == {"schema", "payload"} for r in old)
    for record in old:
        assert _unlike_catalogue(record, citext_schema, every_type=True) == {}
    assert not any(r.payload["op"] == "r" for r in new if r.payload)  # no new snapshot
    inserted = _change(new, "c", 3)
    assert all(r.key == {"id": r.payload["after"]["id"]} for r in new if r.payload)
    assert _unlike_catalogue(inserted, citext_schema, every_type=False) == {}

    # Every column keeps its mirror type, as Debezium's fields say and as the processor reads.
    old_types = {n: sql_type(f) for n, f in _row_fields(old[1]).items()}
    assert {n: sql_type(f) for n, f in _row_fields(inserted).items()} == old_types
    assert {n: sql_type(f) for n, f in _row_fields(old[0]).items()} == old_types
    assert _normalized(old[1]) == ({"id": 2}, {"id": "int8"} | old_types)
    assert _normalized(inserted) == ({"id": 3}, {"id": "int8"} | old_types)


def _normalized(record: Record) -> tuple[Any, dict[str, str]]:
    """The processor's output key for a change, and its columns' SQL types."""
    [output] = normalize(json.dumps(record.key).encode(), json.dumps(record.value).encode())
    row = record_reader("norm/cdc_row")(output.value or b"", output.headers)
    return json.loads(output.key), {column["name"]: column["sql_type"] for column in row["columns"]}
