"""The sandbox's test-only endpoints under ``/__sandbox/``, and the scripted faults they queue.

- ``POST /__sandbox/advance``: the next wave of late events arrives; ``{"epoch"}``.
- ``GET /__sandbox/truth?event_name=Charged&from=YYYYMMDD[&to=YYYYMMDD]``: the records an
  export returns now; ``{"count", "records"}``.
- ``POST /__sandbox/faults`` with ``{"faults": [{"http_status", "error", "code",
  "retry_after_s"}]}``: the next API requests get these refusals, in order.
- ``POST /__sandbox/expire_cursors``: every open cursor expires; ``{"expired"}``.
- ``GET /__sandbox/state``: epoch, today, timezone, events, concurrency.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from sandbox.clevertap.api import MAX_RANGE_DAYS, Reply, fail, parse_day

if TYPE_CHECKING:
    from sandbox.clevertap.server import CleverTapSandbox

CONTROL_PREFIX: Final = "/__sandbox/"


@dataclass(frozen=True)
class Fault:
    """A scripted refusal, returned instead of serving the next API request."""

    http_status: int
    error: str
    code: int | None = None
    retry_after_s: float | None = None

    def reply(self) -> Reply:
        """The refusal in CleverTap's shape (``code`` defaults to the HTTP status)."""
        refusal = fail(self.http_status, self.error, self.code)
        if self.retry_after_s is None:
            return refusal
        return Reply(refusal.status, refusal.body, {"Retry-After": f"{self.retry_after_s:g}"})


def control(
    sandbox: CleverTapSandbox,
    method: str,
    action: str,
    query: Mapping[str, list[str]],
    body: bytes,
) -> Reply:
    """Answer one request to a test-only endpoint (``action`` is the path after the prefix)."""
    if (method, action) == ("POST", "advance"):
        return Reply(200, {"status": "success", "epoch": sandbox.advance()})
    if (method, action) == ("POST", "expire_cursors"):
        return Reply(200, {"status": "success", "expired": sandbox.expire_cursors()})
    if (method, action) == ("POST", "faults"):
        return _queue_faults(sandbox, body)
    if (method, action) == ("GET", "truth"):
        return _truth(sandbox, query)
    if (method, action) == ("GET", "state"):
        return Reply(200, _describe(sandbox))
    return fail(404, f"Not found: {CONTROL_PREFIX}{action}")


def _queue_faults(sandbox: CleverTapSandbox, body: bytes) -> Reply:
    try:
        faults = [Fault(**fault) for fault in json.loads(body)["faults"]]
    except (ValueError, KeyError, TypeError) as error:
        return fail(400, f'expected {{"faults": [{{"http_status", "error", ...}}]}}: {error}')
    sandbox.inject(*faults)
    return Reply(200, {"status": "success", "queued": len(faults)})


def _truth(sandbox: CleverTapSandbox, query: Mapping[str, list[str]]) -> Reply:
    event_name = query.get("event_name", [""])[0]
    since = _query_day(query, "from")
    until = _query_day(query, "to") or since
    if event_name not in sandbox.history.event_names or since is None or until is None:
        return fail(400, "expected ?event_name=<known event>&from=YYYYMMDD[&to=YYYYMMDD]")
    if not 0 <= (until - since).days < MAX_RANGE_DAYS:
        return fail(400, f"Invalid date range: to before from, or over {MAX_RANGE_DAYS} days")
    records: list[dict[str, Any]] = []
    day = since
    while day <= until:
        records.extend(sandbox.truth(event_name, day))
        day += timedelta(days=1)
    return Reply(200, {"status": "success", "count": len(records), "records": records})


def _describe(sandbox: CleverTapSandbox) -> dict[str, Any]:
    return {
        "status": "success",
        "account_id": sandbox.account_id,
        "epoch": sandbox.epoch,
        "today": sandbox.today().isoformat(),
        "timezone": str(sandbox.timezone),
        "utc_offset": datetime.now(sandbox.timezone).strftime("%z"),
        "events": list(sandbox.history.event_names),
        "in_flight": sandbox.in_flight,
        "max_concurrent": sandbox.max_concurrent,
        "open_cursors": sandbox.exports.open_cursors,
    }


def _query_day(query: Mapping[str, list[str]], name: str) -> date | None:
    value = query.get(name, [""])[0]
    return parse_day(int(value)) if value.isdigit() else None
