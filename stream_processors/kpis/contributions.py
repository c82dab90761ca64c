"""What one upstream record contributes to one KPI row, and to which row.

Each upstream record has an identity (the ad's natural key, the event id, the order id) and
a version. A KPI row keeps the latest contribution per identity, so a restated ad day, a
redelivered event or an updated order replaces what it contributed before instead of adding
to it; a deleted or cancelled order contributes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from headwater.errors import RejectedRecord
from headwater.settings import KpiSettings

ADS, EVENTS, ORDERS = "ads", "events", "orders"

#: A KPI row's money columns are numeric(18,6): no single share may reach 10^12.
_AMOUNT_LIMIT = Decimal(10) ** 12
_COUNT_LIMIT = 2**63 - 1


def amount(value: Any, what: str) -> Decimal:
    """A share's amount: a finite decimal that a KPI row can hold; RejectedRecord if not."""
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise RejectedRecord(f"{what} is not a number: {value!r}") from error
    if not number.is_finite() or abs(number) >= _AMOUNT_LIMIT:
        raise RejectedRecord(f"{what} is not an amount a KPI row holds: {value!r}")
    return number


def count(value: Any, what: str) -> int:
    """A share's count: a whole number from 0; RejectedRecord if not."""
    try:
        number = int(str(value))
    except ValueError as error:
        raise RejectedRecord(f"{what} is not a count: {value!r}") from error
    if not 0 <= number <= _COUNT_LIMIT:
        raise RejectedRecord(f"{what} is not a count: {value!r}")
    return number


def contributions_topic(app_id: str) -> str:
    """The topic between the two KPI stages, contributions keyed by their KPI row: the
    processor's own (like its changelogs), so two pipelines on one cluster never mix."""
    return f"{app_id}-kpi-contributions"


@dataclass(frozen=True)
class KpiKey:
    """A KPI row: one campaign of one platform on one day."""

    day: str
    platform: str
    campaign_id: str

    def encode(self) -> bytes:
        """The Kafka key (also the table key)."""
        return json.dumps([self.day, self.platform, self.campaign_id]).encode()

    @classmethod
    def decode(cls, raw: bytes) -> KpiKey:
        """The key back from its bytes."""
        day, platform, campaign = json.loads(raw)
        return cls(str(day), str(platform), str(campaign))


@dataclass(frozen=True)
class Contribution:
    """Set (or, with ``values`` None, withdraw) one identity's share of one KPI row."""

    key: KpiKey
    kind: str
    identity: str
    version: int
    values: dict[str, str] | None

    def encode(self) -> bytes:
        """JSON, for the contributions topic."""
        return orjson.dumps(
            [
                self.key.day,
                self.key.platform,
                self.key.campaign_id,
                self.kind,
                self.identity,
                self.version,
                self.values,
            ]
        )

    @classmethod
    def decode(cls, raw: bytes) -> Contribution:
        """A contribution back from its bytes."""
        day, platform, campaign, kind, identity, version, values = orjson.loads(raw)
        return cls(KpiKey(day, platform, campaign), kind, identity, int(version), values)


class Attribution:
    """Turns attribution fields and amounts into KPI keys and reporting-currency values."""

    def __init__(self, settings: KpiSettings) -> None:
        self.settings = settings
        self.rates = {code: Decimal(rate) for code, rate in settings.rates.items()}

    def to_reporting(self, amount: Decimal, currency: str) -> Decimal:
        """An amount in the reporting currency, by the configured rates."""
        rate = self.rates.get(currency)
        if rate is None:
            raise RejectedRecord(
                f"no exchange rate for currency {currency!r} (HEADWATER_KPIS__RATES)"
            )
        return amount * rate

    def campaign(self, campaign_id: str | None) -> tuple[str, str] | None:
        """(platform, platform campaign id) of an attribution id like ``fb-23850001``."""
        if not campaign_id or "-" not in campaign_id:
            return None
        prefix, _, external = campaign_id.partition("-")
        platform = self.settings.campaign_prefixes.get(prefix)
        return (platform, external) if platform and external else None


def _day_of(micros_or_datetime: Any) -> str:
    if isinstance(micros_or_datetime, datetime):
        return micros_or_datetime.astimezone(UTC).date().isoformat()
    return datetime.fromtimestamp(int(micros_or_datetime) / 1e6, UTC).date().isoformat()


def _micros(value: Any) -> int:
    if isinstance(value, datetime):
        delta = value - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return int(value)


def from_ad_row(row: dict[str, Any], attribution: Attribution) -> Contribution:
    """An AdPerformanceDaily row's share: impressions, clicks, spend, conversions."""
    day = row["date"].isoformat() if isinstance(row["date"], date) else str(row["date"])
    key = KpiKey(day, str(row["platform"]), str(row["campaign_id"]))
    identity = "|".join(str(row[k]) for k in ("account_id", "ad_group_id", "ad_id"))
    spend = amount(row["spend"], "spend")
    values = {
        "impressions": str(count(row["impressions"], "impressions")),
        "clicks": str(count(row["clicks"], "clicks")),
        "spend": str(attribution.to_reporting(spend, row["currency"])),
        "spend_account": str(spend),
        "account_currency": str(row["currency"]),
        "conversions": str(amount(row["conversions"], "conversions")),
    }
    return Contribution(key, ADS, identity, _micros(row["fetched_at"]), values)


def from_event(event: dict[str, Any], attribution: Attribution) -> Contribution | None:
    """An AppEvent's share (an install, sign-up or purchase), or None when not attributed."""
    settings = attribution.settings
    counted = {
        settings.install_event: "installs",
        settings.signup_event: "signups",
        settings.purchase_event: "purchases",
    }
    measure = counted.get(str(event["event_name"]))
    campaign = attribution.campaign(event.get("campaign_id"))
    if measure is None or campaign is None:
        return None
    key = KpiKey(_day_of(event["occurred_at"]), *campaign)
    return Contribution(key, EVENTS, str(event["event_id"]), 0, {measure: "1"})


def order_key(row: dict[str, Any], attribution: Attribution) -> KpiKey | None:
    """The KPI row an order counts in: its campaign on the day it was created."""
    campaign = attribution.campaign(row.get("campaign_id"))
    if campaign is None or row.get("created_at") is None:
        return None
    return KpiKey(_day_of(row["created_at"]), *campaign)


def order_values(row: dict[str, Any], attribution: Attribution) -> dict[str, str] | None:
    """An order's share: one order and its amount, or nothing once cancelled or refunded."""
    if str(row.get("status")) in attribution.settings.uncounted_statuses:
        return None
    paid = amount(row["amount"], "amount")
    return {"orders": "1", "revenue": str(attribution.to_reporting(paid, str(row["currency"])))}
