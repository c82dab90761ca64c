"""The DDL a mirror needs for a batch of changes, worked out without a database."""

from __future__ import annotations

from headwater.cdc_row import Change
from sinks.cdc.column_types import parse_type
from sinks.cdc.tables import MirrorTable, schema_changes


def _change(**types: str) -> Change:
    return Change("app", "orders", "INSERT", 10, 0, ("id",), types=dict(types))


def _mirror(**types: str) -> MirrorTable:
    return MirrorTable("app", "orders", ("id",), {n: parse_type(t) for n, t in types.items()})


def test_an_absent_mirror_is_created_with_the_widest_type_of_each_column() -> None:
    steps = schema_changes(
        _mirror(), [_change(id="int4", qty="int2"), _change(id="int8", qty="int2")]
    )
    assert [step.description for step in steps] == ["create with columns id int8, qty int2"]


def test_a_new_column_is_added_and_a_changed_type_widened() -> None:
    mirror = _mirror(id="bigint", code="character varying(10)", flag="boolean")
    changes = [_change(id="int8", code="varchar(40)", flag="int2", coupon="text")]
    assert [step.description for step in schema_changes(mirror, changes)] == [
        "add columns coupon text",
        "widen code from varchar(10) to varchar(40)",
        "widen flag from bool to text",
    ]


def test_a_mirror_that_holds_every_change_needs_nothing() -> None:
    mirror = _mirror(id="bigint", code="text", amount="numeric(14,4)")
    changes = [
        _change(id="int4", code="varchar(10)", amount="numeric(12,2)"),
        _change(id="int8"),  # a delete: the key only; a dropped column is no change either
    ]
    assert schema_changes(mirror, changes) == []
