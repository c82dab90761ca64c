"""Normalized records as the processor writes them, for tests of the sinks and KPI stages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from headwater.raw import read_envelope
from stream_processors.ads.normalize import facebook_row
from stream_processors.ads.normalize import to_output as ad_output
from stream_processors.events.normalize import to_output as event_output


def ad_value(n: int, spend: str) -> bytes:
    """A normalized Facebook ad row (Avro) of ad ``n`` with this spend."""
    return ad_output(ad_row(n, spend)).value


def ad_row(n: int, spend: str, name: str | None = None) -> dict[str, Any]:
    """The normalizer's Facebook ad row of ad ``n`` (named ``name``) with this spend."""
    payload = {
        "account_id": "1",
        "account_currency": "EUR",
        "campaign_id": "23850001",
        "adset_id": "5",
        "ad_id": str(n),
        "impressions": "1000",
        "clicks": "10",
        "spend": spend,
        "date_start": "2026-11-20",
    }
    envelope = {
        "source": "facebook_ads",
        "stream": "insights",
        "account": "act_1",
        "fetched_at": "2026-11-21T00:00:00+00:00",
        "payload": payload,
    }
    if name is not None:
        payload["ad_name"] = name
    return facebook_row(read_envelope(json.dumps(envelope).encode()), ["purchase"])


def app_event_value(n: int, name: str, fetched_at: int = 1_764_000_000_000_000) -> bytes:
    """A normalized app event (Avro) ``e<n>`` called ``name``, as the processor writes it."""
    return event_output(app_event(n, name, fetched_at)).value


def app_event(
    n: int, name: str, fetched_at: int = 1_764_000_000_000_000, **fields: Any
) -> dict[str, Any]:
    """An app event ``e<n>`` called ``name`` as the normalizer makes it; ``fields`` set the
    optional ones (all None otherwise)."""
    return {
        "event_id": f"e{n}",
        "account_id": "acc",
        "event_name": name,
        "occurred_at": 1_764_000_000_000_000 + n,
        "user_key": None,
        "platform": None,
        "utm_source": None,
        "utm_campaign": None,
        "campaign_id": None,
        "amount": None,
        "currency": None,
        "fetched_at": fetched_at,
    } | fields


#: The day the records below fall on, and times on it (microseconds since the epoch).
DAY = "2026-11-20"
NOON_US = int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp()) * 1_000_000
FETCHED_US = NOON_US + 3_600_000_000
#: One microsecond before 0001-01-01T00:00Z: what no reader can turn into a datetime.
BEFORE_YEAR_1_US = int(datetime(1, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000 - 1
#: After 9999-12-31 (a long all the same).
AFTER_YEAR_9999_US = 2**62


def ad_record(n: int, **changes: Any) -> dict[str, Any]:
    """An ``AdPerformanceDaily`` of ad ``n`` of campaign 23850001 on :data:`DAY`, in USD, with
    whatever ``changes`` say (also what the normalizer would refuse)."""
    return {
        "platform": "facebook",
        "account_id": "1",
        "account_name": None,
        "campaign_id": "23850001",
        "campaign_name": None,
        "ad_group_id": "5",
        "ad_group_name": None,
        "ad_id": str(n),
        "ad_name": None,
        "date": (date.fromisoformat(DAY) - date(1970, 1, 1)).days,
        "currency": "USD",
        "impressions": 1000 + n,
        "clicks": n,
        "spend": f"{n}.{n % 100:02d}",
        "conversions": str(n % 3),
        "conversion_value": "0",
        "ctr": None,
        "cpc": None,
        "cpm": None,
        "fetched_at": FETCHED_US,
    } | changes


def install(n: int, **changes: Any) -> dict[str, Any]:
    """An ``AppEvent``: an install at noon of :data:`DAY` attributed to campaign 23850001 of
    Facebook, with whatever ``changes`` say."""
    return {
        "event_id": f"install-{n}",
        "account_id": "acc",
        "event_name": "App Installed",
        "occurred_at": NOON_US + n,
        "user_key": None,
        "platform": None,
        "utm_source": None,
        "utm_campaign": None,
        "campaign_id": "fb-23850001",
        "amount": None,
        "currency": None,
        "fetched_at": FETCHED_US,
    } | changes


def order_change(n: int, schema: str = "shop", lsn: int = 10_000, **changes: Any) -> dict[str, Any]:
    """A ``CdcRow``: the insert of paid order ``n`` of campaign 23850001 of Facebook, in GBP."""
    values = {
        "id": n,
        "campaign_id": "fb-23850001",
        "created_at": NOON_US + n,
        "status": "paid",
        "amount": f"{n}.50",
        "currency": "GBP",
    } | changes
    types = {"id": "int8", "created_at": "timestamptz", "amount": "numeric(12,2)"}
    return {
        "source_schema": schema,
        "source_table": "orders",
        "op": "INSERT",
        "lsn": lsn + n,
        "commit_time": NOON_US,
        "txid": None,
        "primary_key": ["id"],
        "columns": [
            {"name": name, "sql_type": types.get(name, "text"), "nullable": name != "id",
             "unchanged": False, "value": value}
            for name, value in values.items()
        ],
    }  # fmt: skip
