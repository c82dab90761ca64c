"""Typed client of the Google Ads API's ``googleAds:searchStream`` (REST), with errors as data.

``POST /{version}/customers/{id}/googleAds:searchStream`` with ``{"query": GAQL}`` answers a
JSON array of batches ``{"results", "fieldMask", "requestId"}``; it can also fail after some
batches, with a google.rpc.Status as an element of the array
(https://developers.google.com/google-ads/api/rest/common/search). Errors carry a
GoogleAdsFailure whose ``errorCode`` says what happened
(https://developers.google.com/google-ads/api/docs/best-practices/understand-api-errors);
:data:`ERROR_RULES` turns (HTTP status, canonical status, error code) into an action.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import requests
from pydantic import SecretStr, ValidationError

from headwater.errors import ConfigurationError
from headwater.settings import GoogleAdsSettings
from producers import metrics
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
from producers.retry import RetryPolicy, with_retries

SOURCE = "google_ads"
#: The ``endpoint`` label of each kind of request.
ENDPOINTS = ("search_stream", "oauth_token")


class Action(Enum):
    """What the client does about an error."""

    REAUTHENTICATE = "refresh the access token, then retry once"
    QUOTA = "retry after retryDelay when it is short; alert (terminal) when it is long"
    RETRY = "transient: retry with backoff"
    FIX_SETTING = "terminal: credentials, access or account ids; a person fixes a setting"
    FIX_REQUEST = "terminal: the request is wrong (a bug, or a sunset API version)"


@dataclass(frozen=True)
class ErrorRule:
    """One row of the error table; unset conditions match anything."""

    action: Action
    code: tuple[str, str | None] | None = None  # (errorCode kind, value; None: any value)
    status: str | None = None  # google.rpc canonical status
    http: range | None = None
    setting: str | None = None  # what a person fixes, named as the environment variable

    def matches(self, http: int, status: str, codes: list[dict[str, str]]) -> bool:
        """Whether this rule applies to an error."""
        if self.http is not None and http not in self.http:
            return False
        if self.status is not None and status != self.status:
            return False
        if self.code is None:
            return True
        kind, value = self.code
        return any(kind in code and value in (None, code[kind]) for code in codes)


# First match wins: specific error codes, then canonical statuses, then HTTP ranges.
# Error codes: https://developers.google.com/google-ads/api/reference/rpc/v21/ErrorCode
ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(Action.REAUTHENTICATE, code=("authenticationError", "OAUTH_TOKEN_EXPIRED")),
    ErrorRule(Action.REAUTHENTICATE, code=("authenticationError", "OAUTH_TOKEN_INVALID")),
    ErrorRule(
        Action.FIX_SETTING,
        code=("authenticationError", "DEVELOPER_TOKEN_INVALID"),
        setting="DEVELOPER_TOKEN",
    ),
    ErrorRule(
        Action.FIX_SETTING,
        code=("authenticationError", "CUSTOMER_NOT_FOUND"),
        setting="CUSTOMER_IDS",
    ),
    ErrorRule(Action.FIX_SETTING, code=("authenticationError", None), setting="REFRESH_TOKEN"),
    # USER_PERMISSION_DENIED: no access to the customer, often a missing login-customer-id
    # (https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid).
    ErrorRule(
        Action.FIX_SETTING,
        code=("authorizationError", "USER_PERMISSION_DENIED"),
        setting="LOGIN_CUSTOMER_ID / CUSTOMER_IDS",
    ),
    ErrorRule(
        Action.FIX_SETTING,
        code=("authorizationError", "DEVELOPER_TOKEN_NOT_APPROVED"),
        setting="DEVELOPER_TOKEN",
    ),
    ErrorRule(Action.FIX_SETTING, code=("authorizationError", None), setting="CUSTOMER_IDS"),
    ErrorRule(
        Action.FIX_SETTING, code=("quotaError", "ACCESS_PROHIBITED"), setting="DEVELOPER_TOKEN"
    ),
    ErrorRule(Action.QUOTA, code=("quotaError", None)),
    ErrorRule(
        Action.FIX_REQUEST, code=("requestError", "UNSUPPORTED_VERSION"), setting="API_VERSION"
    ),
    ErrorRule(
        Action.FIX_SETTING, code=("requestError", "INVALID_CUSTOMER_ID"), setting="CUSTOMER_IDS"
    ),
    ErrorRule(Action.RETRY, code=("internalError", None)),
    ErrorRule(Action.FIX_REQUEST, code=("queryError", None)),
    ErrorRule(Action.FIX_REQUEST, code=("requestError", None)),
    # No GoogleAdsFailure (e.g. rejected before reaching Google Ads): the canonical status.
    ErrorRule(Action.REAUTHENTICATE, status="UNAUTHENTICATED"),
    ErrorRule(Action.QUOTA, status="RESOURCE_EXHAUSTED"),
    *(
        ErrorRule(Action.RETRY, status=status)
        for status in ("UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "UNKNOWN", "ABORTED")
    ),
    ErrorRule(Action.FIX_SETTING, status="PERMISSION_DENIED", setting="CUSTOMER_IDS"),
    ErrorRule(Action.REAUTHENTICATE, http=range(401, 402)),
    ErrorRule(Action.QUOTA, http=range(429, 430)),
    ErrorRule(Action.RETRY, http=range(500, 600)),
    ErrorRule(Action.FIX_SETTING, http=range(403, 404), setting="CUSTOMER_IDS"),
    ErrorRule(Action.FIX_REQUEST, http=range(0, 600)),
)


def classify(http: int, status: Status) -> ErrorRule:
    """The first rule of :data:`ERROR_RULES` that matches an error."""
    codes = [error.error_code for error in status.errors()]
    return next(rule for rule in ERROR_RULES if rule.matches(http, status.status, codes))


def normalise_customer_id(customer_id: str) -> str:
    """A customer id as the API wants it: ten digits, no dashes; ValueError otherwise."""
    digits = customer_id.strip().replace("-", "")
    if not (digits.isdigit() and len(digits) == 10):
        raise ValueError(f"{customer_id!r} is not a 10-digit Google Ads customer id")
    return digits


class _AccessTokenRejected(AuthenticationFailed):
    """The API answered 401 to the access token: refresh it and retry once (internal); the
    second refusal reaches the caller as a plain AuthenticationFailed."""


class GoogleAdsClient:
    """Runs GAQL queries with searchStream; raises the SourceErrors of ``producers.base``."""

    def __init__(
        self,
        settings: GoogleAdsSettings,
        session: requests.Session | None = None,
        credentials: RefreshTokenCredentials | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 300.0,
    ) -> None:
        self._settings = settings
        self._session = session or requests.Session()
        self._developer_token = _required(settings.developer_token, "DEVELOPER_TOKEN")
        self.credentials = credentials or RefreshTokenCredentials(
            settings.token_url,
            _required(settings.client_id, "CLIENT_ID").get_secret_value(),
            _required(settings.client_secret, "CLIENT_SECRET"),
            _required(settings.refresh_token, "REFRESH_TOKEN"),
            session=self._session,
        )
        # The policy's ceiling must not cut a retryDelay we decided to honour.
        self._policy = policy or RetryPolicy(
            max_delay_s=max(RetryPolicy().max_delay_s, settings.max_retry_delay_s)
        )
        self._sleep = sleep
        self._timeout_s = timeout_s
        metrics.declare_source(SOURCE, ENDPOINTS)
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
        return with_retries(
            lambda: self._attempt(customer, query),
            self._policy,
            f"google_ads searchStream customer {customer}",
            sleep=self._sleep,
            source=SOURCE,
        )

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
        with metrics.api_request(SOURCE, "search_stream"):
            return self._read_stream(customer, url, query, headers)

    def _read_stream(
        self, customer: str, url: str, query: str, headers: dict[str, str]
    ) -> list[StreamBatch]:
        try:
            response = self._session.post(
                url, json={"query": query}, headers=headers, timeout=self._timeout_s
            )
        except requests.RequestException as error:
            raise ApiUnavailable(f"google_ads customer {customer}: {error}") from error
        try:
            body: Any = response.json()
        except ValueError as error:
            if response.status_code != 200 and response.status_code < 500:
                raw = Status(code=response.status_code, message=response.text[:300])
                raise self._error(customer, response.status_code, raw) from error
            # A stream cut short does not parse: retry the query, never keep half of it.
            raise ApiUnavailable(
                f"google_ads customer {customer}: unreadable response "
                f"(HTTP {response.status_code}): {error}"
            ) from error
        if response.status_code != 200 or not isinstance(body, list):
            raise self._error(customer, response.status_code, _status_of(body, response))
        batches: list[StreamBatch] = []
        for element in body:
            if isinstance(element, dict) and "error" in element:
                # A failure after some batches: the whole result is unusable (mid-stream error).
                status = _status_of(element, response)
                raise self._error(customer, status.code or 500, status, after=len(batches))
            try:
                batches.append(StreamBatch.model_validate(element))
            except ValidationError as error:
                raise ApiUnavailable(
                    f"google_ads customer {customer}: unexpected stream element: {error}"
                ) from error
        return batches

    def _error(self, customer: str, http: int, status: Status, after: int = 0) -> Exception:
        rule = classify(http, status)
        errors = status.errors()
        codes = ", ".join(error.code() for error in errors) or status.status or "-"
        said = "; ".join(error.message for error in errors if error.message) or status.message
        where = f" after {after} batches" if after else ""
        text = (
            f"google_ads customer {customer}: HTTP {http} {status.status or ''} [{codes}]{where}: "
            f"{said or 'no message'} (requestId {status.request_id() or '-'})"
        )
        if rule.setting:
            text += f"; check {_setting_names(rule.setting)}"
        if rule.action is Action.REAUTHENTICATE:
            return _AccessTokenRejected(f"{text}, even after a refresh")
        if rule.action is Action.QUOTA:
            return quota_error(text, status, self._settings.max_retry_delay_s)
        if rule.action is Action.RETRY:
            return ApiUnavailable(text)
        if rule.action is Action.FIX_SETTING:
            return AuthenticationFailed(text)
        return InvalidRequest(text)


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


def _setting_names(settings: str) -> str:
    return " / ".join(f"{SETTING_PREFIX}{name}" for name in settings.split(" / "))
