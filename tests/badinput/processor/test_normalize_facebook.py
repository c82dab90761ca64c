"""Facebook Insights rows the normalizer refuses: each is a dead letter on the stage's DLQ
with its reason, and every good row around it reaches the normalized topic, to the cent.

One run of the real batch runner over the whole catalogue (module fixture); one test per
catalogue entry.
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

SOURCE = api_source("facebook_ads")
ACCOUNT = "act_90417"
FIRST_DAY = date(2026, 11, 1)


def payload(n: int) -> dict[str, Any]:
    """Good Insights row ``n``: every number a string, as the Graph API sends them."""
    day = (FIRST_DAY + timedelta(days=n % 28)).isoformat()
    return {
        "account_id": "90417",
        "account_name": "Zoë's Ångström shop 🚀",
        "account_currency": "EUR",
        "campaign_id": f"2385{n % 5:04d}",
        "campaign_name": f"Winter sale {n % 5}",
        "adset_id": f"6{n % 9:05d}",
        "adset_name": "東京 lookalike",
        "ad_id": f"7{n:06d}",
        "ad_name": f"Ad {n}",
        "impressions": str(1000 + 37 * n),
        "clicks": str(3 * n),
        "spend": f"{n * 13}.{n % 100:02d}",
        "reach": str(900 + n),
        "actions": [
            {"action_type": "purchase", "value": str(n % 4)},
            {"action_type": "link_click", "value": str(3 * n)},
        ],
        "action_values": [{"action_type": "purchase", "value": f"{n % 4 * 19}.90"}],
        "date_start": day,
        "date_stop": day,
    }


def envelope(row: Any) -> dict[str, Any]:
    return raw_envelope(SOURCE.name, "insights", ACCOUNT, row)


def row_with(**changes: Any) -> bytes:
    return dumps(envelope(payload(0) | changes))


def row_without(name: str) -> bytes:
    return dumps(envelope({k: v for k, v in payload(0).items() if k != name}))


def bad_rows() -> list[Bad]:
    """Insights rows with what the Graph API must never send, or what must not pass."""
    nan_literal = row_with(spend="@").replace(b'"@"', b"NaN")
    lone_surrogate = row_with(ad_name="@").replace(b'"@"', b'"Ad \\udc80"')
    return [
        Bad("row empty", dumps(envelope({})), "lacks account_currency"),
        Bad("account_currency missing", row_without("account_currency"), "account_currency"),
        Bad("account_currency lower case", row_with(account_currency="eur"), "ISO 4217"),
        Bad("account_currency unknown shape", row_with(account_currency="EURO"), "ISO 4217"),
        Bad("account_currency null", row_with(account_currency=None), "ISO 4217"),
        Bad("campaign_id missing", row_without("campaign_id"), "campaign_id"),
        Bad("adset_id missing", row_without("adset_id"), "adset_id"),
        Bad("ad_id missing", row_without("ad_id"), "ad_id"),
        Bad("date_start missing", row_without("date_start"), "date_start"),
        Bad("campaign_id null", row_with(campaign_id=None), "campaign_id"),
        Bad("campaign_id an object", row_with(campaign_id={"id": "1"}), "campaign_id"),
        Bad("campaign_id empty", row_with(campaign_id=""), "campaign_id"),
        Bad("ad_id a list", row_with(ad_id=["7"]), "ad_id"),
        Bad("adset_id a float", row_with(adset_id=6.5), "adset_id"),
        Bad("account_id an object", row_with(account_id={"id": 1}), "account_id"),
        Bad("spend NaN", row_with(spend="NaN"), "not a finite number"),
        Bad("spend NaN literal", nan_literal, "not a finite number"),
        Bad("spend Infinity", row_with(spend="Infinity"), "not a finite number"),
        Bad("spend -Infinity", row_with(spend="-Infinity"), "not a finite number"),
        Bad("spend 1e309", row_with(spend="1e309"), "spend"),
        Bad("spend overflows numeric(18,6)", row_with(spend="1e20"), "numeric(18,6)"),
        Bad("spend negative", row_with(spend="-5.00"), "spend"),
        Bad("spend not a number", row_with(spend="12,50"), "not a number"),
        Bad("spend empty", row_with(spend=""), "not a number"),
        Bad("spend a boolean", row_with(spend=True), "not a number"),
        Bad("impressions negative", row_with(impressions="-1"), "not a count"),
        Bad("impressions a fraction", row_with(impressions="1.5"), "not a count"),
        Bad("impressions NaN", row_with(impressions="NaN"), "not a finite number"),
        Bad("impressions beyond int64", row_with(impressions="9223372036854775808"), "count"),
        Bad("impressions 1e30", row_with(impressions="1e30"), "count"),
        Bad("impressions an object", row_with(impressions={}), "not a number"),
        Bad("clicks negative", row_with(clicks="-3"), "not a count"),
        Bad("clicks a list", row_with(clicks=[]), "not a number"),
        Bad("date Feb 30", row_with(date_start="2026-02-30"), "YYYY-MM-DD"),
        Bad("date year 0", row_with(date_start="0000-01-01"), "YYYY-MM-DD"),
        Bad("date year 10000", row_with(date_start="10000-01-01"), "YYYY-MM-DD"),
        Bad("date month 13", row_with(date_start="2026-13-01"), "YYYY-MM-DD"),
        Bad("date null", row_with(date_start=None), "YYYY-MM-DD"),
        Bad(
            "actions value NaN",
            row_with(actions=[{"action_type": "purchase", "value": "NaN"}]),
            "not a finite number",
        ),
        Bad(
            "actions value overflows numeric(18,6)",
            row_with(actions=[{"action_type": "purchase", "value": "1e309"}]),
            "numeric(18,6)",
        ),
        Bad(
            "action_values value not a number",
            row_with(action_values=[{"action_type": "purchase", "value": "lots"}]),
            "not a number",
        ),
        Bad("actions an object", row_with(actions={"purchase": "3"}), "actions"),
        Bad("actions a string", row_with(actions="purchase"), "actions"),
        Bad("actions entry a list", row_with(actions=[["purchase", "3"]]), "actions"),
        Bad("ad_name a lone surrogate", lone_surrogate, "surrogates"),
        Bad("ad_name a number", row_with(ad_name=5), "ad_name"),
        Bad(
            "campaign_name of 10 MB",
            row_with(campaign_name="x" * TEN_MB),
            "too large",
            too_large=True,
        ),
    ]


GOOD_ROWS = 60
BAD = broken_envelopes(envelope(payload(0))) + bad_rows()


def good_records() -> list[Record]:
    return [(f"{ACCOUNT}|{n}".encode(), dumps(envelope(payload(n))), []) for n in range(GOOD_ROWS)]


BATCH: Batch = interleave(good_records(), BAD)


@pytest.fixture(scope="module")
def normalizer_run(settings: Settings) -> Iterator[NormalizerRun]:
    yield from run_normalizer(settings, "facebook", normalizer_of(SOURCE), BATCH.records)


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
        key = ["facebook", "90417", row["campaign_id"], row["adset_id"], row["ad_id"]]
        record = records[json.dumps([*key, row["date_start"]], separators=(",", ":")).encode()]
        assert record["date"] == date.fromisoformat(row["date_start"])
        assert Decimal(record["spend"]) == Decimal(row["spend"])
        assert (record["impressions"], record["clicks"]) == (1000 + 37 * n, 3 * n)
        assert Decimal(record["conversions"]) == n % 4
        assert Decimal(record["conversion_value"]) == Decimal(f"{n % 4 * 19}.90")
        assert record["account_name"] == "Zoë's Ångström shop 🚀"
        assert record["currency"] == "EUR"
