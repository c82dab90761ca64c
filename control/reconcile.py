"""``headwater reconcile``: the warehouse's totals per ad account and day against the APIs'.

The warehouse side sums ``ad_performance_daily`` (which keeps the latest restated value of
every row) per account for the day. The API side asks each platform, with the pollers' own
clients and settings, for the same day now:

- Facebook: Insights at ``level=account`` for the day (the platform's own account total);
  conversions are the configured action types, as the normalizer counts them.
- Google Ads: the poller's ad-group GAQL query for the day, summed per customer (the rows the
  warehouse holds; campaigns without ad groups, such as Performance Max, are in neither).

Spend and conversions are compared to the cent in the account currency (Google's micros
converted exactly), impressions and clicks exactly. A day the platform restated after the
last poll that covered it shows as a difference: re-poll it (``headwater backfill``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg

from headwater.errors import ConfigurationError, DependencyUnavailable, Terminal
from headwater.postgres import connect
from headwater.settings import Settings
from producers.base import Window
from producers.facebook_ads.source import FacebookAdsSource
from producers.facebook_ads.source import build as build_facebook
from producers.google_ads.client import GoogleAdsClient, normalise_customer_id
from producers.google_ads.source import ad_group_daily_query
from producers.transport import api_session
from sinks.ads import AD_PERFORMANCE_DAILY

#: the sinks' table of ad performance (sinks.ads.AD_PERFORMANCE_DAILY)
TABLE = f"{AD_PERFORMANCE_DAILY.schema}.{AD_PERFORMANCE_DAILY.table}"
CENT = Decimal("0.01")
_MICROS = Decimal(1_000_000)

#: the fields of an account-level Insights row that the comparison reads
FACEBOOK_ACCOUNT_FIELDS = ("account_id", "account_currency", "spend", "impressions", "clicks",
                           "actions")  # fmt: skip


@dataclass(frozen=True)
class Figures:
    """One account's day: spend and conversions in the account currency, and counts."""

    spend: Decimal = Decimal(0)
    impressions: int = 0
    clicks: int = 0
    conversions: Decimal = Decimal(0)

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.spend + other.spend,
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.conversions + other.conversions,
        )

    def rounded(self) -> Figures:
        """Spend and conversions to the cent: what the comparison looks at."""
        return Figures(
            self.spend.quantize(CENT, ROUND_HALF_UP),
            self.impressions,
            self.clicks,
            self.conversions.quantize(CENT, ROUND_HALF_UP),
        )


NONE = Figures()


@dataclass(frozen=True)
class Comparison:
    """The warehouse's and the API's figures of one account and day."""

    source: str
    account: str
    day: date
    warehouse: Figures
    api: Figures

    @property
    def matches(self) -> bool:
        return self.warehouse.rounded() == self.api.rounded()

    def line(self) -> str:
        """One line: each figure as warehouse vs API, and the difference where there is one."""
        mine, theirs = self.warehouse.rounded(), self.api.rounded()
        parts = []
        for name in ("spend", "impressions", "clicks", "conversions"):
            left, right = getattr(mine, name), getattr(theirs, name)
            diff = "" if left == right else f" (diff {left - right:+})"
            parts.append(f"{name} {left} vs {right}{diff}")
        verdict = "ok" if self.matches else "DIFFERS"
        head = f"{self.source} {self.account} {self.day}: {verdict} (warehouse vs API): "
        return head + ", ".join(parts)


#: one account's figures of a day, as the platform's API serves them now
AccountTotals = Callable[[str, date], Figures]


@dataclass(frozen=True)
class AdSource:
    """How one ad platform is reconciled: its warehouse name, accounts and API client."""

    name: str
    platform: str
    accounts: Callable[[Settings], list[str]]
    #: the API side, built (and its settings checked) before anything is contacted
    api: Callable[[Settings], AccountTotals]
    setting: str


def _facebook_accounts(settings: Settings) -> list[str]:
    return [account.removeprefix("act_") for account in settings.facebook.ad_account_ids]


def _facebook_api(settings: Settings) -> AccountTotals:
    source: FacebookAdsSource = build_facebook(settings)
    kinds = set(settings.facebook.conversion_action_types)

    def totals(account: str, day: date) -> Figures:
        rows = source.client.insights(
            account, Window(day, day), FACEBOOK_ACCOUNT_FIELDS, level="account"
        )
        return sum((_facebook_figures(row, kinds) for row in rows), NONE)

    return totals


def _facebook_figures(row: Mapping[str, Any], kinds: set[str]) -> Figures:
    actions = row.get("actions") or []
    return Figures(
        spend=Decimal(str(row.get("spend", "0"))),
        impressions=int(row.get("impressions", 0)),
        clicks=int(row.get("clicks", 0)),
        conversions=sum(
            (Decimal(str(a.get("value", 0))) for a in actions if a.get("action_type") in kinds),
            Decimal(0),
        ),
    )


