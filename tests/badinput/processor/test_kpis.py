"""Records the KPI stages refuse: normalized ad rows, app events and orders they cannot read or
count, and contributions the fold cannot add. Each is a dead letter with its reason; the good
records around them all count, and the KPI row they make is right to the cent.

All four KPI stages run in one batch runner, as in the processor: ads, events and orders
become contributions on the run's contributions topic, which the fold turns into KPI rows.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer

from headwater.avro import SCHEMA_HEADER, encode, schema_id
from headwater.settings import Settings
from schemas import avro_schema, schema_json
from stream_processors.ads.normalize import to_output as ad_output
from stream_processors.events.normalize import to_output as event_output
from stream_processors.kpis.contributions import ADS, ORDERS, KpiKey, contributions_topic
from stream_processors.kpis.fold import KpiFold
from stream_processors.kpis.stages import orders_topic, stages
from tests.support.bad_avro import UNDECODABLE
from tests.support.bad_inputs import TEN_MB, Bad, Batch, assert_dead_letter, interleave
from tests.support.kafka_io import Record
from tests.support.norm_records import (
    AFTER_YEAR_9999_US,
    BEFORE_YEAR_1_US,
    DAY,
    ad_record,
    install,
    order_change,
)
from tests.support.stage_run import Outcome, read_record, retarget, stage_run

CAMPAIGN = "23850001"
ROW = KpiKey(DAY, "facebook", CAMPAIGN)
AD_SCHEMA = avro_schema("norm/ad_performance_daily")
EVENT_SCHEMA = avro_schema("norm/app_event")
ORDER_SCHEMA = avro_schema("norm/cdc_row")
GOOD = 50
Headers = tuple[tuple[str, bytes], ...]
#: the header the processor's writers give each record: the schema it was written with
AD_HEADERS: Headers = ((SCHEMA_HEADER, schema_id(AD_SCHEMA)),)
EVENT_HEADERS: Headers = ((SCHEMA_HEADER, schema_id(EVENT_SCHEMA)),)
ORDER_HEADERS: Headers = ((SCHEMA_HEADER, schema_id(ORDER_SCHEMA)),)


def avro(schema: Any, record: dict[str, Any]) -> bytes:
    return encode(schema, record)


def foreign(record: dict[str, Any], fields: list[dict[str, Any]], name: str = "Mystery") -> bytes:
    """A record of a schema Headwater does not know."""
    schema = parse_schema(
        {"type": "record", "name": name, "namespace": "elsewhere", "fields": fields}
    )
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


def with_platforms(*symbols: str) -> Any:
    """AdPerformanceDaily with another list of platforms (an enum grown by another writer)."""
    document = json.loads(json.dumps(schema_json("norm/ad_performance_daily")))
    document["fields"][0]["type"]["symbols"] = list(symbols)
    return parse_schema(document)


@dataclass(frozen=True)
class Inputs:
    """The records of each input topic, good and bad interleaved."""

    ads: Batch
    events: Batch
    orders: Batch
    contributions: Batch


def contribution(values: Any, kind: str = ADS) -> bytes:
    """A contribution to the run's KPI row, as stage 1 writes them."""
    return json.dumps([DAY, "facebook", CAMPAIGN, kind, f"{kind}|bad", 1, values]).encode()


def ads_values(**changes: str) -> dict[str, str]:
    base = {"impressions": "5", "clicks": "1", "spend": "1.00", "spend_account": "1.00",
            "account_currency": "EUR", "conversions": "0"}  # fmt: skip
    return base | changes


def on(
    headers: Headers, case: str, value: bytes, reason: str | tuple[str, ...], key: bytes = b"bad"
) -> Bad:
    """A bad record on a topic whose records carry these headers."""
    return Bad(case, value, reason, key, headers=headers)


