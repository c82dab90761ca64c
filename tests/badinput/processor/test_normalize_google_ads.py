"""Google Ads GAQL rows the normalizer refuses: each is a dead letter with its reason, and
every good row around it reaches the normalized topic, its micros converted to the cent.

One run of the real batch runner over the whole catalogue; one test per entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Message

from headwater.settings import Settings
from headwater.topology import api_source
from tests.support.bad_inputs import (
    TEN_MB,
    Bad,
    Batch,
    broken_envelopes,
    catalogue_tests,
    dumps,
    interleave,
    normalizer_of,
    raw_envelope,
)
from tests.support.kafka_io import Record
from tests.support.stage_run import NormalizerRun, read_record, run_normalizer

SOURCE = api_source("google_ads")
CUSTOMER = "5550001234"
FIRST_DAY = date(2026, 11, 1)
GOOD_ROWS = 60


def payload(n: int) -> dict[str, Any]:
    """Good GAQL row ``n``: camelCase, int64 as strings, doubles as numbers, money in micros."""
    return {
        "customer": {
            "resourceName": f"customers/{CUSTOMER}",
            "id": CUSTOMER,
            "descriptiveName": "Zoë's shop",
            "currencyCode": "GBP",
        },
        "campaign": {
            "resourceName": f"customers/{CUSTOMER}/campaigns/{n % 4}",
            "id": str(7000 + n % 4),
            "name": f"Search {n % 4}",
        },
        "adGroup": {
            "resourceName": f"customers/{CUSTOMER}/adGroups/{n}",
            "id": str(81000 + n),
            "name": "東京 ad group",
        },
        "metrics": {
            "impressions": str(500 + 11 * n),
            "clicks": str(2 * n),
            "costMicros": str(1_234_560_000 * n + 10_000),  # to the cent: n * 1234.56 + 0.01
            "conversions": float(n % 3),
            "conversionsValue": n % 3 * 12.5,
        },
        "segments": {"date": (FIRST_DAY + timedelta(days=n % 28)).isoformat()},
    }


def envelope(row: Any) -> dict[str, Any]:
    return raw_envelope(SOURCE.name, "ad_group_daily", CUSTOMER, row)


def row_with(**parts: Any) -> bytes:
    """Row 0 with parts replaced; ``part`` = value, or ``part__field`` = value inside it."""
    row = payload(0)
    for name, value in parts.items():
        part, _, field = name.partition("__")
        if field:
            row[part] = {**row[part], field: value}
        else:
            row[part] = value
    return dumps(envelope(row))


def row_without(part: str, field: str | None = None) -> bytes:
    row = payload(0)
    if field is None:
        del row[part]
    else:
        row[part] = {k: v for k, v in row[part].items() if k != field}
    return dumps(envelope(row))


def bad_rows() -> list[Bad]:
    """GAQL rows the API must never send, or that must not pass."""
    infinite = row_with(metrics__costMicros="@").replace(b'"@"', b"1e309")
    nan = row_with(metrics__conversions="@").replace(b'"@"', b"NaN")
    surrogate = row_with(campaign__name="@").replace(b'"@"', b'"Search \\ud800"')
    return [
        Bad("row empty", dumps(envelope({})), "lacks 'customer'"),
        Bad("customer missing", row_without("customer"), "customer"),
        Bad("campaign missing", row_without("campaign"), "campaign"),
        Bad("adGroup missing", row_without("adGroup"), "adGroup"),
        Bad("segments missing", row_without("segments"), "segments"),
        Bad("segments.date missing", row_without("segments", "date"), "date"),
        Bad("currencyCode missing", row_without("customer", "currencyCode"), "currencyCode"),
        Bad("customer a string", row_with(customer="5550001234"), "not shaped"),
        Bad("campaign a list", row_with(campaign=[{"id": "1"}]), "not shaped"),
        Bad("metrics a list", row_with(metrics=[]), "not shaped"),
        Bad("metrics null", row_with(metrics=None), "not shaped"),
        Bad("segments a number", row_with(segments=20261101), "not shaped"),
        Bad("campaign.id null", row_with(campaign__id=None), "campaign.id"),
        Bad("campaign.id an object", row_with(campaign__id={"value": "1"}), "campaign.id"),
        Bad("adGroup.id empty", row_with(adGroup__id=""), "adGroup.id"),
        Bad("customer.id a list", row_with(customer__id=[1]), "customer.id"),
        Bad("currencyCode lower case", row_with(customer__currencyCode="gbp"), "ISO 4217"),
        Bad("currencyCode empty", row_with(customer__currencyCode=""), "ISO 4217"),
        Bad("currencyCode a number", row_with(customer__currencyCode=826), "ISO 4217"),
        Bad("costMicros NaN", row_with(metrics__costMicros="NaN"), "not a finite number"),
        Bad("costMicros 1e309 literal", infinite, "not a finite number"),
        Bad("costMicros negative", row_with(metrics__costMicros="-1000000"), "negative"),
        Bad("costMicros overflows numeric(18,6)", row_with(metrics__costMicros="1e30"), "spend"),
        Bad("costMicros not a number", row_with(metrics__costMicros="12 EUR"), "not a number"),
        Bad("costMicros a boolean", row_with(metrics__costMicros=False), "not a number"),
        Bad("impressions negative", row_with(metrics__impressions="-5"), "not a count"),
        Bad("impressions a fraction", row_with(metrics__impressions="10.5"), "not a count"),
        Bad("impressions beyond int64", row_with(metrics__impressions="1" + "0" * 20), "count"),
        Bad("clicks Infinity", row_with(metrics__clicks="Infinity"), "not a finite number"),
        Bad("clicks an object", row_with(metrics__clicks={"value": 1}), "not a number"),
        Bad("conversions NaN literal", nan, "not a finite number"),
        Bad("conversions Infinity", row_with(metrics__conversions="Infinity"), "finite"),
        Bad("conversions overflow numeric(18,6)", row_with(metrics__conversions=1e20), "(18,6)"),
        Bad("conversionsValue -Infinity", row_with(metrics__conversionsValue="-Infinity"), "fin"),
        Bad("conversionsValue not a number", row_with(metrics__conversionsValue="x"), "number"),
        Bad(
            "cpm overflows numeric(18,4)",
            row_with(
                metrics__costMicros="999999999999000000",
                metrics__impressions="1",
                metrics__clicks="0",
            ),
            "numeric(18,4)",
        ),
        Bad(
            "ctr overflows numeric(12,6)",
            row_with(metrics__impressions="1", metrics__clicks="10000000"),
            "numeric(12,6)",
        ),
        Bad("date Feb 30", row_with(segments__date="2026-02-30"), "YYYY-MM-DD"),
        Bad("date year 0", row_with(segments__date="0000-12-31"), "YYYY-MM-DD"),
        Bad("date year 10000", row_with(segments__date="10000-01-01"), "YYYY-MM-DD"),
        Bad("date null", row_with(segments__date=None), "YYYY-MM-DD"),
        Bad("campaign.name a number", row_with(campaign__name=5), "campaign_name"),
        Bad("campaign.name a lone surrogate", surrogate, "surrogates"),
        Bad(
            "adGroup.name of 10 MB",
            row_with(adGroup__name="g" * TEN_MB),
            "too large",
            too_large=True,
        ),
    ]


BAD = broken_envelopes(envelope(payload(0))) + bad_rows()


def good_records() -> list[Record]:
    records: list[Record] = [
        (f"{CUSTOMER}|{n}".encode(), dumps(envelope(payload(n))), []) for n in range(GOOD_ROWS)
    ]
    # Duplicate names in an object: every JSON parser the processor uses keeps the last.
    key, value, _ = records[5]
    records[5] = (key, value.replace(b'"metrics": {', b'"metrics": {"clicks": "999", ', 1), [])
    return records


BATCH: Batch = interleave(good_records(), BAD)


@pytest.fixture(scope="module")
def normalizer_run(settings: Settings) -> Iterator[NormalizerRun]:
    yield from run_normalizer(settings, "google", normalizer_of(SOURCE), BATCH.records)


(
    test_the_catalogue_holds_at_least_40_bad_inputs,
    test_a_bad_input_is_a_dead_letter_with_its_reason,
    test_no_good_record_is_a_dead_letter,
) = catalogue_tests(BAD, BATCH)


def test_every_good_row_lands_with_its_values(landed: list[Message]) -> None:
    records = {m.key(): read_record("norm/ad_performance_daily", m) for m in landed}
    assert len(landed) == GOOD_ROWS
    for n in range(GOOD_ROWS):
        row = payload(n)
        day = row["segments"]["date"]
        key = ["google_ads", CUSTOMER, row["campaign"]["id"], row["adGroup"]["id"], "", day]
        record = records[json.dumps(key, separators=(",", ":")).encode()]
        assert Decimal(record["spend"]) == Decimal("1234.56") * n + Decimal("0.01")
        assert (record["impressions"], record["clicks"]) == (500 + 11 * n, 2 * n)
        assert Decimal(record["conversions"]) == n % 3
        assert Decimal(record["conversion_value"]) == Decimal("12.5") * (n % 3)
        assert (record["currency"], record["ad_id"]) == ("GBP", "")
        assert record["date"] == date.fromisoformat(day)
