"""FacebookAdsSource: daily ad-level insights of each ad account, as the API returned them."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import requests

from headwater.errors import ConfigurationError
from headwater.settings import FacebookSettings, Settings
from producers.base import RawRecord, Window
from producers.facebook_ads.client import InsightsClient, JsonObject
from producers.facebook_ads.errors import ACCOUNTS_SETTING, TOKEN_SETTING, TooMuchData
from producers.transport import api_session

log = logging.getLogger(__name__)

STREAM = "insights"
LEVEL = "ad"
FIELDS: tuple[str, ...] = (
    "account_id",
    "account_name",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "impressions",
    "clicks",
    "spend",
    "reach",
    "actions",
    "action_values",
    "date_start",
    "date_stop",
)

_ACCOUNT_ID = re.compile(r"^(?:act_)?(\d+)$")


class FacebookAdsSource:
    """The Source of ``raw.facebook_ads.insights``: one record per ad and day."""

    name = "facebook_ads"

    def __init__(
        self,
        settings: FacebookSettings,
        client: InsightsClient | None = None,
        sync_max_days: int = 7,
        session: requests.Session | None = None,
    ) -> None:
        self.api_version = settings.api_version
        self.default_lookback_days = settings.lookback_days
        self.sync_max_days = sync_max_days
        self._accounts = [_account_id(raw) for raw in settings.ad_account_ids]
        if client is None:
            if settings.access_token is None:
                raise ConfigurationError(TOKEN_SETTING, "is required to poll Facebook Ads")
            client = InsightsClient(
                settings.graph_url,
                settings.api_version,
                settings.access_token.get_secret_value(),
                session=session,
            )
        self.client = client

    def accounts(self) -> list[str]:
        """The configured ad account ids, without their ``act_`` prefix."""
        return list(self._accounts)

    def streams(self) -> list[str]:
        """Only ``insights``."""
        return [STREAM]

    def fetch(self, account: str, window: Window) -> Iterator[RawRecord]:
        """Every ad-day row of the window: synchronous for short windows, report runs else."""
        for row in self._rows(_account_id(account), window):
            yield RawRecord(
                stream=STREAM, account=account, key=record_key(account, row), payload=row
            )

    def _rows(self, account: str, window: Window) -> Iterator[JsonObject]:
        days = (window.until - window.since).days + 1
        if days > self.sync_max_days:
            yield from self.client.insights_report(account, window, FIELDS, LEVEL)
            return
        rows = self.client.insights(account, window, FIELDS, LEVEL)
        try:
            first = next(rows, None)
        except TooMuchData as error:
            # The API asks for less data or an async job (insights error codes 100/1504018,
            # 2/1504038): nothing was yielded yet, so the report run is not a duplicate.
            log.info(
                "synchronous insights too large; using a report run",
                extra={"account": account, "window": window.as_dict(), "error": str(error)},
            )
            yield from self.client.insights_report(account, window, FIELDS, LEVEL)
            return
        if first is not None:
            yield first
            yield from rows


def record_key(account: str, row: JsonObject) -> str:
    """The record's key: account, ad and day (a missing part stays empty for the DLQ to see)."""
    return f"{account}|{row.get('ad_id', '')}|{row.get('date_start', '')}"


def _account_id(raw: str) -> str:
    match = _ACCOUNT_ID.match(raw.strip())
    if match is None:
        raise ConfigurationError(
            ACCOUNTS_SETTING, f"{raw!r} is not an ad account id (digits, optionally act_-prefixed)"
        )
    return match.group(1)


def build(settings: Settings) -> FacebookAdsSource:
    """The source as the topology builds it (``headwater.topology.API_SOURCES``)."""
    return FacebookAdsSource(settings.facebook, session=api_session(settings.poller))
