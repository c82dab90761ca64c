"""A KPI row's running totals, how one contribution changes them, and the row's figures.

A row keeps the latest contribution per identity (the store holds those entries) and the
sums over them. A change subtracts the identity's previous values and adds the new ones, so
it costs the same whether the row has 10 contributions or 100,000, and the totals are a
fixed set of numbers (plus one pair per ad-account currency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stream_processors.kpis.contributions import (
    ADS,
    EVENTS,
    ORDERS,
    Contribution,
    KpiKey,
    amount,
    count,
)
from stream_processors.ratios import ratio

#: (version, values or None): one identity's latest contribution to a row
Entry = tuple[int, dict[str, str] | None]

_COUNTS = {
    ADS: ("impressions", "clicks"),
    EVENTS: ("installs", "signups", "purchases"),
    ORDERS: ("orders",),
}
_AMOUNTS = {ADS: ("spend", "conversions"), EVENTS: (), ORDERS: ("revenue",)}
_ZERO = Decimal(0)


@dataclass
class Totals:
    """The sums of one KPI row's contributions."""

    counts: dict[str, int] = field(default_factory=dict)
    amounts: dict[str, Decimal] = field(default_factory=dict)
    #: ad-account currency -> [contributions in it, their spend in that currency]
    accounts: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, kind: str, values: dict[str, str], sign: int) -> None:
        """Add (sign 1) or take away (sign -1) one contribution's values; RejectedRecord for
        values no row can hold (the caller works on a copy: a failure changes nothing)."""
        for name in _COUNTS[kind]:
            if name in values:
                self.counts[name] = self.counts.get(name, 0) + sign * count(values[name], name)
        for name in _AMOUNTS[kind]:
            if name in values:
                share = amount(values[name], name)
                self.amounts[name] = self.amounts.get(name, _ZERO) + sign * share
        if kind == ADS:
            account = self.accounts.setdefault(values["account_currency"], [0, _ZERO])
            account[0] += sign
            account[1] += sign * amount(values["spend_account"], "spend_account")
            if account[0] == 0:
                del self.accounts[values["account_currency"]]

    def copy(self) -> Totals:
        """An independent copy (decimals are immutable; the account pairs are not)."""
        return Totals(
            dict(self.counts),
            dict(self.amounts),
            {code: list(pair) for code, pair in self.accounts.items()},
        )

    def encode(self) -> dict[str, Any]:
        """A JSON-ready form, exact (decimals as strings)."""
        return {
            "counts": self.counts,
            "amounts": {name: str(amount) for name, amount in self.amounts.items()},
            "accounts": {code: [n, str(spend)] for code, (n, spend) in self.accounts.items()},
        }

    @classmethod
    def decode(cls, data: dict[str, Any]) -> Totals:
        """Totals back from :meth:`encode`."""
        return cls(
            counts={name: int(n) for name, n in data["counts"].items()},
            amounts={name: Decimal(a) for name, a in data["amounts"].items()},
            accounts={code: [int(n), Decimal(s)] for code, (n, s) in data["accounts"].items()},
        )


def fold(totals: Totals, current: Entry | None, contribution: Contribution) -> Entry | None:
    """Apply a contribution over the identity's current entry; the new entry, or None when
    nothing changes (an older version, the same again, an event already counted)."""
    if current is not None:
        if contribution.kind == EVENTS or current[0] > contribution.version:
            return None
        if current[0] == contribution.version and current[1] == contribution.values:
            return None
        if current[1]:
            totals.add(contribution.kind, current[1], -1)
    if contribution.values:
        totals.add(contribution.kind, contribution.values, 1)
    return (contribution.version, contribution.values)


@dataclass
class RowState:
    """One KPI row on its own: its entries and totals (the store keeps many rows at once)."""

    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)


def apply(state: RowState, contribution: Contribution) -> bool:
    """Fold one contribution into a row; True when the row changed."""
    identity = (contribution.kind, contribution.identity)
    entry = fold(state.totals, state.entries.get(identity), contribution)
    if entry is None:
        return False
    state.entries[identity] = entry
    return True


def figures(key: KpiKey, totals: Totals, currency: str, updated_at_us: int) -> dict[str, Any]:
    """The KPI row: the sums, and the ratios (None without a denominator)."""
    counts, amounts = totals.counts, totals.amounts
    impressions, clicks = Decimal(counts.get("impressions", 0)), Decimal(counts.get("clicks", 0))
    installs, orders = Decimal(counts.get("installs", 0)), Decimal(counts.get("orders", 0))
    spend, revenue = amounts.get("spend", _ZERO), amounts.get("revenue", _ZERO)
    single = next(iter(totals.accounts)) if len(totals.accounts) == 1 else None
    return {
        "date": key.day,
        "platform": key.platform,
        "campaign_id": key.campaign_id,
        "currency": currency,
        "impressions": int(impressions),
        "clicks": int(clicks),
        "spend": str(spend.quantize(Decimal("0.000001"))),
        "account_currency": single,
        "spend_account_currency": (str(totals.accounts[single][1]) if single is not None else None),
        "conversions": str(amounts.get("conversions", _ZERO)),
        "installs": int(installs),
        "signups": counts.get("signups", 0),
        "purchases": counts.get("purchases", 0),
        "orders": int(orders),
        "revenue": str(revenue.quantize(Decimal("0.000001"))),
        "ctr": ratio("ctr", clicks, impressions),
        "cpc": ratio("cpc", spend, clicks),
        "cpm": ratio("cpm", spend * 1000, impressions),
        "cpi": ratio("cpi", spend, installs),
        "cost_per_order": ratio("cost_per_order", spend, orders),
        "roas": ratio("roas", revenue, spend),
        "conversion_rate": ratio("conversion_rate", orders, clicks),
        "updated_at": updated_at_us,
    }
