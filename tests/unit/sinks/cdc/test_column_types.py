"""Mirror column types: both spellings, and the common type a changed source column gets."""

from __future__ import annotations

import pytest

from sinks.cdc.column_types import ColumnType, common_type, holds, parse_type


@pytest.mark.parametrize(
    ("processor", "catalog"),
    [
        ("int2", "smallint"),
        ("int4", "integer"),
        ("int8", "bigint"),
        ("float4", "real"),
        ("float8", "double precision"),
        ("bool", "boolean"),
        ("varchar(20)", "character varying(20)"),
        ("char(3)", "character(3)"),
        ("numeric(12,2)", "numeric(12,2)"),
        ("numeric", "numeric"),
        ("timestamp", "timestamp without time zone"),
        ("timestamptz", "timestamp with time zone"),
        ("timestamptz", "timestamp(3) with time zone"),
        ("time", "time without time zone"),
        ("timetz", "time with time zone"),
        ("text", "text"),
        ("jsonb", "jsonb"),
        ("uuid", "uuid"),
        ("bytea", "bytea"),
        ("date", "date"),
    ],
)
def test_the_processor_and_the_catalog_spellings_are_one_type(processor: str, catalog: str) -> None:
    assert parse_type(processor) == parse_type(catalog)


def test_a_type_prints_as_ddl_names_it() -> None:
    assert [parse_type(t).sql for t in ("character(3)", "character varying(9)", "numeric(5)")] == [
        "char(3)",
        "varchar(9)",
        "numeric(5,0)",
    ]
    assert parse_type('"char"').sql == '"char"'


def test_a_spelling_that_is_not_a_type_is_refused() -> None:
    with pytest.raises(ValueError, match="not a column type"):
        parse_type("int4; DROP TABLE x")


@pytest.mark.parametrize(
    ("current", "incoming", "common"),
    [
        ("int4", "int8", "int8"),
        ("int8", "int4", "int8"),  # never narrowed
        ("int2", "int4", "int4"),
        ("int4", "numeric(12,2)", "numeric(12,2)"),
        ("int8", "numeric(12,2)", "numeric(21,2)"),
        ("int4", "numeric(9,0)", "int4"),
        ("int4", "numeric(10,0)", "numeric(10,0)"),
        ("numeric(12,2)", "numeric(14,4)", "numeric(14,4)"),
        ("numeric(12,2)", "numeric(10,4)", "numeric(14,4)"),
        ("numeric(12,2)", "numeric", "numeric"),
        ("numeric(999,0)", "numeric(10,9)", "numeric"),
        ("float4", "float8", "float8"),
        ("int4", "float4", "float8"),
        ("int8", "float8", "numeric"),
        ("numeric(12,2)", "float8", "numeric"),
        ("varchar(20)", "varchar(200)", "varchar(200)"),
        ("varchar(200)", "varchar(20)", "varchar(200)"),
        ("varchar(20)", "text", "text"),
        ("varchar", "varchar(20)", "text"),
        ("char(3)", "char(5)", "char(5)"),
        ("char(3)", "varchar(5)", "text"),
        ("json", "jsonb", "jsonb"),
        ("int4", "text", "text"),
        ("text", "int4", "text"),
        ("bool", "int2", "text"),
        ("timestamp", "timestamptz", "text"),
        ("uuid", "uuid", "uuid"),
    ],
)
def test_a_changed_column_gets_the_narrowest_type_that_holds_both(
    current: str, incoming: str, common: str
) -> None:
    assert common_type(parse_type(current), parse_type(incoming)) == parse_type(common)
    assert holds(parse_type(common), parse_type(current))
    assert holds(parse_type(common), parse_type(incoming))


def test_holds_is_whether_nothing_needs_to_change() -> None:
    assert holds(ColumnType("int8"), ColumnType("int4"))
    assert not holds(ColumnType("int4"), ColumnType("int8"))


@pytest.mark.parametrize("spelling", ["int4 primary key", "text default 1", "text not null"])
def test_a_type_carries_no_constraint_into_the_ddl(spelling: str) -> None:
    with pytest.raises(ValueError, match="not a column type"):
        parse_type(spelling)
