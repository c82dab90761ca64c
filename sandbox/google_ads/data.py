"""Deterministic Google Ads performance: the catalog's google campaigns, two ad groups each.

Every number is a function of (seed, customer, ad group, day); inside the restatement window
(the last 30 days before ``today()``) conversions, their value and, slightly, cost also depend
on the restatement epoch, as attribution windows and invalid-click credits do on the real API.
Rows are in the REST shape: camelCase, int64 as strings, doubles as numbers, zeros omitted.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sandbox.campaigns import Campaign, campaigns_of

RESTATEMENT_DAYS = 30
HISTORY_DAYS = 400  # accounts opened this many days before today(): no rows before that

# currency, time zone, cost per click (units), average order value (units)
_CURRENCIES: tuple[tuple[str, str, tuple[float, float], tuple[float, float]], ...] = (
    ("EUR", "Europe/Berlin", (0.15, 2.4), (35.0, 140.0)),
    ("USD", "America/New_York", (0.2, 2.8), (40.0, 160.0)),
    ("JPY", "Asia/Tokyo", (25.0, 380.0), (4_000.0, 18_000.0)),
    ("GBP", "Europe/London", (0.15, 2.2), (30.0, 120.0)),
)

# per campaign (catalog order): impressions range, CTR range, conversion-rate range
_PROFILES: tuple[tuple[tuple[int, int], tuple[float, float], tuple[float, float]], ...] = (
    ((600, 4_000), (0.08, 0.22), (0.05, 0.16)),  # search_brand_exact
    ((2_000, 12_000), (0.02, 0.07), (0.02, 0.07)),  # search_generic_shoes
    ((3_000, 16_000), (0.006, 0.02), (0.02, 0.06)),  # shopping_all_products
    ((4_000, 30_000), (0.003, 0.012), (0.01, 0.05)),  # pmax_winter_clearance
    ((20, 9_000), (0.0, 0.004), (0.0, 0.05)),  # display_remarketing: some days, no clicks
)


@dataclass(frozen=True)
class AdGroup:
    """An ad group of one of the catalog's google campaigns."""

    campaign: Campaign
    ad_group_id: str
    name: str
    profile: int


def ad_groups(per_campaign: int = 2) -> tuple[AdGroup, ...]:
    """The ad groups of the catalog's google campaigns (the first two: core, prospecting)."""
    labels = ["core", "prospecting", *[f"group {n}" for n in range(3, per_campaign + 1)]]
    return tuple(
        AdGroup(campaign, f"{campaign.external_id}{n:02d}", f"{campaign.utm_campaign} / {label}", i)
        for i, campaign in enumerate(campaigns_of("google"))
        for n, label in enumerate(labels[:per_campaign], start=1)
    )


AD_GROUPS: tuple[AdGroup, ...] = ad_groups()


@dataclass(frozen=True)
class Customer:
    """A Google Ads client account as the sandbox invents it from its id."""

    customer_id: str
    descriptive_name: str
    currency_code: str
    time_zone: str
    cpc: tuple[float, float]
    order_value: tuple[float, float]


@dataclass(frozen=True)
class Metrics:
    """One ad group's numbers for a day (or summed over days)."""

    impressions: int
    clicks: int
    cost_micros: int
    conversions: float
    conversions_value: float

    def __add__(self, other: Metrics) -> Metrics:
        return Metrics(
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.cost_micros + other.cost_micros,
            self.conversions + other.conversions,
            round(self.conversions_value + other.conversions_value, 2),
        )

    def as_json(self) -> dict[str, Any]:
        """The REST ``metrics`` object: int64 as strings, doubles as numbers, zeros omitted."""
        values: dict[str, Any] = {
            "clicks": str(self.clicks) if self.clicks else None,
            "conversions": self.conversions or None,
            "conversionsValue": self.conversions_value or None,
            "costMicros": str(self.cost_micros) if self.cost_micros else None,
            "impressions": str(self.impressions) if self.impressions else None,
        }
        return {key: value for key, value in values.items() if value is not None}


