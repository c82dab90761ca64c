"""GoogleAdsClient against the in-process sandbox: batches, OAuth, quotas, errors as data."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from headwater.errors import ConfigurationError, is_transient
from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    QuotaExhausted,
    RateLimited,
    SourceError,
    Window,
)
from producers.google_ads.client import _AccessTokenRejected, classify, quota_error
from producers.google_ads.models import Status
from producers.google_ads.source import ad_group_daily_query
from sandbox.google_ads import GoogleAdsSandbox, Quota

WINDOW = Window(date(2026, 3, 1), date(2026, 3, 3))
QUERY = ad_group_daily_query(WINDOW)


def rows_of(batches: list) -> list[dict]:
    return [row for batch in batches for row in batch.results]


def statuses(sandbox: GoogleAdsSandbox) -> list[int]:
    return [seen.status for seen in sandbox.seen]


def test_every_row_arrives_exactly_once_across_batches(sandbox, client_for) -> None:
    batches = client_for().search_stream("123-456-7890", QUERY)

    rows = rows_of(batches)
    assert len(batches) == 8  # 3 days x 10 ad groups in batches of 4
    assert all(len(batch.results) <= 4 for batch in batches)
    keys = Counter((row["adGroup"]["id"], row["segments"]["date"]) for row in rows)
    assert len(keys) == 30
    assert set(keys.values()) == {1}
    truth = [row for day in WINDOW.days() for row in sandbox.truth("1234567890", day)]
    assert sorted(keys) == sorted((t["adGroup"]["id"], t["segments"]["date"]) for t in truth)
    assert {batch.field_mask for batch in batches} == {
        "customer.id,customer.descriptiveName,customer.currencyCode,campaign.id,campaign.name,"
        "adGroup.id,adGroup.name,segments.date,metrics.impressions,metrics.clicks,"
        "metrics.costMicros,metrics.conversions,metrics.conversionsValue"
    }


def test_access_token_is_cached_across_calls(sandbox, client_for) -> None:
    client = client_for()
    for customer in ("1234567890", "2345678901", "3456789012", "1234567890"):
        assert rows_of(client.search_stream(customer, QUERY))

    assert sandbox.token_requests == 1
    assert statuses(sandbox) == [200, 200, 200, 200]


def test_expired_access_token_is_refreshed_on_401_and_the_call_succeeds(
    sandbox, client_for, clock
) -> None:
    client = client_for()
    client.search_stream("1234567890", QUERY)
    clock.advance(sandbox.token_lifetime_s + 1)  # the API expires it; the client still trusts it

    rows = rows_of(client.search_stream("1234567890", QUERY))

    assert len(rows) == 30
    assert sandbox.token_requests == 2
    assert statuses(sandbox) == [200, 401, 200]


def test_a_token_refused_even_after_a_refresh_is_authentication_failed(
    sandbox, client_for, sleeps
) -> None:
    sandbox.token_lifetime_s = 0  # every token is expired as soon as it is issued

    with pytest.raises(AuthenticationFailed, match=r"OAUTH_TOKEN_EXPIRED.*even after a refresh"):
        client_for().search_stream("1234567890", QUERY)

    assert sandbox.token_requests == 2  # refreshed once, not in a loop
    assert statuses(sandbox) == [401, 401]
    assert sleeps == []


def test_invalid_grant_is_authentication_failed_and_not_retried(
    sandbox, client_for, sleeps
) -> None:
    client = client_for(refresh_token="a-revoked-refresh-token-123")

    with pytest.raises(AuthenticationFailed) as raised:
        client.search_stream("1234567890", QUERY)

    message = str(raised.value)
    assert "invalid_grant" in message
    assert "HEADWATER_GOOGLE_ADS__REFRESH_TOKEN" in message
    assert "a-revoked-refresh-token-123" not in message
    assert not is_transient(raised.value)
    assert sandbox.token_requests == 1
    assert sandbox.seen == []
    assert sleeps == []


def test_a_wrong_client_secret_names_the_client_settings(sandbox, client_for) -> None:
    with pytest.raises(AuthenticationFailed, match=r"invalid_client.*CLIENT_SECRET"):
        client_for(client_secret="wrong").search_stream("1234567890", QUERY)


def test_a_short_retry_delay_is_honoured_then_the_call_is_retried(
    sandbox, client_for, sleeps
) -> None:
    sandbox.quota = Quota(requests=1, window_s=2.0, retry_delay="2s")
    client = client_for()
    client.search_stream("1234567890", QUERY)

    rows = rows_of(client.search_stream("2345678901", QUERY))

    assert len(rows) == 30
    assert sleeps == [2.0]
    assert statuses(sandbox) == [200, 429, 200]


def test_a_long_retry_delay_is_quota_exhausted_at_once(sandbox, client_for, sleeps) -> None:
    sandbox.quota = Quota(requests=1, window_s=3600.0, retry_delay="3600s")
    client = client_for(max_retry_delay_s=60)
    client.search_stream("1234567890", QUERY)

    with pytest.raises(QuotaExhausted) as raised:
        client.search_stream("2345678901", QUERY)

    assert raised.value.retry_after_s == 3600.0
    assert not is_transient(raised.value)
    assert "MAX_RETRY_DELAY_S" in str(raised.value)
    assert sleeps == []
    assert statuses(sandbox) == [200, 429]


def test_a_mid_stream_error_is_raised_not_truncated(sandbox, client_for, sleeps) -> None:
    sandbox.mid_stream_failures = 100
    sandbox.mid_stream_after_batches = 2

    with pytest.raises(ApiUnavailable, match=r"INTERNAL.*after 2 batches"):
        client_for(attempts=3).search_stream("1234567890", QUERY)

    assert len(sleeps) == 2  # transient: retried with backoff, then raised
    assert statuses(sandbox) == [200, 200, 200]  # the HTTP status said nothing was wrong


def test_a_mid_stream_error_once_is_retried_and_rows_arrive_once(
    sandbox, client_for, sleeps
) -> None:
    sandbox.mid_stream_failures = 1

    rows = rows_of(client_for().search_stream("1234567890", QUERY))

    assert len(rows) == 30
    assert len({(row["adGroup"]["id"], row["segments"]["date"]) for row in rows}) == 30
    assert len(sleeps) == 1
    assert len(sandbox.seen) == 2


def test_the_login_customer_id_header_is_sent_when_set(sandbox, client_for) -> None:
    sandbox.manager_customer_id = "1112223334"

    rows = rows_of(client_for(login_customer_id="111-222-3334").search_stream("1234567890", QUERY))

    assert len(rows) == 30
    assert sandbox.seen[-1].login_customer_id == "1112223334"


def test_without_the_login_customer_id_a_manager_managed_customer_is_refused(
    sandbox, client_for, sleeps
) -> None:
    sandbox.manager_customer_id = "1112223334"

    with pytest.raises(AuthenticationFailed, match=r"USER_PERMISSION_DENIED.*LOGIN_CUSTOMER_ID"):
        client_for().search_stream("1234567890", QUERY)

    assert sandbox.seen[-1].login_customer_id is None
    assert len(sandbox.seen) == 1
    assert sleeps == []


def test_an_unknown_customer_is_authentication_failed(sandbox, client_for) -> None:
    with pytest.raises(AuthenticationFailed, match=r"authorizationError\.USER_PERMISSION_DENIED"):
        client_for().search_stream(GoogleAdsSandbox.UNKNOWN_CUSTOMER_ID, QUERY)
    assert len(sandbox.seen) == 1


def test_a_wrong_developer_token_is_authentication_failed(sandbox, client_for) -> None:
    with pytest.raises(AuthenticationFailed, match=r"DEVELOPER_TOKEN_INVALID.*__DEVELOPER_TOKEN"):
        client_for(developer_token="not-the-token").search_stream("1234567890", QUERY)
    assert sandbox.token_requests == 1  # not mistaken for an expired access token


def test_an_unsupported_version_is_invalid_request(sandbox, client_for, sleeps) -> None:
    with pytest.raises(InvalidRequest, match=r"UNSUPPORTED_VERSION.*__API_VERSION") as raised:
        client_for(api_version="v17").search_stream("1234567890", QUERY)
    assert not is_transient(raised.value)
    assert sleeps == []


def test_a_query_the_api_refuses_is_invalid_request(sandbox, client_for) -> None:
    query = "SELECT ad_group.id, metrics.nope FROM ad_group"
    with pytest.raises(InvalidRequest, match=r"queryError.UNRECOGNIZED_FIELD"):
        client_for().search_stream("1234567890", query)


def test_an_unreachable_api_is_api_unavailable_after_bounded_retries(
    sandbox, client_for, sleeps
) -> None:
    client = client_for(attempts=3)
    sandbox.stop()

    with pytest.raises(ApiUnavailable):
        client.search_stream("1234567890", QUERY)
    assert len(sleeps) == 2


def test_missing_credentials_name_the_setting(settings_for) -> None:
    from producers.google_ads.client import GoogleAdsClient

    with pytest.raises(ConfigurationError, match="HEADWATER_GOOGLE_ADS__DEVELOPER_TOKEN"):
        GoogleAdsClient(settings_for(developer_token=None))
    with pytest.raises(ConfigurationError, match="HEADWATER_GOOGLE_ADS__LOGIN_CUSTOMER_ID"):
        GoogleAdsClient(settings_for(login_customer_id="12-34"))


def failure_status(http: int, status: str, kind: str | None = None, code: str = "") -> Status:
    details = []
    if kind is not None:
        details = [
            {
                "@type": "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
                "errors": [{"errorCode": {kind: code}, "message": "m"}],
                "requestId": "r",
            }
        ]
    return Status(code=http, status=status, message="m", details=details)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (failure_status(401, "UNAUTHENTICATED"), _AccessTokenRejected),
        (
            failure_status(401, "UNAUTHENTICATED", "authenticationError", "OAUTH_TOKEN_EXPIRED"),
            _AccessTokenRejected,
        ),
        (
            failure_status(401, "UNAUTHENTICATED", "authenticationError", "NOT_ADS_USER"),
            AuthenticationFailed,
        ),
        (
            failure_status(403, "PERMISSION_DENIED", "authorizationError", "CUSTOMER_NOT_ENABLED"),
            AuthenticationFailed,
        ),
        (
            failure_status(429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_EXHAUSTED"),
            RateLimited,
        ),
        (
            failure_status(429, "RESOURCE_EXHAUSTED", "quotaError", "ACCESS_PROHIBITED"),
            AuthenticationFailed,
        ),
        (failure_status(429, ""), RateLimited),
        (failure_status(500, "INTERNAL", "internalError", "TRANSIENT_ERROR"), ApiUnavailable),
        (failure_status(503, "UNAVAILABLE"), ApiUnavailable),
        (failure_status(502, ""), ApiUnavailable),
        (failure_status(504, "DEADLINE_EXCEEDED"), ApiUnavailable),
        (
            failure_status(400, "INVALID_ARGUMENT", "requestError", "UNSUPPORTED_VERSION"),
            InvalidRequest,
        ),
        (
            failure_status(400, "INVALID_ARGUMENT", "queryError", "BAD_FIELD_NAME"),
            InvalidRequest,
        ),
        (failure_status(404, "NOT_FOUND"), InvalidRequest),
    ],
)
def test_the_error_table_decides_the_error(status: Status, error: type[SourceError]) -> None:
    assert classify(status.code, status).error is error


def test_a_rule_names_the_setting_a_person_fixes() -> None:
    denied = failure_status(
        403, "PERMISSION_DENIED", "authorizationError", "USER_PERMISSION_DENIED"
    )
    assert classify(403, denied).setting == (
        "HEADWATER_GOOGLE_ADS__LOGIN_CUSTOMER_ID / HEADWATER_GOOGLE_ADS__CUSTOMER_IDS"
    )
    assert classify(401, failure_status(401, "UNAUTHENTICATED")).setting is None


def test_a_status_beyond_the_table_is_an_invalid_request() -> None:
    assert classify(600, failure_status(600, "")).error is InvalidRequest


def test_a_quota_error_without_a_delay_falls_back_to_backoff() -> None:
    error = quota_error("429", failure_status(429, "RESOURCE_EXHAUSTED"), max_retry_delay_s=60)
    assert isinstance(error, RateLimited)
    assert error.retry_after_s is None
