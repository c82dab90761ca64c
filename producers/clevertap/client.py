"""A typed client of the CleverTap Server API's events export (two-step cursor paging).

https://developer.clevertap.com/docs/get-events-api: ``POST /1/events.json?batch_size=N``
with ``{"event_name", "from", "to"}`` returns a cursor; ``GET /1/events.json?cursor=`` returns
a page of records and the next cursor, until a page comes without one. Refusals are
``{"status": "fail", "error", "code"}`` (https://developer.clevertap.com/docs/api-errors) and
are mapped to typed errors by :data:`ERROR_TABLE`, never by nested ``if``s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, TypeVar

import requests
from pydantic import BaseModel, SecretStr, ValidationError
from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema

from headwater.errors import ConfigurationError, Terminal
from headwater.settings import CleverTapSettings
from producers import metrics
from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    RateLimited,
    SourceError,
)
from producers.clevertap.models import EventsPage, ExportStarted, Refusal
from producers.retry import RetryPolicy, with_retries

EVENTS_PATH: Final = "/1/events.json"
MAX_BATCH_SIZE: Final = 5_000  # "The maximum is 5000." (get-events-api)
CREDENTIAL_SETTINGS: Final = "HEADWATER_CLEVERTAP__ACCOUNT_ID and HEADWATER_CLEVERTAP__PASSCODE"

ModelT = TypeVar("ModelT", bound=BaseModel)


class CursorExpired(SourceError, Terminal):
    """The export's cursor is no longer served: this request cannot succeed again.

    Terminal for the request (retrying the same cursor is pointless); the source restarts the
    whole export of that event and day instead, a bounded number of times.
    """


@dataclass(frozen=True)
class ErrorRule:
    """One row of the error table: what a refusal looks like, and the error it becomes.

    A rule matches when every condition it sets holds: the HTTP status within ``http``, the
    body's ``code`` within ``code``, and ``message`` (lower case) inside the body's ``error``.
    """

    error: type[SourceError]
    meaning: str
    http: tuple[int, int] | None = None
    code: tuple[int, int] | None = None
    message: str | None = None

    def matches(self, http_status: int, refusal: Refusal) -> bool:
        """Whether this rule describes the refusal."""
        if self.http is not None and not self.http[0] <= http_status <= self.http[1]:
            return False
        if self.code is not None and (
            refusal.code is None or not self.code[0] <= refusal.code <= self.code[1]
        ):
            return False
        return self.message is None or self.message in refusal.error.lower()


def _either(
    error: type[SourceError], meaning: str, statuses: tuple[int, int], message: str | None = None
) -> tuple[ErrorRule, ErrorRule]:
    """The same rule on the HTTP status and on the body's ``code``."""
    return (
        ErrorRule(error, meaning, http=statuses, message=message),
        ErrorRule(error, meaning, code=statuses, message=message),
    )


SOURCE = "clevertap"
#: The ``endpoint`` label of each kind of request.
ENDPOINTS = ("events_export", "events_page")
_EXPIRED = "the export's cursor expired: restart the export"
_CONCURRENCY = "too many concurrent requests: back off"
_CREDENTIALS = f"the API refused the credentials; check {CREDENTIAL_SETTINGS}"
_FORBIDDEN = f"the operation is not allowed for this account; check {CREDENTIAL_SETTINGS}"
_SERVER = "the API failed"
_BAD_REQUEST = "the API refused the request (event name, date range or batch size)"

# First match wins. CleverTap answers most refusals with the HTTP status and the same code in
# the body, but a body with "status": "fail" is a refusal whatever the HTTP status (even 200),
# so every row on the HTTP status has a twin on the body's code.
ERROR_TABLE: Final[tuple[ErrorRule, ...]] = (
    # Not documented by CleverTap; the sandbox answers 400 "Cursor expired or invalid".
    *_either(CursorExpired, _EXPIRED, (400, 499), message="cursor"),
    # Limits are on concurrency only: 429 "Too many concurrent requests"
    # (https://developer.clevertap.com/docs/api-request-limit), no time windows, no headers.
    *_either(RateLimited, _CONCURRENCY, (429, 429)),
    ErrorRule(RateLimited, _CONCURRENCY, message="too many concurrent requests"),
    # 401 "Invalid credentials or URL", 403 "Operation is not allowed" (api-errors).
    *_either(AuthenticationFailed, _CREDENTIALS, (401, 401)),
    *_either(AuthenticationFailed, _FORBIDDEN, (403, 403)),
    ErrorRule(ApiUnavailable, "the request timed out at the API", http=(408, 408)),
    *_either(ApiUnavailable, _SERVER, (500, 599)),
    *_either(InvalidRequest, _BAD_REQUEST, (400, 499)),
    # A refusal that fits nothing above (a "fail" body without a known code): retry, bounded.
    ErrorRule(ApiUnavailable, "the API answered with an unknown refusal"),
)


def classify(http_status: int, refusal: Refusal, retry_after_s: float | None = None) -> SourceError:
    """The typed error a refusal means, by the first matching row of :data:`ERROR_TABLE`."""
    rule = next(rule for rule in ERROR_TABLE if rule.matches(http_status, refusal))
    message = (
        f"clevertap: {rule.meaning} (HTTP {http_status}, code {refusal.code}: {refusal.error!r})"
    )
    if rule.error is RateLimited:
        return RateLimited(message, retry_after_s)
    return rule.error(message)


