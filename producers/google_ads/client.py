"""Typed client of the Google Ads API's ``googleAds:searchStream`` (REST), with errors as data.

``POST /{version}/customers/{id}/googleAds:searchStream`` with ``{"query": GAQL}`` answers a
JSON array of batches ``{"results", "fieldMask", "requestId"}``; it can also fail after some
batches, with a google.rpc.Status as an element of the array
(https://developers.google.com/google-ads/api/rest/common/search). Errors carry a
GoogleAdsFailure whose ``errorCode`` says what happened
(https://developers.google.com/google-ads/api/docs/best-practices/understand-api-errors);
:data:`ERROR_RULES` turns (HTTP status, canonical status, error code) into the error to raise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from pydantic import SecretStr, ValidationError

from headwater.errors import ConfigurationError
from headwater.settings import GoogleAdsSettings
from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    QuotaExhausted,
    RateLimited,
    SourceError,
)
from producers.google_ads.auth import SETTING_PREFIX, RefreshTokenCredentials
from producers.google_ads.models import ErrorBody, Status, StreamBatch
from producers.http import ErrorRule, JsonApi, Refusal, first_match, json_of
from producers.retry import RetryPolicy


class _AccessTokenRejected(AuthenticationFailed):
    """The API answered 401 to the access token: refresh it and retry once (internal); the
    second refusal reaches the caller as a plain AuthenticationFailed."""


def _settings(*names: str) -> str:
    """The environment variables a person fixes, as a message names them."""
    return " / ".join(f"{SETTING_PREFIX}{name}" for name in names)


_DEVELOPER_TOKEN = _settings("DEVELOPER_TOKEN")
_CUSTOMER_IDS = _settings("CUSTOMER_IDS")
_OTHERWISE = ErrorRule(InvalidRequest, "any other error: the request is wrong")

# First match wins: specific error codes, then canonical statuses, then HTTP statuses.
# _AccessTokenRejected: refresh the access token and retry once. RateLimited: a quota, made
# RateLimited or QuotaExhausted by its retryDelay (quota_error). ApiUnavailable: retry with
# backoff. AuthenticationFailed: a person fixes a setting. InvalidRequest: a bug, or a sunset
# API version. Error codes: https://developers.google.com/google-ads/api/reference/rpc/v21/ErrorCode
ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(
        _AccessTokenRejected,
        "access token expired",
        codes={"authenticationError.OAUTH_TOKEN_EXPIRED"},
    ),
    ErrorRule(
        _AccessTokenRejected,
        "access token invalid",
        codes={"authenticationError.OAUTH_TOKEN_INVALID"},
    ),
    ErrorRule(
        AuthenticationFailed,
        "developer token invalid",
        codes={"authenticationError.DEVELOPER_TOKEN_INVALID"},
        setting=_DEVELOPER_TOKEN,
    ),
    ErrorRule(
        AuthenticationFailed,
        "customer not found",
        codes={"authenticationError.CUSTOMER_NOT_FOUND"},
        setting=_CUSTOMER_IDS,
    ),
    ErrorRule(
        AuthenticationFailed,
        "credentials refused",
        codes={"authenticationError"},
        setting=_settings("REFRESH_TOKEN"),
    ),
    # USER_PERMISSION_DENIED: no access to the customer, often a missing login-customer-id
    # (https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid).
    ErrorRule(
        AuthenticationFailed,
        "no access to the customer",
        codes={"authorizationError.USER_PERMISSION_DENIED"},
        setting=_settings("LOGIN_CUSTOMER_ID", "CUSTOMER_IDS"),
    ),
    ErrorRule(
        AuthenticationFailed,
        "developer token not approved",
        codes={"authorizationError.DEVELOPER_TOKEN_NOT_APPROVED"},
        setting=_DEVELOPER_TOKEN,
    ),
    ErrorRule(
        AuthenticationFailed,
        "not authorised",
        codes={"authorizationError"},
        setting=_CUSTOMER_IDS,
    ),
    ErrorRule(
        AuthenticationFailed,
        "developer token barred",
        codes={"quotaError.ACCESS_PROHIBITED"},
        setting=_DEVELOPER_TOKEN,
    ),
    ErrorRule(RateLimited, "quota", codes={"quotaError"}),
    ErrorRule(
        InvalidRequest,
        "API version sunset",
        codes={"requestError.UNSUPPORTED_VERSION"},
        setting=_settings("API_VERSION"),
    ),
    ErrorRule(
        AuthenticationFailed,
        "invalid customer id",
        codes={"requestError.INVALID_CUSTOMER_ID"},
        setting=_CUSTOMER_IDS,
    ),
    ErrorRule(ApiUnavailable, "internal error", codes={"internalError"}),
    ErrorRule(InvalidRequest, "query refused", codes={"queryError"}),
    ErrorRule(InvalidRequest, "request refused", codes={"requestError"}),
    # No GoogleAdsFailure (e.g. rejected before reaching Google Ads): the canonical status.
    ErrorRule(_AccessTokenRejected, "unauthenticated", status="UNAUTHENTICATED"),
    ErrorRule(RateLimited, "resource exhausted", status="RESOURCE_EXHAUSTED"),
    *(
        ErrorRule(ApiUnavailable, "transient", status=status)
        for status in ("UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "UNKNOWN", "ABORTED")
    ),
    ErrorRule(
        AuthenticationFailed, "permission denied", status="PERMISSION_DENIED", setting=_CUSTOMER_IDS
    ),
    ErrorRule(_AccessTokenRejected, "unauthenticated", http={401}),
    ErrorRule(RateLimited, "throttled", http={429}),
    ErrorRule(ApiUnavailable, "server error", http=range(500, 600)),
    ErrorRule(AuthenticationFailed, "forbidden", http={403}, setting=_CUSTOMER_IDS),
    _OTHERWISE,
)


def classify(http: int, status: Status) -> ErrorRule:
    """The first rule of :data:`ERROR_RULES` that matches an error."""
    return first_match(ERROR_RULES, refusal_of(http, status)) or _OTHERWISE


def refusal_of(http: int, status: Status) -> Refusal:
    """An error in the terms of the table: each error code as ``kind`` and ``kind.VALUE``."""
    codes = tuple(
        code
        for error in status.errors()
        for kind, value in error.error_code.items()
        for code in (kind, f"{kind}.{value}")
    )
    return Refusal(http=http, codes=codes, status=status.status or None, message=status.message)


def normalise_customer_id(customer_id: str) -> str:
    """A customer id as the API wants it: ten digits, no dashes; ValueError otherwise."""
    digits = customer_id.strip().replace("-", "")
    if not (digits.isdigit() and len(digits) == 10):
        raise ValueError(f"{customer_id!r} is not a 10-digit Google Ads customer id")
    return digits


class GoogleAdsClient(JsonApi[list[StreamBatch]]):
    """Runs GAQL queries with searchStream; raises the SourceErrors of ``producers.base``."""

    source = "google_ads"
    #: The ``endpoint`` label of each kind of request (``oauth_token`` is counted by auth.py).
    endpoints = ("search_stream", "oauth_token")
    url_setting = f"{SETTING_PREFIX}API_URL"

    def __init__(
        self,
        settings: GoogleAdsSettings,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 300.0,
        on_retry: Callable[[BaseException, float], None] | None = None,
        credentials: RefreshTokenCredentials | None = None,
    ) -> None:
        # The policy's ceiling must not cut a retryDelay we decided to honour.
        retry = retry or RetryPolicy(
            max_delay_s=max(RetryPolicy().max_delay_s, settings.max_retry_delay_s)
        )
        super().__init__(
            session=session, retry=retry, sleep=sleep, timeout_s=timeout_s, on_retry=on_retry
        )
        self._settings = settings
        self._developer_token = _required(settings.developer_token, "DEVELOPER_TOKEN")
        self.credentials = credentials or RefreshTokenCredentials(
            settings.token_url,
            _required(settings.client_id, "CLIENT_ID").get_secret_value(),
            _required(settings.client_secret, "CLIENT_SECRET"),
            _required(settings.refresh_token, "REFRESH_TOKEN"),
            session=self.session,
        )
        self.login_customer_id = (
            _customer_id_setting(settings.login_customer_id, "LOGIN_CUSTOMER_ID")
            if settings.login_customer_id
            else None
        )

    def search_stream(self, customer_id: str, query: str) -> list[StreamBatch]:
        """Every batch of a GAQL query's result, or a SourceError (never a truncated result)."""
        try:
            customer = normalise_customer_id(customer_id)
        except ValueError as error:
            raise InvalidRequest(f"google_ads: {error}") from error
        return self.retried(lambda: self._attempt(customer, query), f"customer {customer}")

    def _attempt(self, customer: str, query: str) -> list[StreamBatch]:
        token = self.credentials.access_token()
        try:
            return self._post(customer, query, token)
        except _AccessTokenRejected:
            # An access token can expire or be revoked before its expires_in: refresh once.
            self.credentials.invalidate(token)
        try:
            return self._post(customer, query, self.credentials.access_token())
        except _AccessTokenRejected as again:
            raise AuthenticationFailed(*again.args) from again

    def _post(self, customer: str, query: str, token: str) -> list[StreamBatch]:
        base = self._settings.api_url.rstrip("/")
        url = f"{base}/{self._settings.api_version}/customers/{customer}/googleAds:searchStream"
        headers = {
            "Authorization": f"Bearer {token}",
            "developer-token": self._developer_token.get_secret_value(),
        }
        if self.login_customer_id:
            headers["login-customer-id"] = self.login_customer_id
        what = f"customer {customer}"
        return self.once(what, "search_stream", "POST", url, json={"query": query}, headers=headers)

    def settle(self, response: requests.Response, what: str) -> list[StreamBatch]:
        """Every batch of the stream; an error, also one after some batches, raises."""
        try:
            body: Any = json_of(response)
        except ValueError as error:
            if response.status_code != 200 and response.status_code < 500:
                raw = Status(code=response.status_code, message=response.text[:300])
                raise self._error(what, response.status_code, raw) from error
            # A stream cut short does not parse: retry the query, never keep half of it.
            raise ApiUnavailable(
                f"google_ads {what}: unreadable response (HTTP {response.status_code}): {error}"
            ) from error
        if response.status_code != 200 or not isinstance(body, list):
            raise self._error(what, response.status_code, _status_of(body, response))
        batches: list[StreamBatch] = []
        for element in body:
            if isinstance(element, dict) and "error" in element:
                # A failure after some batches: the whole result is unusable (mid-stream error).
                status = _status_of(element, response)
                raise self._error(what, status.code or 500, status, after=len(batches))
            try:
                batches.append(StreamBatch.model_validate(element))
            except ValidationError as error:
                raise ApiUnavailable(
                    f"google_ads {what}: unexpected stream element: {error}"
                ) from error
        return batches

    def _error(self, what: str, http: int, status: Status, after: int = 0) -> SourceError:
        rule = classify(http, status)
        errors = status.errors()
        codes = ", ".join(error.code() for error in errors) or status.status or "-"
        said = "; ".join(error.message for error in errors if error.message) or status.message
        where = f" after {after} batches" if after else ""
        text = (
            f"google_ads {what}: HTTP {http} {status.status or ''} [{codes}]{where}: "
            f"{said or 'no message'} (requestId {status.request_id() or '-'})"
        )
        if rule.setting:
            text += f"; check {rule.setting}"
        if rule.error is _AccessTokenRejected:
            return _AccessTokenRejected(f"{text}, even after a refresh")
        if rule.error is RateLimited:
            return quota_error(text, status, self._settings.max_retry_delay_s)
        return rule.error_for(text)


