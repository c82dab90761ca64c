"""Deterministic insights of the Facebook sandbox: every number follows from the seed.

Each ad account (any ``act_<digits>``) runs the catalog's five Facebook campaigns, each with
``adsets_per_campaign`` ad sets of ``ads_per_adset`` ads. A day's metrics of an ad depend on
(seed, account, ad, day); inside the restatement horizon (the last 28 days, as attribution
windows keep changing them on the real API) they also depend on the restatement epoch.
Rows look like the API's: every number a JSON string, ``actions`` lists omitted when empty.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.campaigns import campaigns_of

Row = dict[str, Any]

CENT = Decimal("0.01")
RESTATED_DAYS = 28
NO_DELIVERY_RATE = 0.03
CURRENCIES = ("USD", "EUR")

# What each level keeps of a row's identity (https://developers.facebook.com/docs/
# marketing-api/insights/ : level = account, campaign, adset or ad).
LEVEL_FIELDS: dict[str, tuple[str, ...]] = {
    "account": ("account_id", "account_name", "account_currency"),
    "campaign": ("account_id", "account_name", "account_currency", "campaign_id", "campaign_name"),
    "adset": (
        *("account_id", "account_name", "account_currency", "campaign_id", "campaign_name"),
        *("adset_id", "adset_name"),
    ),
    "ad": (
        *("account_id", "account_name", "account_currency", "campaign_id", "campaign_name"),
        *("adset_id", "adset_name", "ad_id", "ad_name"),
    ),
}
COUNTS = ("impressions", "clicks", "reach")
LISTS = ("actions", "action_values")
DATES = ("date_start", "date_stop")
FIELDS = frozenset((*LEVEL_FIELDS["ad"], *COUNTS, "spend", *LISTS, *DATES))


@dataclass(frozen=True)
class Ad:
    """One ad of an account, with its ad set and campaign."""

    campaign_id: str
    campaign_name: str
    adset_id: str
    adset_name: str
    ad_id: str
    ad_name: str
    weight: float


def account_number(account: str) -> str:
    """``act_123`` (or ``123``) as the bare number the API's ``account_id`` field carries."""
    return account.removeprefix("act_")


