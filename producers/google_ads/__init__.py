"""Google Ads API (REST, GAQL searchStream): OAuth credentials, typed client, poller source."""

from producers.google_ads.auth import RefreshTokenCredentials
from producers.google_ads.client import GoogleAdsClient, normalise_customer_id
from producers.google_ads.source import STREAM, GoogleAdsSource, ad_group_daily_query

__all__ = [
    "STREAM",
    "GoogleAdsClient",
    "GoogleAdsSource",
    "RefreshTokenCredentials",
    "ad_group_daily_query",
    "normalise_customer_id",
]
