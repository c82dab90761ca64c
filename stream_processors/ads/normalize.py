"""The ad platforms' normalizers: Facebook Insights rows and Google Ads GAQL rows into
``AdPerformanceDaily`` records on norm.ads.performance_daily.

``facebook`` and ``google_ads`` are named by their sources' entries in
``headwater.topology.API_SOURCES``; the processor runs each as the stage
``normalize_<source>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from headwater.avro import SCHEMA_HEADER, schema_id
from headwater.avro_binary import FlatRecordWriter
from headwater.errors import RejectedRecord
from headwater.raw import RawEnvelope, read_envelope
from headwater.settings import Settings
from headwater.topology import NORM_ADS
from schemas import avro_schema
from stream_processors.base import Transform
from stream_processors.numeric_columns import NumericColumns
from stream_processors.output import Output
from stream_processors.ratios import cpc, cpm, ctr

_RECORD = "norm/ad_performance_daily"
_SCHEMA = avro_schema(_RECORD)
_WRITE = FlatRecordWriter(_SCHEMA)
_HEADERS = [(SCHEMA_HEADER, schema_id(_SCHEMA))]
_COLUMNS = NumericColumns(_RECORD)
_MICROS = Decimal(1_000_000)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_LONG_MAX = 2**63 - 1


def _decimal(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as error:
        raise RejectedRecord(f"{what} is not a number: {value!r}") from error
    if not number.is_finite():
        raise RejectedRecord(f"{what} is not a finite number: {value!r}")
    return number


def _count(value: Any, what: str) -> int:
    number = _decimal(value if value is not None else 0, what)
    if number != number.to_integral_value() or not 0 <= number <= _LONG_MAX:
        raise RejectedRecord(f"{what} is not a count: {value!r}")
    return int(number)


def _spend(value: Any, what: str) -> Decimal:
    """An amount spent: a number, never negative (the platforms report no refunds)."""
    number = _decimal(value, what)
    if number < 0:
        raise RejectedRecord(f"{what} is negative: {value!r}")
    return number


def _id(value: Any, what: str) -> str:
    """An object's id: the platforms send strings of digits (an int is read as one)."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise RejectedRecord(f"{what} is not an id: {value!r}")
    return str(value)


def _day(value: Any) -> int:
    try:
        return date.fromisoformat(str(value)).toordinal() - _EPOCH_DAY
    except ValueError as error:
        raise RejectedRecord(f"date is not YYYY-MM-DD: {value!r}") from error


def _sum_actions(actions: Any, types: Iterable[str], what: str) -> Decimal:
    """The sum of the listed action types' values (absent when 0, so None counts 0)."""
    if actions is None:
        return Decimal(0)
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise RejectedRecord(f"{what} is not a list of {{action_type, value}}: {actions!r}")
    wanted = set(types)
    total = Decimal(0)
    for action in actions:
        if action.get("action_type") in wanted:
            total += _decimal(action.get("value", 0), f"action {action.get('action_type')}")
    return total


def _currency(value: Any) -> str:
    code = str(value or "")
    if not _CURRENCY.match(code):
        raise RejectedRecord(f"currency is not an ISO 4217 code: {value!r}")
    return code


def _record(fields: dict[str, Any], spend: Decimal, fetched_at_us: int) -> dict[str, Any]:
    impressions, clicks = fields["impressions"], fields["clicks"]
    record = fields | {"spend": str(spend)}
    _COLUMNS.check(record)  # before the ratios, which divide these amounts
    ratios = {
        "ctr": ctr(clicks, impressions),
        "cpc": cpc(spend, clicks),
        "cpm": cpm(spend, impressions),
    }
    _COLUMNS.check(ratios)
    return record | ratios | {"fetched_at": fetched_at_us}


