"""The CDC column policy on the normalizer's records, as the processor's stage applies it."""

import json
from typing import Any

from pydantic import SecretStr

from headwater.avro import record_reader
from headwater.privacy.pseudonyms import Pseudonymizer
from headwater.settings import Settings
from stream_processors.cdc.stage import transform
from tests.support.debezium import envelope, order_row

KEY = "c" * 32
SETTINGS = Settings(processor={"pseudonymization_key": SecretStr(KEY)})
_READ = record_reader("norm/cdc_row")
FIELDS = [
    {"type": "int64", "optional": False, "field": "id"},
    {"type": "string", "optional": False, "field": "email"},
    {"type": "string", "optional": False, "field": "full_name"},
    {"type": "string", "optional": True, "field": "phone"},
    {"type": "string", "optional": True, "field": "city"},
]
CUSTOMER = {
    "id": 7,
    "email": "zoe@example.com",
    "full_name": "Zoë Ångström",
    "phone": "+33 6 12 34 56 78",
    "city": "Lyon",
}


def _customer(op: str, **kwargs: Any) -> tuple[bytes | None, bytes]:
    return envelope(op, table="customers", fields=FIELDS, **kwargs)


def test_personal_columns_never_reach_norm_cdc() -> None:
    outputs = transform(SETTINGS)("cdc.app.public.customers", *_customer("c", after=CUSTOMER))
    [output] = outputs
    assert output.value is not None
    for personal in ("zoe@example.com", "Zoë", "+33 6 12"):
        assert personal.encode() not in output.value
    columns = {c["name"]: c for c in _READ(output.value, output.headers)["columns"]}
    assert set(columns) == {"id", "email", "phone", "city"}  # full_name dropped
    pseudonymize = Pseudonymizer(KEY, "k1")
    assert columns["email"]["value"] == pseudonymize("zoe@example.com")
    assert columns["phone"]["value"] == pseudonymize("+33 6 12 34 56 78")
    assert (columns["email"]["sql_type"], columns["city"]["value"]) == ("text", "Lyon")
    assert output.key == json.dumps({"id": 7}, separators=(",", ":")).encode()


def test_a_delete_and_its_tombstone_keep_their_key() -> None:
    outputs = transform(SETTINGS)("cdc.app.public.customers", *_customer("d", before=CUSTOMER))
    assert [o.value is None for o in outputs] == [False, True]
    assert outputs[0].key == outputs[1].key == b'{"id":7}'


def test_a_table_without_personal_columns_passes_byte_for_byte() -> None:
    from stream_processors.cdc.normalize import normalize

    change = envelope("c", after=order_row(42))
    assert transform(Settings())("cdc.app.public.orders", *change) == normalize(*change)