def customer(seed: int, customer_id: str) -> Customer:
    """The account behind any 10-digit id: a name, a currency and its time zone."""
    rng = random.Random(f"gads|{seed}|{customer_id}|customer")  # noqa: S311 - seeded data
    currency, zone, cpc, order_value = rng.choice(_CURRENCIES)
    return Customer(
        customer_id,
        f"Headwater Shop {currency} {customer_id[-4:]}",
        currency,
        zone,
        cpc,
        order_value,
    )


class AdsData:
    """The sandbox's ground truth, restated on demand."""

    def __init__(
        self, seed: int, today: Callable[[], date], ad_groups_per_campaign: int = 2
    ) -> None:
        self.seed = seed
        self.today = today
        self.ad_groups = ad_groups(ad_groups_per_campaign)
        self._epoch = 0
        self._lock = threading.Lock()

    @property
    def epoch(self) -> int:
        """How many restatements happened since the sandbox started."""
        return self._epoch

    def restate(self) -> int:
        """Change the recent days' conversions, conversion value and cost; the new epoch."""
        with self._lock:
            self._epoch += 1
            return self._epoch

    def metrics(self, account: Customer, ad_group: AdGroup, day: date) -> Metrics | None:
        """The ad group's day, or None for days the account did not exist or not yet."""
        today = self.today()
        if day > today or day < today - timedelta(HISTORY_DAYS):
            return None
        impressions_range, ctr, conversion_rate = _PROFILES[ad_group.profile]
        key = f"gads|{self.seed}|{account.customer_id}|{ad_group.ad_group_id}|{day}"
        rng = random.Random(key)  # noqa: S311 - seeded data, not cryptography
        impressions = rng.randint(*impressions_range)
        clicks = round(impressions * rng.uniform(*ctr))
        cost_micros = round(clicks * rng.uniform(*account.cpc) * 1_000_000)
        conversions = round(clicks * rng.uniform(*conversion_rate) * 2) / 2
        order_value = rng.uniform(*account.order_value)
        if (today - day).days < RESTATEMENT_DAYS:
            late = random.Random(f"{key}|epoch {self._epoch}")  # noqa: S311 - seeded data
            conversions = round(conversions * late.uniform(0.8, 1.25) * 2) / 2
            order_value *= late.uniform(0.95, 1.05)
            cost_micros = round(cost_micros * late.uniform(0.97, 1.0))  # invalid-click credits
        value = round(conversions * order_value, 2)
        return Metrics(impressions, clicks, cost_micros, conversions, value)

    def rows(
        self, customer_id: str, since: date, until: date, by_date: bool
    ) -> list[dict[str, Any]]:
        """Full rows (every field the sandbox knows) per ad group and day, or per ad group."""
        account = customer(self.seed, customer_id)
        days = [since + timedelta(n) for n in range((until - since).days + 1)]
        rows: list[dict[str, Any]] = []
        if by_date:
            for day in days:
                for ad_group in self.ad_groups:
                    metrics = self.metrics(account, ad_group, day)
                    if metrics is not None:
                        rows.append(_row(account, ad_group, metrics, day))
            return rows
        for ad_group in self.ad_groups:
            daily = [m for day in days if (m := self.metrics(account, ad_group, day)) is not None]
            if daily:
                total = sum(daily[1:], daily[0])
                rows.append(_row(account, ad_group, total, None))
        return rows


def _row(
    account: Customer, ad_group: AdGroup, metrics: Metrics, day: date | None
) -> dict[str, Any]:
    cid = account.customer_id
    campaign_name = f"customers/{cid}/campaigns/{ad_group.campaign.external_id}"
    row: dict[str, Any] = {
        "customer": {
            "resourceName": f"customers/{cid}",
            "id": cid,
            "descriptiveName": account.descriptive_name,
            "currencyCode": account.currency_code,
            "timeZone": account.time_zone,
        },
        "campaign": {
            "resourceName": campaign_name,
            "status": "ENABLED",
            "name": ad_group.campaign.utm_campaign,
            "id": ad_group.campaign.external_id,
        },
        "adGroup": {
            "resourceName": f"customers/{cid}/adGroups/{ad_group.ad_group_id}",
            "status": "ENABLED",
            "campaign": campaign_name,
            "id": ad_group.ad_group_id,
            "name": ad_group.name,
        },
        "metrics": metrics.as_json(),
    }
    if day is not None:
        row["segments"] = {"date": day.isoformat()}
    return row