def facebook_row(envelope: RawEnvelope, conversion_types: Iterable[str]) -> dict[str, Any]:
    """One Insights row (level=ad, time_increment=1); every number arrives as a string."""
    row = envelope.payload
    try:
        currency = _currency(row["account_currency"])
        spend = _spend(row.get("spend", "0"), "spend")
        account = row.get("account_id") or envelope.account
        fields = {
            "platform": "facebook",
            "account_id": _id(account, "account_id").removeprefix("act_"),
            "account_name": row.get("account_name"),
            "campaign_id": _id(row["campaign_id"], "campaign_id"),
            "campaign_name": row.get("campaign_name"),
            "ad_group_id": _id(row["adset_id"], "adset_id"),
            "ad_group_name": row.get("adset_name"),
            "ad_id": _id(row["ad_id"], "ad_id"),
            "ad_name": row.get("ad_name"),
            "date": _day(row["date_start"]),
            "currency": currency,
            "impressions": _count(row.get("impressions"), "impressions"),
            "clicks": _count(row.get("clicks"), "clicks"),
            "conversions": str(_sum_actions(row.get("actions"), conversion_types, "actions")),
            "conversion_value": str(
                _sum_actions(row.get("action_values"), conversion_types, "action_values")
            ),
        }
    except KeyError as error:
        raise RejectedRecord(f"Insights row lacks {error.args[0]}") from error
    return _record(fields, spend, envelope.fetched_at_us)


def google_ads_row(envelope: RawEnvelope) -> dict[str, Any]:
    """One GAQL ad_group row: camelCase, int64 as strings, money in micros, zeros omitted."""
    row = envelope.payload
    try:
        customer, campaign, ad_group = row["customer"], row["campaign"], row["adGroup"]
        metrics = row.get("metrics", {})
        spend = _spend(metrics.get("costMicros", "0"), "costMicros") / _MICROS
        fields = {
            "platform": "google_ads",
            "account_id": _id(customer.get("id") or envelope.account, "customer.id"),
            "account_name": customer.get("descriptiveName"),
            "campaign_id": _id(campaign["id"], "campaign.id"),
            "campaign_name": campaign.get("name"),
            "ad_group_id": _id(ad_group["id"], "adGroup.id"),
            "ad_group_name": ad_group.get("name"),
            "ad_id": "",
            "ad_name": None,
            "date": _day(row["segments"]["date"]),
            "currency": _currency(customer["currencyCode"]),
            "impressions": _count(metrics.get("impressions"), "impressions"),
            "clicks": _count(metrics.get("clicks"), "clicks"),
            "conversions": str(_decimal(metrics.get("conversions", 0), "conversions")),
            "conversion_value": str(
                _decimal(metrics.get("conversionsValue", 0), "conversionsValue")
            ),
        }
    except KeyError as error:
        raise RejectedRecord(f"GAQL row lacks {error}") from error
    except (TypeError, AttributeError) as error:  # an object where a value is, or the reverse
        raise RejectedRecord(f"GAQL row is not shaped as the API sends it: {error}") from error
    return _record(fields, spend, envelope.fetched_at_us)


def to_output(record: dict[str, Any]) -> Output:
    """The keyed Avro record for norm.ads.performance_daily."""
    key = [record[k] for k in ("platform", "account_id", "campaign_id", "ad_group_id", "ad_id")]
    key.append(date.fromordinal(_EPOCH_DAY + record["date"]).isoformat())
    return Output(
        NORM_ADS,
        json.dumps(key, separators=(",", ":")).encode(),
        _WRITE(record),
        _HEADERS,
    )


def facebook(settings: Settings) -> Transform:
    """Facebook Insights rows, conversions counted from the configured action types."""
    conversion_types = list(settings.facebook.conversion_action_types)

    def transform(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        return [to_output(facebook_row(read_envelope(value), conversion_types))]

    return transform


def google_ads(_settings: Settings) -> Transform:
    """Google Ads ad-group-day rows."""

    def transform(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        return [to_output(google_ads_row(read_envelope(value)))]

    return transform
