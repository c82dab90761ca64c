"""The sandbox's Get Events API: credentials, validation, the two-step cursor export, errors.

Wire format of https://developer.clevertap.com/docs/get-events-api: ``POST
/1/events.json?batch_size=N`` with ``{"event_name", "from", "to"}`` (dates as integers
YYYYMMDD) returns ``{"status": "success", "cursor"}``; ``GET /1/events.json?cursor=...``
returns ``{"status": "success", "records", "next_cursor"}``, without ``next_cursor`` on the
last page. Refusals are ``{"status": "fail", "error", "code"}`` with the matching HTTP status
(https://developer.clevertap.com/docs/api-errors).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sandbox.clevertap.data import EventHistory
from sandbox.clevertap.exports import ExportStore

EVENTS_PATH: Final = "/1/events.json"
MAX_BATCH_SIZE: Final = 5_000  # "The maximum is 5000." (get-events-api)
DEFAULT_BATCH_SIZE: Final = 10
# A guard of the sandbox, not a documented CleverTap limit: it generates each day on demand.
MAX_RANGE_DAYS: Final = 366


@dataclass(frozen=True)
class Reply:
    """An HTTP status, a JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


def fail(status: int, error: str, code: int | None = None) -> Reply:
    """CleverTap's error shape, with the same code in the body as the HTTP status by default."""
    return Reply(
        status, {"status": "fail", "error": error, "code": status if code is None else code}
    )


def parse_day(value: object) -> date | None:
    """A date given as an integer YYYYMMDD, as CleverTap takes it; None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    try:
        return datetime.strptime(str(value), "%Y%m%d").date()
    except ValueError:
        return None


class EventsApi:
    """``/1/events.json`` of one account: authenticates, validates, and pages exports."""

    def __init__(
        self,
        history: EventHistory,
        exports: ExportStore,
        account_id: str,
        passcode: str,
        epoch: Callable[[], int],
        today: Callable[[], date],
    ) -> None:
        self.history = history
        self.exports = exports
        self.account_id = account_id
        self.passcode = passcode
        self.epoch = epoch
        self.today = today

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        """Answer one request to the API; ``headers`` have lower-case names."""
        if not self._authenticated(headers):
            return fail(401, "Invalid credentials")
        if path != EVENTS_PATH:
            return fail(404, f"Not found: {path}")
        if method == "POST":
            return self._open_export(query, body)
        if method == "GET":
            return self._read_page(query)
        return fail(405, f"Method {method} not allowed")

    def _authenticated(self, headers: Mapping[str, str]) -> bool:
        account = headers.get("x-clevertap-account-id", "")
        passcode = headers.get("x-clevertap-passcode", "")
        return hmac.compare_digest(account.encode(), self.account_id.encode()) and (
            hmac.compare_digest(passcode.encode(), self.passcode.encode())
        )

    def _open_export(self, query: Mapping[str, list[str]], body: bytes) -> Reply:
        raw_batch = query.get("batch_size", [str(DEFAULT_BATCH_SIZE)])[0]
        if not raw_batch.isdigit() or not 1 <= int(raw_batch) <= MAX_BATCH_SIZE:
            return fail(400, f"batch_size must be an integer from 1 to {MAX_BATCH_SIZE}")
        try:
            request = json.loads(body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return fail(400, "Invalid JSON payload")
        if not isinstance(request, dict):
            return fail(400, "Invalid JSON payload")
        event_name = request.get("event_name")
        if not isinstance(event_name, str) or not event_name:
            return fail(400, "event_name is required")
        if event_name not in self.history.event_names:
            return fail(400, f"Event name is invalid: {event_name}")
        since, until = parse_day(request.get("from")), parse_day(request.get("to"))
        if since is None or until is None:
            return fail(400, "from and to are required, as dates formatted as integers YYYYMMDD")
        if since > until:
            return fail(
                400, f"Invalid date range: from {request['from']} is after to {request['to']}"
            )
        if (until - since).days >= MAX_RANGE_DAYS:
            return fail(400, f"Invalid date range: longer than {MAX_RANGE_DAYS} days")
        epoch, today = self.epoch(), self.today()
        records: list[dict[str, Any]] = []
        day = since
        while day <= until:
            records.extend(self.history.visible(event_name, day, epoch, today))
            day += timedelta(days=1)
        return Reply(
            200, {"status": "success", "cursor": self.exports.open(records, int(raw_batch))}
        )

    def _read_page(self, query: Mapping[str, list[str]]) -> Reply:
        cursor = query.get("cursor", [""])[0]
        if not cursor:
            return fail(400, "cursor is required")
        page = self.exports.page(cursor)
        if page is None:
            # CleverTap does not document how it refuses an expired cursor; the sandbox answers
            # with its usual 400 shape and a message that names the cursor.
            return fail(400, "Cursor expired or invalid")
        body: dict[str, Any] = {"status": "success", "records": page.records}
        if page.next_cursor is not None:
            body["next_cursor"] = page.next_cursor
        return Reply(200, body)
