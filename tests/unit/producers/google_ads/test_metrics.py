"""Google Ads requests are counted per endpoint: the token refresh and searchStream."""

from __future__ import annotations

from prometheus_client import REGISTRY

from producers.google_ads.source import ad_group_daily_query
from tests.unit.producers.google_ads.test_client import WINDOW

QUERY = ad_group_daily_query(WINDOW)


def requests_total(endpoint: str, outcome: str) -> float:
    labels = {"source": "google_ads", "endpoint": endpoint, "outcome": outcome}
    return REGISTRY.get_sample_value("headwater_poller_api_requests_total", labels) or 0.0


def test_an_expired_token_counts_as_auth_failed_then_the_refresh_and_retry_as_ok(
    sandbox, client_for, clock
) -> None:
    keys = [
        ("search_stream", "ok"),
        ("search_stream", "auth_failed"),
        ("oauth_token", "ok"),
    ]
    client = client_for()
    before = {key: requests_total(*key) for key in keys}
    client.search_stream("1234567890", QUERY)
    clock.advance(sandbox.token_lifetime_s + 1)
    client.search_stream("1234567890", QUERY)
    assert {key: requests_total(*key) - before[key] for key in keys} == {
        ("search_stream", "ok"): 2,
        ("search_stream", "auth_failed"): 1,
        ("oauth_token", "ok"): 2,
    }
