"""The shape of Debezium's records on this stack: exact types, TOAST, deletes, truncates."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from connectors.deployment import apply_connector
from connectors.source_setup import setup_source
from tests.integration.connectors.conftest import CdcSandbox, Record

TYPED = """
CREATE TABLE {schema}.typed (
    id bigint PRIMARY KEY,
    small smallint,
    amount numeric(12,2),
    paid_at timestamptz,
    local_at timestamp,
    day date,
    at_time time,
    attrs jsonb,
    ref uuid,
    flag boolean,
    name text,
    body text
)"""
ROW = """
INSERT INTO {schema}.typed VALUES (
    1, -32768, 1234567890.12, '2024-03-05 06:07:08.123456+02', '2024-03-05 06:07:08.654321',
    '2024-03-05', '23:59:59.999999', '{{"k": ["v", 1]}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    true, 'Zoë ☕',
    (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) g)
)"""


def _fields(record: Record, part: str = "after") -> dict[str, dict[str, Any]]:
    envelope = {f["field"]: f for f in record.value["schema"]["fields"]}
    return {f["field"]: f for f in envelope[part]["fields"]}


def _decimal(encoded: str, scale: int) -> Decimal:
    unscaled = int.from_bytes(base64.b64decode(encoded), "big", signed=True)
    return Decimal(unscaled).scaleb(-scale)


def test_change_events_carry_exact_values_toast_tombstones_and_truncates(
    sandbox: CdcSandbox,
) -> None:
    sandbox.sql(TYPED)
    settings = sandbox.settings("typed")
    setup_source(settings)
    apply_connector(settings, sandbox.client)
    topic = sandbox.topic("typed")

    sandbox.sql(ROW)
    sandbox.sql("UPDATE {schema}.typed SET flag = false WHERE id = 1")  # body: TOASTed, unchanged
    sandbox.sql("DELETE FROM {schema}.typed WHERE id = 1")
    sandbox.sql("TRUNCATE {schema}.typed")

    records = sandbox.consume(
        [topic],
        lambda records: any(r.payload and r.payload["op"] == "t" for r in records),
        what="insert, update, delete, tombstone and truncate",
    )
    ops = [r.payload["op"] if r.value is not None else "tombstone" for r in records]
    assert ops == ["c", "u", "d", "tombstone", "t"]
    insert, update, delete, tombstone, truncate = records

    after = insert.payload["after"]
    schema = _fields(insert)
    assert schema["amount"]["name"] == "org.apache.kafka.connect.data.Decimal"
    assert schema["amount"]["parameters"] == {
        "scale": "2",
        "connect.decimal.precision": "12",
        "__debezium.source.column.type": "NUMERIC",
        "__debezium.source.column.length": "12",
        "__debezium.source.column.scale": "2",
        "__debezium.source.column.name": "amount",
    }
    assert _decimal(after["amount"], 2) == Decimal("1234567890.12")
    assert schema["paid_at"]["name"] == "io.debezium.time.ZonedTimestamp"
    assert after["paid_at"] == "2024-03-05T04:07:08.123456Z"
    assert schema["local_at"]["name"] == "io.debezium.time.MicroTimestamp"
    assert after["local_at"] == 1709618828654321  # microseconds since the epoch
    assert schema["day"]["name"] == "io.debezium.time.Date"
    assert after["day"] == 19787  # days since the epoch
    assert schema["at_time"]["name"] == "io.debezium.time.MicroTime"
    assert after["at_time"] == 86399999999
    assert schema["attrs"]["name"] == "io.debezium.data.Json"
    assert after["attrs"] == '{"k": ["v", 1]}'
    assert schema["ref"]["name"] == "io.debezium.data.Uuid"
    assert after["ref"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert (after["small"], after["flag"], after["name"]) == (-32768, True, "Zoë ☕")
    assert len(after["body"]) == 12800
    assert "parameters" not in schema["body"]  # text: no source type, see PROPAGATED_SOURCE_TYPES
    assert insert.key == {"id": 1}  # the bare key: key.converter.schemas.enable=false

    # An update that leaves a TOASTed column alone does not carry its value.
    assert update.payload["after"]["flag"] is False
    assert update.payload["after"]["body"] == "__debezium_unavailable_value"
    assert update.payload["before"] is None  # REPLICA IDENTITY DEFAULT
    assert int(update.payload["source"]["lsn"]) > int(insert.payload["source"]["lsn"])

    assert delete.payload["after"] is None
    assert delete.payload["before"]["id"] == 1
    assert (tombstone.key, tombstone.value) == ({"id": 1}, None)

    assert truncate.key is None
    assert (truncate.payload["before"], truncate.payload["after"]) == (None, None)
    assert truncate.payload["source"]["table"] == "typed"