class CleverTapClient:
    """The events export of one CleverTap account, over one ``requests`` session."""

    def __init__(
        self,
        api_url: str,
        account_id: str,
        passcode: SecretStr,
        *,
        batch_size: int = MAX_BATCH_SIZE,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[BaseException, float], None] | None = None,
        timeout_s: float = 60.0,
        session: requests.Session | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be from 1 to {MAX_BATCH_SIZE}, not {batch_size}")
        self.api_url = api_url.rstrip("/")
        self.account_id = account_id
        self.batch_size = batch_size
        self.retry_policy = retry_policy or RetryPolicy()
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._on_retry = on_retry
        metrics.declare_source(SOURCE, ENDPOINTS)
        self._session = session or requests.Session()
        self._session.headers.update(
            {
                "X-CleverTap-Account-Id": account_id,
                "X-CleverTap-Passcode": passcode.get_secret_value(),
            }
        )

    @classmethod
    def from_settings(cls, settings: CleverTapSettings, **options: Any) -> CleverTapClient:
        """A client for the configured account; ConfigurationError when credentials are unset."""
        if not settings.account_id:
            raise ConfigurationError("HEADWATER_CLEVERTAP__ACCOUNT_ID", "is not set")
        if settings.passcode is None or not settings.passcode.get_secret_value():
            raise ConfigurationError("HEADWATER_CLEVERTAP__PASSCODE", "is not set")
        options.setdefault("batch_size", settings.batch_size)
        return cls(settings.api_url, settings.account_id, settings.passcode, **options)

    def close(self) -> None:
        """Release the session's connections."""
        self._session.close()

    def export(self, event_name: str, since: date, until: date) -> Iterator[dict[str, Any]]:
        """Every record of the event in the inclusive range of days, page after page, verbatim."""
        cursor = self.start_export(event_name, since, until)
        seen: set[str] = set()
        while cursor is not None:
            if cursor in seen:
                raise ApiUnavailable(f"clevertap: the export of {event_name!r} repeats a cursor")
            seen.add(cursor)
            page = self.read_page(cursor)
            yield from page.records
            cursor = page.next_cursor or None

    def start_export(self, event_name: str, since: date, until: date) -> str | None:
        """Step 1: the cursor of the export's first page (None: the API has no records)."""
        body = {"event_name": event_name, "from": _yyyymmdd(since), "to": _yyyymmdd(until)}
        started = self._call(
            f"start export of {event_name!r} {since}..{until}",
            ExportStarted,
            "POST",
            "events_export",
            params={"batch_size": self.batch_size},
            json=body,
            # Content-Type only where there is a body: "POST requests also require
            # Content-Type: application/json. Do not include Content-Type on GET requests."
            # (https://developer.clevertap.com/docs/get-user-profiles-api, same API family)
            headers={"Content-Type": "application/json"},
        )
        return started.cursor or None

    def read_page(self, cursor: str) -> EventsPage:
        """Step 2: one page of records and the cursor of the next one."""
        return self._call(
            "read export page", EventsPage, "GET", "events_page", params={"cursor": cursor}
        )

    def _call(
        self, what: str, model: type[ModelT], method: str, endpoint: str, **request: Any
    ) -> ModelT:
        def attempt() -> ModelT:
            with metrics.api_request(SOURCE, endpoint):
                return self._attempt(what, model, method, request)

        return with_retries(
            attempt,
            self.retry_policy,
            f"clevertap {what}",
            sleep=self._sleep,
            on_retry=self._on_retry,
            source=SOURCE,
        )

    def _attempt(
        self, what: str, model: type[ModelT], method: str, request: dict[str, Any]
    ) -> ModelT:
        try:
            response = self._session.request(
                method, self.api_url + EVENTS_PATH, timeout=self.timeout_s, **request
            )
        except (InvalidURL, InvalidSchema, MissingSchema) as error:
            raise ConfigurationError("HEADWATER_CLEVERTAP__API_URL", str(error)) from error
        except requests.RequestException as error:
            raise ApiUnavailable(f"clevertap: {what}: {type(error).__name__}: {error}") from error
        try:
            body = response.json()
        except ValueError as error:
            raise ApiUnavailable(
                f"clevertap: {what}: HTTP {response.status_code} with a body that is not JSON"
            ) from error
        if response.ok and isinstance(body, dict) and body.get("status") == "success":
            try:
                return model.model_validate(body)
            except ValidationError as error:
                raise ApiUnavailable(f"clevertap: {what}: unexpected response: {error}") from error
        raise classify(response.status_code, _refusal(body), _retry_after(response))


def _refusal(body: object) -> Refusal:
    """The refusal a body states; a body of another shape is kept, cut short, as its message."""
    try:
        return Refusal.model_validate(body)
    except ValidationError:
        return Refusal(status="fail", error=str(body)[:200])


def _yyyymmdd(day: date) -> int:
    return int(day.strftime("%Y%m%d"))


def _retry_after(response: requests.Response) -> float | None:
    # CleverTap documents no rate-limit headers; honour a standard Retry-After if one comes.
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
