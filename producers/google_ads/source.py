"""Google Ads as a poller Source: ad-group performance per day, one raw record per GAQL row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from headwater.errors import ConfigurationError
from headwater.settings import GoogleAdsSettings, Settings
from producers.base import RawRecord, Window
from producers.google_ads.auth import SETTING_PREFIX
from producers.google_ads.client import GoogleAdsClient, normalise_customer_id
from producers.transport import api_session

STREAM = "ad_group_daily"

# Ad-group level, one row per ad group and day (segments.date), in the account's currency.
AD_GROUP_DAILY_FIELDS: tuple[str, ...] = (
    "customer.id",
    "customer.descriptive_name",
    "customer.currency_code",
    "campaign.id",
    "campaign.name",
    "ad_group.id",
    "ad_group.name",
    "segments.date",
    "metrics.impressions",
    "metrics.clicks",
    "metrics.cost_micros",
    "metrics.conversions",
    "metrics.conversions_value",
)


def ad_group_daily_query(window: Window) -> str:
    """The GAQL query of the ad_group_daily stream for a window of days."""
    # GAQL built from dates and constants (not SQL, no outside input).
    return (
        f"SELECT {', '.join(AD_GROUP_DAILY_FIELDS)} FROM ad_group "  # noqa: S608
        f"WHERE segments.date BETWEEN '{window.since.isoformat()}' "
        f"AND '{window.until.isoformat()}'"
    )


def record_key(customer_id: str, row: dict[str, Any]) -> str:
    """``customer|ad_group|date``; a part the API did not send (or sent as something else than
    an object) stays empty: the row is kept, for the normalizer to judge."""
    ad_group, segments = row.get("adGroup"), row.get("segments")
    ad_group_id = ad_group.get("id", "") if isinstance(ad_group, dict) else ""
    day = segments.get("date", "") if isinstance(segments, dict) else ""
    return f"{customer_id}|{ad_group_id}|{day}"


class GoogleAdsSource:
    """Ad-group daily performance of several Google Ads customers (``raw.google_ads.*``)."""

    name = "google_ads"

    def __init__(self, settings: GoogleAdsSettings, client: GoogleAdsClient | None = None) -> None:
        self.api_version = settings.api_version
        self.default_lookback_days = settings.lookback_days
        self._customer_ids = [_customer_id(value) for value in settings.customer_ids]
        self._client = client or GoogleAdsClient(settings)

    def accounts(self) -> list[str]:
        """The configured customer ids, without dashes."""
        return list(self._customer_ids)

    def streams(self) -> list[str]:
        """The one stream this source publishes."""
        return [STREAM]

    def fetch(self, account: str, window: Window) -> Iterator[RawRecord]:
        """Every ad-group-day row of the window, each row's JSON verbatim as the payload."""
        customer_id = _customer_id(account)
        batches = self._client.search_stream(customer_id, ad_group_daily_query(window))
        for batch in batches:
            for row in batch.results:
                yield RawRecord(
                    stream=STREAM,
                    account=customer_id,
                    key=record_key(customer_id, row),
                    payload=row,
                )


def _customer_id(value: str) -> str:
    try:
        return normalise_customer_id(value)
    except ValueError as error:
        raise ConfigurationError(f"{SETTING_PREFIX}CUSTOMER_IDS", str(error)) from error


def build(settings: Settings) -> GoogleAdsSource:
    """The source as the topology builds it (``headwater.topology.API_SOURCES``)."""
    session = api_session(settings.poller)
    return GoogleAdsSource(
        settings.google_ads, GoogleAdsClient(settings.google_ads, session=session)
    )
