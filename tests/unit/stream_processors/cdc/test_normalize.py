import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater.avro import record_reader
from headwater.errors import RejectedRecord
from stream_processors.cdc.columns import UNAVAILABLE
from stream_processors.cdc.normalize import normalize
from stream_processors.output import Output
from tests.support.debezium import decimal_bytes, envelope, order_row

_READ = record_reader("norm/cdc_row")


def _record(output: Output) -> dict[str, Any]:
    assert output.value is not None
    return _READ(output.value, output.headers)


def _columns(output: Output) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in _record(output)["columns"]}


def test_insert_becomes_a_flat_typed_row() -> None:
    outputs = normalize(*envelope("c", after=order_row(42), lsn=5555))
    assert len(outputs) == 1
    out = outputs[0]
    assert out.topic == "norm.cdc.public.orders"
    assert json.loads(out.key) == {"id": 42}
    assert out.value is not None
    record = _record(out)
    assert (record["op"], record["lsn"], record["txid"]) == ("INSERT", 5555, 771)
    assert record["primary_key"] == ["id"]
    columns = _columns(out)
    assert columns["amount"]["value"] == "1234.50"
    assert columns["amount"]["sql_type"] == "numeric(12,2)"
    assert columns["status"]["sql_type"] == "varchar(20)"
    assert (columns["quantity"]["sql_type"], columns["quantity"]["value"]) == ("int2", 2)
    assert columns["order_date"]["value"] == 20_000
    assert columns["local_created"]["value"] == 1_764_000_000_123_456
    assert columns["created_at"]["sql_type"] == "timestamptz"
    moment = datetime(2026, 11, 25, 10, 15, 30, 123456, tzinfo=UTC) - datetime(
        1970, 1, 1, tzinfo=UTC
    )
    assert columns["created_at"]["value"] == moment // timedelta(microseconds=1)
    assert columns["metadata"]["sql_type"] == "jsonb"
    assert columns["order_uuid"]["sql_type"] == "uuid"
    assert columns["notes"]["value"] == "Zoë Ångström 🚀"
    assert columns["is_gift"]["value"] is False


@pytest.mark.parametrize("text", ["0.00", "-12.34", "99999999.99", "0.01", "-0.50"])
def test_decimals_stay_exact(text: str) -> None:
    outputs = normalize(*envelope("c", after=order_row(1, amount=decimal_bytes(text, 2))))
    assert outputs[0].value is not None
    assert _columns(outputs[0])["amount"]["value"] == text


def test_unchanged_toast_placeholder_is_never_data() -> None:
    after = order_row(42, notes=UNAVAILABLE)
    outputs = normalize(*envelope("u", before=None, after=after))
    assert outputs[0].value is not None
    notes = _columns(outputs[0])["notes"]
    assert notes["unchanged"] is True
    assert notes["value"] is None


def test_delete_emits_the_delete_then_a_tombstone() -> None:
    before = {"id": 42, **{k: None for k in order_row(42) if k != "id"}}
    outputs = normalize(*envelope("d", before=before, lsn=9000))
    assert [o.value is None for o in outputs] == [False, True]
    assert outputs[0].key == outputs[1].key
    assert outputs[0].value is not None
    record = _record(outputs[0])
    assert (record["op"], record["lsn"]) == ("DELETE", 9000)
    assert [c["name"] for c in record["columns"]] == ["id"]


def test_truncate_has_its_own_key() -> None:
    outputs = normalize(None, envelope("t", lsn=777)[1])
    assert len(outputs) == 1
    assert json.loads(outputs[0].key) == {"__truncate__": 777}
    assert outputs[0].value is not None
    assert _record(outputs[0])["op"] == "TRUNCATE"


def test_debezium_tombstone_is_filtered() -> None:
    assert normalize(b'{"payload": {"id": 1}}', None) == []


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"{}", b"not json", "value is not JSON"),
        (b"{}", b'{"payload": {}}', "not a Debezium envelope"),
        (
            b"{}",
            json.dumps({"schema": {}, "payload": {"op": "x"}}).encode(),
            "unknown Debezium operation",
        ),
        (None, envelope("c", after=order_row(1))[1], "no primary key"),
    ],
)
def test_bad_events_are_rejected_with_a_reason(
    key: bytes | None, value: bytes, reason: str
) -> None:
    with pytest.raises(RejectedRecord, match=reason):
        normalize(key, value)


def test_a_value_of_the_wrong_type_is_rejected_naming_the_column() -> None:
    with pytest.raises(RejectedRecord, match="column 'quantity'"):
        normalize(*envelope("c", after=order_row(1, quantity="two")))


def test_incremental_snapshot_rows_get_the_lowest_version() -> None:
    key, value = envelope("r", after=order_row(5))
    event = json.loads(value)
    event["payload"]["source"].update({"lsn": None, "txId": None, "snapshot": "incremental"})
    outputs = normalize(key, json.dumps(event).encode())
    assert outputs[0].value is not None
    record = _record(outputs[0])
    assert (record["op"], record["lsn"], record["txid"]) == ("SNAPSHOT", 0, None)


def test_a_stream_event_without_lsn_is_rejected() -> None:
    key, value = envelope("u", after=order_row(5))
    event = json.loads(value)
    event["payload"]["source"]["lsn"] = None
    with pytest.raises(RejectedRecord, match="lsn"):
        normalize(key, json.dumps(event).encode())
