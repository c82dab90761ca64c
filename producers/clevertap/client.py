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
from datetime import date
from typing import Any, Final, TypeVar

import requests
from pydantic import BaseModel, SecretStr, ValidationError

from headwater.errors import ConfigurationError, Terminal
from headwater.settings import CleverTapSettings
from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    RateLimited,
    SourceError,
)
from producers.clevertap.models import ErrorBody, EventsPage, ExportStarted
from producers.http import ErrorRule, JsonApi, Refusal, first_match, json_of
from producers.retry import RetryPolicy

EVENTS_PATH: Final = "/1/events.json"
MAX_BATCH_SIZE: Final = 5_000  # "The maximum is 5000." (get-events-api)
CREDENTIAL_SETTINGS: Final = "HEADWATER_CLEVERTAP__ACCOUNT_ID and HEADWATER_CLEVERTAP__PASSCODE"

JsonObject = dict[str, Any]
ModelT = TypeVar("ModelT", bound=BaseModel)


class CursorExpired(SourceError, Terminal):
    """The export's cursor is no longer served: this request cannot succeed again.

    Terminal for the request (retrying the same cursor is pointless); the source restarts the
    whole export of that event and day instead, a bounded number of times.
    """


def _either(
    error: type[SourceError], meaning: str, statuses: range, message: str | None = None
) -> tuple[ErrorRule, ErrorRule]:
    """The same rule on the HTTP status and on the body's ``code``."""
    return (
        ErrorRule(error, meaning, http=statuses, message=message),
        ErrorRule(error, meaning, codes=statuses, message=message),
    )


_EXPIRED = "the export's cursor expired: restart the export"
_CONCURRENCY = "too many concurrent requests: back off"
_CREDENTIALS = f"the API refused the credentials; check {CREDENTIAL_SETTINGS}"
_FORBIDDEN = f"the operation is not allowed for this account; check {CREDENTIAL_SETTINGS}"
_SERVER = "the API failed"
_BAD_REQUEST = "the API refused the request (event name, date range or batch size)"
_UNKNOWN = ErrorRule(ApiUnavailable, "the API answered with an unknown refusal")

# First match wins. CleverTap answers most refusals with the HTTP status and the same code in
# the body, but a body with "status": "fail" is a refusal whatever the HTTP status (even 200),
# so every row on the HTTP status has a twin on the body's code.
ERROR_TABLE: Final[tuple[ErrorRule, ...]] = (
    # Not documented by CleverTap; the sandbox answers 400 "Cursor expired or invalid".
    *_either(CursorExpired, _EXPIRED, range(400, 500), message="cursor"),
    # Limits are on concurrency only: 429 "Too many concurrent requests"
    # (https://developer.clevertap.com/docs/api-request-limit), no time windows, no headers.
    *_either(RateLimited, _CONCURRENCY, range(429, 430)),
    ErrorRule(RateLimited, _CONCURRENCY, message="too many concurrent requests"),
    # 401 "Invalid credentials or URL", 403 "Operation is not allowed" (api-errors).
    *_either(AuthenticationFailed, _CREDENTIALS, range(401, 402)),
    *_either(AuthenticationFailed, _FORBIDDEN, range(403, 404)),
    ErrorRule(ApiUnavailable, "the request timed out at the API", http=range(408, 409)),
    *_either(ApiUnavailable, _SERVER, range(500, 600)),
    *_either(InvalidRequest, _BAD_REQUEST, range(400, 500)),
    # A refusal that fits nothing above (a "fail" body without a known code): retry, bounded.
    _UNKNOWN,
)


def classify(http_status: int, body: ErrorBody, retry_after_s: float | None = None) -> SourceError:
    """The typed error a refusal means, by the first matching row of :data:`ERROR_TABLE`."""
    codes = () if body.code is None else (body.code,)
    refusal = Refusal(http=http_status, codes=codes, message=body.error)
    rule = first_match(ERROR_TABLE, refusal) or _UNKNOWN
    message = f"clevertap: {rule.meaning} (HTTP {http_status}, code {body.code}: {body.error!r})"
    return rule.error_for(message, retry_after_s)


class CleverTapClient(JsonApi[JsonObject]):
    """The events export of one CleverTap account, over one ``requests`` session."""

    source = "clevertap"
    #: The ``endpoint`` label of each kind of request.
    endpoints = ("events_export", "events_page")
    url_setting = "HEADWATER_CLEVERTAP__API_URL"

    def __init__(
        self,
        api_url: str,
        account_id: str,
        passcode: SecretStr,
        *,
        batch_size: int = MAX_BATCH_SIZE,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 60.0,
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be from 1 to {MAX_BATCH_SIZE}, not {batch_size}")
        super().__init__(
            session=session, retry=retry, sleep=sleep, timeout_s=timeout_s, on_retry=on_retry
        )
        self.api_url = api_url.rstrip("/")
        self.account_id = account_id
        self.batch_size = batch_size
        self.session.headers.update(
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

    def settle(self, response: requests.Response, what: str) -> JsonObject:
        """A ``"status": "success"`` body; any other answer raises the error it means."""
        try:
            body = json_of(response)
        except ValueError as error:
            raise ApiUnavailable(
                f"clevertap: {what}: HTTP {response.status_code} with a body that is not JSON"
            ) from error
        if response.ok and isinstance(body, dict) and body.get("status") == "success":
            return body
        raise classify(response.status_code, _error_body(body), _retry_after(response))

    def _call(
        self, what: str, model: type[ModelT], method: str, endpoint: str, **request: Any
    ) -> ModelT:
        """One request of the export, retried; an unexpected success body is retried too."""
        url = self.api_url + EVENTS_PATH

        def attempt() -> ModelT:
            body = self.once(what, endpoint, method, url, **request)
            try:
                return model.model_validate(body)
            except ValidationError as error:
                raise ApiUnavailable(f"clevertap: {what}: unexpected response: {error}") from error

        return self.retried(attempt, what)


def _error_body(body: object) -> ErrorBody:
    """The refusal a body states; a body of another shape is kept, cut short, as its message."""
    try:
        return ErrorBody.model_validate(body)
    except ValidationError:
        return ErrorBody(status="fail", error=str(body)[:200])


def _yyyymmdd(day: date) -> int:
    return int(day.strftime("%Y%m%d"))


def _retry_after(response: requests.Response) -> float | None:
    # CleverTap documents no rate-limit headers; honour a standard Retry-After if one comes.
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
