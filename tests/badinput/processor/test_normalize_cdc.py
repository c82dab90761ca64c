"""Debezium change events the CDC normalizer refuses: each is a dead letter with its reason,
and every good change around it reaches its ``norm.cdc`` topic with its values exact.

The catalogue runs through both paths of the normalizer: the first record of a schema is
parsed whole, later ones with the same schema take the compiled fast path, which must give
the same outcome. Debezium's placeholder for an unchanged TOASTed value is not an error in
a column (the mirror keeps the value it has) but is one in a primary-key column.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Message

from headwater.cdc_row import decode_change
from headwater.settings import Settings
from headwater.topology import norm_cdc_topic
from stream_processors.base import Stage, TransformStage
from stream_processors.cdc.columns import UNAVAILABLE
from stream_processors.cdc.normalize import normalize
from tests.support.bad_inputs import TEN_MB, Bad, Batch, catalogue_tests, interleave
from tests.support.debezium import decimal_bytes, envelope, order_row
from tests.support.kafka_io import Record
from tests.support.stage_run import NormalizerRun, StageRun, redirected, run_normalizer

SCHEMA = f"badinput_{uuid.uuid4().hex[:8]}"
GOOD_ROWS = 60
Doc = dict[str, Any]


def order(n: int, **overrides: Any) -> Doc:
    return order_row(n, amount=decimal_bytes(f"{n}.25", 2), quantity=n % 7, **overrides)


def change(op: str, n: int, lsn: int, **overrides: Any) -> tuple[bytes | None, bytes]:
    row = order(n, **overrides)
    if op == "d":
        return envelope(op, before=row, lsn=lsn, schema=SCHEMA)
    return envelope(op, after=row, lsn=lsn, schema=SCHEMA)


GOOD_KEY, GOOD_VALUE = change("c", 0, 999)


def mutated(edit: Callable[[Doc], None]) -> bytes:
    """The good insert with ``edit`` applied to its parsed JSON."""
    document = json.loads(GOOD_VALUE)
    edit(document)
    return json.dumps(document, ensure_ascii=False).encode()


def at(path: str, value: Any) -> Callable[[Doc], None]:
    """An edit setting ``payload.source.lsn`` (say) to a value."""

    def edit(document: Doc) -> None:
        *parents, name = path.split(".")
        for parent in parents:
            document = document[parent]
        document[name] = value

    return edit


def dropped(path: str) -> Callable[[Doc], None]:
    def edit(document: Doc) -> None:
        *parents, name = path.split(".")
        for parent in parents:
            document = document[parent]
        del document[name]

    return edit


def column(name: str, value: Any) -> Callable[[Doc], None]:
    return at(f"payload.after.{name}", value)


def bad(case: str, edit: Callable[[Doc], None], reason: str, key: bytes | None = GOOD_KEY) -> Bad:
    return Bad(case, mutated(edit), reason, key)


def without_scale(document: Doc) -> None:
    for image in document["schema"]["fields"][:2]:
        for field in image["fields"]:
            if field["field"] == "amount":
                del field["parameters"]["scale"]


def without_after_struct(document: Doc) -> None:
    document["schema"]["fields"] = (
        document["schema"]["fields"][:1] + document["schema"]["fields"][2:]
    )


def both(*edits: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def edit(document: Doc) -> None:
        for one in edits:
            one(document)

    return edit


def bad_changes() -> list[Bad]:
    text = GOOD_VALUE
    _, deleted = envelope("d", before=None, lsn=1, schema=SCHEMA)
    empty_key = json.dumps({"schema": {"type": "struct", "fields": []}, "payload": {}}).encode()
    return [
        Bad("empty value", b"", "not JSON", GOOD_KEY),
        Bad("truncated JSON", text[: len(text) // 2], "not JSON", GOOD_KEY),
        Bad("truncated by one byte", text[:-1], "not JSON", GOOD_KEY),
        Bad("invalid UTF-8", text.replace(b'"op": "c"', b'"op": "\xff"'), "not JSON", GOOD_KEY),
        Bad("NUL byte outside strings", b"\x00" + text, "not JSON", GOOD_KEY),
        Bad("trailing garbage", text + b"]", "not JSON", GOOD_KEY),
        Bad("JSON array", b"[" + text + b"]", "not a JSON object", GOOD_KEY),
        Bad("JSON null", b"null", "not a JSON object", GOOD_KEY),
        bad("schemas disabled", dropped("schema"), "not a Debezium envelope with schema"),
        bad("schema null", at("schema", None), "not a Debezium envelope"),
        bad("payload null", at("payload", None), "not a Debezium envelope"),
        bad("op missing", dropped("payload.op"), "unknown Debezium operation"),
        bad("op unknown", at("payload.op", "x"), "unknown Debezium operation 'x'"),
        bad("op a message", at("payload.op", "m"), "unknown Debezium operation 'm'"),
        bad("source missing", dropped("payload.source"), "no source block"),
        bad("source a list", at("payload.source", []), "no source block"),
        bad("lsn missing", dropped("payload.source.lsn"), "lsn"),
        bad("lsn a string", at("payload.source.lsn", "1000"), "lsn"),
        bad("lsn beyond int64", at("payload.source.lsn", 2**63 + 1), "lsn"),
        bad("lsn a boolean", at("payload.source.lsn", True), "lsn"),
        bad("table missing", dropped("payload.source.table"), "lacks schema, table"),
        bad("schema name empty", at("payload.source.schema", ""), "lacks schema, table"),
        bad(
            "commit time missing",
            both(dropped("payload.source.ts_us"), dropped("payload.source.ts_ms")),
            "no commit time",
        ),
        bad(
            "commit time a string",
            both(dropped("payload.source.ts_us"), at("payload.source.ts_ms", "1764065730123")),
            "no commit time",
        ),
        Bad("key missing", GOOD_VALUE, "has no key", None),
        Bad("key not JSON", GOOD_VALUE, "key is not JSON", b'{"id": '),
        Bad("key invalid UTF-8", GOOD_VALUE, "key is not JSON", b'{"id": "\xff"}'),
        Bad("key a JSON array", GOOD_VALUE, "key is not a JSON object", b"[0]"),
        Bad("key payload empty", GOOD_VALUE, "key has no payload", empty_key),
        bad("after null", at("payload.after", None), "INSERT event without its row image"),
        bad("after a list", at("payload.after", [1]), "without its row image"),
        Bad("before null on a delete", deleted, "DELETE event without its row image", GOOD_KEY),
        bad("schema without after", without_after_struct, "schema has no 'after' struct"),
        bad("primary key null", column("id", None), "primary key column(s) ['id']"),
        bad("primary key placeholder", column("id", UNAVAILABLE), "primary key column(s)"),
        bad("numeric not base64", column("amount", "!!!"), "column 'amount'"),
        bad("numeric a JSON number", column("amount", 12.5), "column 'amount'"),
        bad("numeric without its scale", without_scale, "column 'amount'"),
        bad("int16 a string", column("quantity", "2"), "column 'quantity'"),
        bad("int16 a fraction", column("quantity", 2.5), "column 'quantity'"),
        bad("int beyond int64", column("quantity", 2**63), "beyond the 64-bit integers"),
        bad("boolean a string", column("is_gift", "yes"), "column 'is_gift'"),
        bad("date a string", column("order_date", "2026-11-01"), "column 'order_date'"),
        bad("timestamp beyond int64", column("local_created", -(2**63) - 1), "local_created"),
        bad("timestamptz Feb 30", column("created_at", "2026-02-30T10:00:00Z"), "created_at"),
        bad("timestamptz year 10000", column("created_at", "10000-01-01T00:00:00Z"), "created"),
        bad("timestamptz not a time", column("created_at", "soon"), "column 'created_at'"),
        bad("json an object", column("metadata", {"utm": "fb"}), "column 'metadata'"),
        bad("text a number", column("notes", 5), "column 'notes'"),
        Bad(
            "text of 10 MB",
            mutated(column("notes", "n" * TEN_MB)),
            "too large",
            GOOD_KEY,
            too_large=True,
        ),
    ]


BAD = bad_changes()


def good_records() -> list[Record]:
    records: list[Record] = []
    for n in range(GOOD_ROWS):
        if n == 7:  # an update whose notes Debezium did not send (unchanged TOAST)
            key, value = change("u", n, 2000 + n, notes=UNAVAILABLE)
        elif n == 8:
            key, value = change("d", n, 2000 + n)
        else:
            key, value = change("c", n, 2000 + n)
        if n == 9:  # duplicate names: every JSON parser the normalizer uses keeps the last
            value = value.replace(b'"status": "paid"', b'"status": "lost", "status": "paid"', 1)
        records.append((key, value, []))
    return records


BATCH: Batch = interleave(good_records(), BAD)


@pytest.fixture(scope="module")
def normalizer_run(settings: Settings) -> Iterator[NormalizerRun]:
    def stage(run: StageRun, raw: str, normalized: str) -> Stage:
        transform = redirected(
            lambda _topic, key, value: normalize(key, value),  # as stream_processors.cdc.stage
            {norm_cdc_topic(SCHEMA, "orders"): normalized},
        )
        return TransformStage("normalize_cdc", run.label, [raw], transform)

    yield from run_normalizer(settings, "cdc", stage, BATCH.records)


(
    test_the_catalogue_holds_at_least_40_bad_inputs,
    test_a_bad_input_is_a_dead_letter_with_its_reason,
    test_no_good_record_is_a_dead_letter,
) = catalogue_tests(BAD, BATCH)


def test_every_good_change_lands_with_its_values(landed: list[Message]) -> None:
    tombstones = [m.key() for m in landed if m.value() is None]
    assert tombstones == [b'{"id":8}']
    changes = {m.key(): decode_change(m.value() or b"") for m in landed if m.value()}
    assert len(changes) == GOOD_ROWS
    for n in range(GOOD_ROWS):
        got = changes[f'{{"id":{n}}}'.encode()]
        assert (got.schema, got.table, got.lsn) == (SCHEMA, "orders", 2000 + n)
        assert got.op == {7: "UPDATE", 8: "DELETE"}.get(n, "INSERT")
        if n == 8:  # a delete carries its key only
            assert got.values == {"id": 8}
            continue
        assert Decimal(got.values["amount"]) == Decimal(f"{n}.25")
        assert (got.values["quantity"], got.values["status"]) == (n % 7, "paid")
        assert got.unchanged == ({"notes"} if n == 7 else set())