def _google_accounts(settings: Settings) -> list[str]:
    try:
        return [normalise_customer_id(c) for c in settings.google_ads.customer_ids]
    except ValueError as error:
        raise ConfigurationError("HEADWATER_GOOGLE_ADS__CUSTOMER_IDS", str(error)) from error


def _google_api(settings: Settings) -> AccountTotals:
    client = GoogleAdsClient(settings.google_ads, session=api_session(settings.poller))

    def totals(customer: str, day: date) -> Figures:
        batches = client.search_stream(customer, ad_group_daily_query(Window(day, day)))
        rows = (row for batch in batches for row in batch.results)
        return sum((_google_figures(row) for row in rows), NONE)

    return totals


def _google_figures(row: Mapping[str, Any]) -> Figures:
    metrics = row.get("metrics") or {}
    return Figures(
        spend=Decimal(str(metrics.get("costMicros", "0"))) / _MICROS,
        impressions=int(metrics.get("impressions", 0)),
        clicks=int(metrics.get("clicks", 0)),
        conversions=Decimal(str(metrics.get("conversions", 0))),
    )


AD_SOURCES: tuple[AdSource, ...] = (
    AdSource("facebook_ads", "facebook", _facebook_accounts, _facebook_api,
             "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS"),
    AdSource("google_ads", "google_ads", _google_accounts, _google_api,
             "HEADWATER_GOOGLE_ADS__CUSTOMER_IDS"),
)  # fmt: skip


def ad_source(name: str) -> AdSource:
    """The reconciled source of that name (``facebook_ads``, ``google_ads``)."""
    return next(source for source in AD_SOURCES if source.name == name)


def chosen_sources(settings: Settings, names: Iterable[str]) -> list[AdSource]:
    """The named sources, each with accounts configured; without names, every configured one."""
    wanted = [ad_source(name) for name in names]
    if wanted:
        for source in wanted:
            if not source.accounts(settings):
                raise ConfigurationError(source.setting, f"names no account to reconcile "
                                                         f"{source.name}")  # fmt: skip
        return wanted
    configured = [source for source in AD_SOURCES if source.accounts(settings)]
    if not configured:
        settings_named = " or ".join(source.setting for source in AD_SOURCES)
        raise ConfigurationError(settings_named, "names no ad account to reconcile")
    return configured


def warehouse_dsn(settings: Settings) -> str:
    """The warehouse's connection string, which the comparison reads."""
    if settings.warehouse.dsn is None:
        raise ConfigurationError("HEADWATER_WAREHOUSE__DSN", "is required: reconcile reads it")
    return settings.warehouse.dsn.get_secret_value()


def warehouse_totals(
    settings: Settings, platform: str, accounts: Sequence[str], day: date
) -> dict[str, Figures]:
    """Each account's day as ``ad_performance_daily`` holds it (latest restatement)."""
    try:
        with connect(warehouse_dsn(settings), settings.warehouse) as warehouse:
            return _sums(warehouse, platform, accounts, day)
    except psycopg.OperationalError as error:
        raise DependencyUnavailable(f"warehouse: {error}".strip()) from error


def _sums(
    warehouse: psycopg.Connection, platform: str, accounts: Sequence[str], day: date
) -> dict[str, Figures]:
    found = warehouse.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()
    if found is None or found[0] is None:
        raise Terminal(f"the warehouse has no {TABLE}: `headwater sink ad-performance` makes it")
    rows = warehouse.execute(
        "SELECT account_id, sum(spend), sum(impressions), sum(clicks), sum(conversions) "  # noqa: S608 - TABLE is a constant
        f"FROM {TABLE} WHERE platform = %s AND account_id = ANY(%s) "
        "AND date = %s GROUP BY account_id",
        (platform, list(accounts), day),
    ).fetchall()
    return {
        account: Figures(Decimal(spend), int(impressions), int(clicks), Decimal(conversions))
        for account, spend, impressions, clicks, conversions in rows
    }


def reconcile(settings: Settings, sources: Sequence[AdSource], day: date) -> Iterator[Comparison]:
    """The comparison of each configured account of the sources for the day.

    Every setting (the warehouse's DSN, each source's credentials) is checked before the
    first request: a missing one is a ConfigurationError before anything is contacted.
    """
    warehouse_dsn(settings)
    apis = [(source, source.api(settings)) for source in sources]
    for source, api in apis:
        accounts = source.accounts(settings)
        stored = warehouse_totals(settings, source.platform, accounts, day)
        for account in accounts:
            served = api(account, day)
            yield Comparison(source.name, account, day, stored.get(account, NONE), served)