class InsightsData:
    """The generator: ads of an account and their daily rows, as of a restatement epoch."""

    def __init__(
        self,
        seed: int,
        adsets_per_campaign: int = 2,
        ads_per_adset: int = 2,
        restated_days: int = RESTATED_DAYS,
    ) -> None:
        self.seed = seed
        self.adsets_per_campaign = adsets_per_campaign
        self.ads_per_adset = ads_per_adset
        self.restated_days = restated_days

    def currency(self, account: str) -> str:
        """The account's currency: odd account numbers bill in EUR, even ones in USD."""
        return CURRENCIES[int(account_number(account)) % 2]

    def ads(self, account: str) -> list[Ad]:
        """The account's ads, in catalog order."""
        number = account_number(account)
        tag = f"{int(number) % 10000:04d}"
        ads = []
        for campaign in campaigns_of("facebook"):
            weight = 0.5 + _rng(self.seed, "campaign", campaign.external_id).random()
            for s in range(1, self.adsets_per_campaign + 1):
                adset_id = f"{campaign.external_id}{tag}{s:02d}"
                for a in range(1, self.ads_per_adset + 1):
                    ads.append(
                        Ad(
                            campaign.external_id,
                            campaign.utm_campaign,
                            adset_id,
                            f"{campaign.utm_campaign} / ad set {s}",
                            f"{adset_id}{a:03d}",
                            f"{campaign.utm_campaign} / ad {s}.{a}",
                            weight,
                        )
                    )
        return ads

    def rows(self, account: str, since: date, until: date, today: date, epoch: int) -> list[Row]:
        """Every ad-level row of the days (none after ``today``), by day then ad."""
        ads = self.ads(account)
        last = min(until, today)
        return [
            row
            for day in _days(since, last)
            for ad in ads
            if (row := self.row(account, ad, day, today, epoch)) is not None
        ]

    def row(self, account: str, ad: Ad, day: date, today: date, epoch: int) -> Row | None:
        """One ad's day with every field, or None when the ad did not deliver that day."""
        number = account_number(account)
        base = _rng(self.seed, number, ad.ad_id, day.isoformat())
        if base.random() < NO_DELIVERY_RATE:
            return None
        impressions = base.uniform(600, 9000) * ad.weight
        ctr, cpm = base.uniform(0.006, 0.035), base.uniform(3.0, 14.0)
        reach_ratio, order_value = base.uniform(0.55, 0.95), base.uniform(25.0, 140.0)
        purchase_rate, install_rate = base.uniform(0.0, 0.07), base.uniform(0.0, 0.04)
        if (today - day).days < self.restated_days:
            restated = _rng(self.seed, number, ad.ad_id, day.isoformat(), "epoch", str(epoch))
            impressions *= restated.uniform(0.97, 1.03)
            ctr *= restated.uniform(0.95, 1.05)
            purchase_rate *= restated.uniform(0.7, 1.3)
        shown = max(1, round(impressions))
        clicks = round(shown * ctr)
        purchases, installs = round(clicks * purchase_rate), round(clicks * install_rate)
        spend = _money(shown * cpm / 1000)
        actions = {
            "link_click": str(round(clicks * 0.9)),
            "purchase": str(purchases),
            "mobile_app_install": str(installs),
        }
        values = {"purchase": str(_money(purchases * order_value))}
        row: Row = {
            "account_id": number,
            "account_name": f"Headwater sandbox {number}",
            "account_currency": self.currency(account),
            "campaign_id": ad.campaign_id,
            "campaign_name": ad.campaign_name,
            "adset_id": ad.adset_id,
            "adset_name": ad.adset_name,
            "ad_id": ad.ad_id,
            "ad_name": ad.ad_name,
            "impressions": str(shown),
            "clicks": str(clicks),
            "spend": str(spend),
            "reach": str(max(1, round(shown * reach_ratio))),
            "actions": _action_list(actions),
            "action_values": _action_list(values),
            "date_start": day.isoformat(),
            "date_stop": day.isoformat(),
        }
        return _without_empty_lists(row)


def aggregate(rows: Sequence[Row], level: str) -> list[Row]:
    """Ad-level rows summed to ``level`` per day (reach is summed, not de-duplicated)."""
    if level == "ad":
        return list(rows)
    keys = LEVEL_FIELDS[level]
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault((row["date_start"], *(row[k] for k in keys)), []).append(row)
    summed = []
    for members in groups.values():
        total: Row = {key: members[0][key] for key in keys}
        for count in COUNTS:
            total[count] = str(sum(int(m[count]) for m in members))
        total["spend"] = str(sum((Decimal(m["spend"]) for m in members), Decimal("0.00")))
        for name in LISTS:
            merged: dict[str, Decimal] = {}
            for member in members:
                for action in member.get(name, []):
                    kind = action["action_type"]
                    merged[kind] = merged.get(kind, Decimal(0)) + Decimal(action["value"])
            total[name] = _action_list({kind: str(value) for kind, value in merged.items()})
        total.update({key: members[0][key] for key in DATES})
        summed.append(_without_empty_lists(total))
    return summed


def project(row: Row, fields: Sequence[str]) -> Row:
    """The requested fields of a row (absent ones stay absent), then its dates, like the API."""
    picked = {name: row[name] for name in fields if name in row and name not in DATES}
    picked.update({name: row[name] for name in DATES})
    return picked


def _action_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"action_type": kind, "value": value}
        for kind, value in values.items()
        if Decimal(value) != 0
    ]


def _without_empty_lists(row: Row) -> Row:
    return {key: value for key, value in row.items() if value != []}


def _money(amount: float) -> Decimal:
    return Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)


def _days(since: date, until: date) -> Iterator[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def _rng(seed: int, *parts: str) -> random.Random:
    digest = hashlib.blake2b("|".join((str(seed), *parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))  # noqa: S311 - data, not secrets