def quota_error(text: str, status: Status, max_retry_delay_s: float) -> SourceError:
    """RateLimited to wait out a short ``retryDelay``; QuotaExhausted (alert) for a long one."""
    delays = [
        delay
        for error in status.errors()
        if error.details and error.details.quota_error_details
        for delay in [error.details.quota_error_details.retry_delay_s()]
        if delay is not None
    ]
    delay = max(delays) if delays else None
    # QuotaErrorDetails.retry_delay is how long to back off; a developer-token quota can ask
    # for hours, which is an alert, not a sleep
    # (https://developers.google.com/google-ads/api/reference/rpc/v21/QuotaErrorDetails).
    if delay is not None and delay > max_retry_delay_s:
        return QuotaExhausted(
            f"{text}; retryDelay {delay:g}s exceeds "
            f"{SETTING_PREFIX}MAX_RETRY_DELAY_S={max_retry_delay_s:g}",
            retry_after_s=delay,
        )
    return RateLimited(text, retry_after_s=delay)


def _status_of(body: Any, response: requests.Response) -> Status:
    """The google.rpc.Status of an error body, or one made from the HTTP status."""
    try:
        return ErrorBody.model_validate(body).error
    except ValidationError:
        return Status(code=response.status_code, message=response.text[:300])


def _required(value: SecretStr | str | None, setting: str) -> SecretStr:
    if not value:
        raise ConfigurationError(f"{SETTING_PREFIX}{setting}", "is required for Google Ads")
    return value if isinstance(value, SecretStr) else SecretStr(value)


def _customer_id_setting(value: str, setting: str) -> str:
    try:
        return normalise_customer_id(value)
    except ValueError as error:
        raise ConfigurationError(f"{SETTING_PREFIX}{setting}", str(error)) from error
