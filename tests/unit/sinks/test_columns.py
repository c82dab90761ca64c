"""A table's columns come from its record's schema: one declaration per record."""

from __future__ import annotations

import pytest

from schemas import schema_json
from sinks.ads import AD_PERFORMANCE_DAILY
from sinks.events import APP_EVENTS
from sinks.kpis import CAMPAIGN_KPIS_DAILY
from sinks.upsert import Column, TableSpec, columns_from_fields


@pytest.mark.parametrize("spec", [AD_PERFORMANCE_DAILY, APP_EVENTS, CAMPAIGN_KPIS_DAILY])
def test_a_column_per_field_in_order_with_key_and_version_among_them(spec: TableSpec) -> None:
    fields = [field["name"] for field in schema_json(spec.record)["fields"]]
    assert spec.names == fields
    assert set(spec.key) <= set(fields)
    assert spec.version in fields


def test_types_follow_the_sql_attribute_then_the_avro_type() -> None:
    columns = {c.name: c for c in AD_PERFORMANCE_DAILY.columns}
    assert columns["platform"] == Column("platform", "text", nullable=False)  # an enum
    assert columns["account_name"] == Column("account_name", "text", nullable=True)
    assert columns["date"] == Column("date", "date", nullable=False)  # int, logicalType date
    assert columns["impressions"] == Column("impressions", "bigint", nullable=False)
    assert columns["spend"] == Column("spend", "numeric(18,6)", nullable=False)  # "sql"
    assert columns["ctr"] == Column("ctr", "numeric(12,6)", nullable=True)
    assert columns["fetched_at"] == Column("fetched_at", "timestamptz", nullable=False)


@pytest.mark.parametrize(
    "avro_type",
    [{"type": "array", "items": "string"}, ["null", "string", "long"], "bytes"],
    ids=["array", "wide union", "bytes"],
)
def test_a_field_without_a_sql_type_is_refused_by_name(avro_type: object) -> None:
    with pytest.raises(ValueError, match=r"toy/record\.tags: no SQL type .* \"sql\" attribute"):
        columns_from_fields("toy/record", [{"name": "tags", "type": avro_type}])