def bad_ads() -> list[Bad]:
    good = avro(AD_SCHEMA, ad_record(1))
    tiktok = avro(
        with_platforms("facebook", "google_ads", "tiktok"), ad_record(1, platform="tiktok")
    )
    mystery = foreign(
        {"x": 5, "y": "?"}, [{"name": "x", "type": "long"}, {"name": "y", "type": "string"}]
    )

    def ad(case: str, value: bytes, reason: str) -> Bad:
        return on(AD_HEADERS, f"ad: {case}", value, reason)

    def row(**changes: Any) -> bytes:
        return avro(AD_SCHEMA, ad_record(1, **changes))

    not_one = "AdPerformanceDaily"  # the reason names the record it is not
    return [
        ad("empty value", b"", not_one),
        ad("truncated Avro", good[: len(good) // 2], not_one),
        ad("random bytes", bytes(range(256)) * 3, not_one),
        on(
            ((SCHEMA_HEADER, b"elsewhere.Mystery"),),
            "ad: a record of an unknown schema",
            mystery,
            UNDECODABLE,
        ),
        ad("an AppEvent", avro(EVENT_SCHEMA, install(1)), not_one),
        ad("unknown platform enum", tiktok, not_one),
        ad("spend NaN", row(spend="NaN"), "spend"),
        ad("spend Infinity", row(spend="Infinity"), "spend"),
        ad("spend 1e30", row(spend="1e30"), "spend"),
        ad("spend not a number", row(spend="abc"), "spend"),
        ad("conversions NaN", row(conversions="NaN"), "conversions"),
        ad("impressions negative", row(impressions=-5), "impressions"),
        ad("clicks negative", row(clicks=-1), "clicks"),
        ad("currency without a rate", row(currency="XXX"), "rate"),
        ad("currency empty", row(currency=""), "rate"),
        ad("date year 10000", row(date=3_000_000), not_one),
        ad("fetched_at before year 1", row(fetched_at=BEFORE_YEAR_1_US), not_one),
    ]


def bad_events() -> list[Bad]:
    good = avro(EVENT_SCHEMA, install(1))
    name = avro(EVENT_SCHEMA, install(1, event_name="App Installeé"))

    def bad(case: str, value: bytes, reason: str = "AppEvent") -> Bad:
        return on(EVENT_HEADERS, f"event: {case}", value, reason)

    return [
        bad("empty value", b""),
        bad("truncated Avro", good[:-3]),
        bad("an AdPerformanceDaily", avro(AD_SCHEMA, ad_record(1))),
        bad("invalid UTF-8", name.replace("é".encode(), b"\xff\xfe")),
        bad(
            "occurred_at before year 1",
            avro(EVENT_SCHEMA, install(1, occurred_at=BEFORE_YEAR_1_US)),
        ),
        bad(
            "occurred_at after year 9999",
            avro(EVENT_SCHEMA, install(1, occurred_at=AFTER_YEAR_9999_US)),
        ),
    ]


def bad_orders() -> list[Bad]:
    good = avro(ORDER_SCHEMA, order_change(1))

    def bad(case: str, value: bytes, reason: str) -> Bad:
        return on(ORDER_HEADERS, f"order: {case}", value, reason, key=b'{"id":1}')

    def change(**changes: Any) -> bytes:
        return avro(ORDER_SCHEMA, order_change(1, **changes))

    return [
        bad("empty value", b"", "CdcRow"),
        bad("truncated Avro", good[: len(good) - 5], "CdcRow"),
        bad("an AppEvent", avro(EVENT_SCHEMA, install(1)), "CdcRow"),
        bad("amount NaN", change(amount="NaN"), "amount"),
        bad("amount 1e30", change(amount="1e30"), "amount"),
        bad("amount not a number", change(amount="1,5"), "amount"),
        bad("amount null", change(amount=None), "amount"),
        bad("currency without a rate", change(currency="XXX"), "rate"),
        bad("created_at before year 1", change(created_at=BEFORE_YEAR_1_US), "CdcRow"),
    ]


def bad_contributions() -> list[Bad]:
    def bad(case: str, value: bytes, reason: str) -> Bad:
        return Bad(f"contribution: {case}", value, reason, ROW.encode())

    six = json.dumps([DAY, "facebook", CAMPAIGN, ADS, "x|9|bad", 1]).encode()
    no_currency = {k: v for k, v in ads_values().items() if k != "account_currency"}
    return [
        bad("not JSON", b"[2026-11-20", "JSONDecodeError"),
        bad("an object", b'{"day": "2026-11-20"}', "ValueError"),
        bad("six fields", six, "ValueError"),
        bad("unknown kind", contribution({"impressions": "1"}, "tiktok"), "tiktok"),
        bad("impressions NaN", contribution(ads_values(impressions="NaN")), "impressions"),
        bad("spend NaN", contribution(ads_values(spend="NaN")), "spend"),
        bad("spend Infinity", contribution(ads_values(spend="Infinity")), "spend"),
        bad("spend 1e30", contribution(ads_values(spend="1e30")), "spend"),
        bad("clicks negative", contribution(ads_values(clicks="-4")), "clicks"),
        bad("orders negative", contribution({"orders": "-1", "revenue": "1"}, ORDERS), "orders"),
        bad("revenue 1e309", contribution({"orders": "1", "revenue": "1e309"}, ORDERS), "revenue"),
        bad("no account currency", contribution(no_currency), "account_currency"),
        bad("values a list", contribution(["1"]), "TypeError"),
    ]


BAD_ADS, BAD_EVENTS, BAD_ORDERS, BAD_CONTRIBUTIONS = (
    bad_ads(),
    bad_events(),
    bad_orders(),
    bad_contributions(),
)
BAD = BAD_ADS + BAD_EVENTS + BAD_ORDERS + BAD_CONTRIBUTIONS


def good_ads() -> list[Record]:
    # The last is 10 MB, read like any other: its name does not reach the KPIs.
    rows = [ad_record(n) for n in range(GOOD - 1)] + [ad_record(GOOD - 1, ad_name="n" * TEN_MB)]
    outputs = [ad_output(row) for row in rows]
    return [(output.key, output.value, output.headers) for output in outputs]


def good_events() -> list[Record]:
    outputs = [event_output(install(n)) for n in range(GOOD)]
    return [(output.key, output.value, output.headers) for output in outputs]


def good_orders() -> list[Record]:
    return [
        (f'{{"id":{n}}}'.encode(), avro(ORDER_SCHEMA, order_change(n)), ORDER_HEADERS)
        for n in range(GOOD)
    ]


INPUTS = Inputs(
    ads=interleave(good_ads(), BAD_ADS),
    events=interleave(good_events(), BAD_EVENTS),
    orders=interleave(good_orders(), BAD_ORDERS),
    contributions=interleave([], BAD_CONTRIBUTIONS),
)


@dataclass
class KpiRun:
    topics: dict[str, str]
    outcome: Outcome


@pytest.fixture(scope="module")
def kpi_run(settings: Settings) -> Iterator[KpiRun]:
    with stage_run(settings, "kpis") as run:
        kpis = run.settings.kpis.model_copy(
            update={"orders_table": f"badinput_{uuid.uuid4().hex[:8]}.orders"}
        )
        own = run.settings.model_copy(update={"kpis": kpis})
        ads, events, out = run.topic("ads"), run.topic("events"), run.topic("kpis")
        orders, contributions = orders_topic(own), contributions_topic(run.group)
        run.ensure([orders, contributions])
        ad_stage, event_stage, order_stage, _ = stages(own)
        fold = KpiFold(own, output=out)
        runner_stages = [
            retarget(ad_stage, run.label, [ads]),
            retarget(event_stage, run.label, [events]),
            retarget(order_stage, run.label),
            retarget(fold, run.label),
        ]
        inputs = {
            ads: INPUTS.ads.records,
            events: INPUTS.events.records,
            orders: INPUTS.orders.records,
            contributions: INPUTS.contributions.records,
        }
        topics = {"ads": ads, "events": events, "orders": orders, "contributions": contributions}
        yield KpiRun(topics, run.run(runner_stages, inputs, [out], internal=[contributions]))


CASES = [
    *[("ads", INPUTS.ads, case) for case in BAD_ADS],
    *[("events", INPUTS.events, case) for case in BAD_EVENTS],
    *[("orders", INPUTS.orders, case) for case in BAD_ORDERS],
    *[("contributions", INPUTS.contributions, case) for case in BAD_CONTRIBUTIONS],
]


def test_the_catalogue_holds_at_least_40_bad_inputs() -> None:
    assert len(BAD) >= 40


@pytest.mark.parametrize(("topic", "batch", "case"), CASES, ids=[c.id for _, _, c in CASES])
def test_a_bad_input_is_a_dead_letter_with_its_reason(
    kpi_run: KpiRun, topic: str, batch: Batch, case: Bad
) -> None:
    assert_dead_letter(kpi_run.outcome.dead.get((kpi_run.topics[topic], batch.bad[case.id])), case)


def test_every_good_record_counts_in_the_kpi_row_to_the_cent(kpi_run: KpiRun) -> None:
    outcome = kpi_run.outcome
    assert len(outcome.dead) == len(BAD), sorted(d.reason for d in outcome.dead.values())
    latest: dict[bytes, dict[str, Any]] = {}
    for message in next(iter(outcome.outputs.values())):
        latest[message.key() or b""] = read_record("metrics/campaign_kpis_daily", message)
    assert list(latest) == [ROW.encode()]
    row = latest[ROW.encode()]
    usd, gbp = Decimal("0.92"), Decimal("1.17")  # the default rates (HEADWATER_KPIS__RATES)
    spend = sum(Decimal(f"{n}.{n % 100:02d}") for n in range(GOOD))
    revenue = sum(Decimal(f"{n}.50") for n in range(GOOD))
    assert row["impressions"] == sum(1000 + n for n in range(GOOD))
    assert row["clicks"] == sum(range(GOOD))
    assert Decimal(row["spend"]) == (spend * usd).quantize(Decimal("0.000001"))
    assert Decimal(row["spend_account_currency"]) == spend
    assert Decimal(row["conversions"]) == sum(n % 3 for n in range(GOOD))
    assert (row["installs"], row["orders"]) == (GOOD, GOOD)
    assert Decimal(row["revenue"]) == (revenue * gbp).quantize(Decimal("0.000001"))
