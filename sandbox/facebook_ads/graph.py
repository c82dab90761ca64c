"""What the sandbox answers: insights queries, their pages, and async report runs.

Wire formats follow https://developers.facebook.com/docs/graph-api/results/ (cursor paging) and
https://developers.facebook.com/docs/marketing-api/insights/best-practices/ (report runs).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from sandbox.facebook_ads.data import FIELDS, LEVEL_FIELDS, Row
from sandbox.facebook_ads.errors import invalid

DEFAULT_LIMIT = 25
OLDEST_DAYS = 37 * 30  # insights older than about 37 months are not served
INSIGHTS_FIELDS_DOC = "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/"


@dataclass(frozen=True)
class InsightsQuery:
    """The parameters of an insights request that decide its rows."""

    level: str
    fields: tuple[str, ...]
    since: date
    until: date
    limit: int

    @property
    def days(self) -> int:
        """Days in the time range."""
        return (self.until - self.since).days + 1


def parse_query(params: Mapping[str, str], today: date) -> InsightsQuery:
    """Validate ``level``, ``fields``, ``time_range``, ``time_increment`` and ``limit``."""
    level = params.get("level", "account")
    if level not in LEVEL_FIELDS:
        raise invalid("level must be one of the following values: ad, adset, campaign, account")
    fields = tuple(f.strip() for f in params.get("fields", "impressions,spend").split(",") if f)
    for name in fields:
        if name not in FIELDS:
            raise invalid(
                f"{name} is not valid for fields param. please check {INSIGHTS_FIELDS_DOC} "
                "for all valid values"
            )
    if params.get("time_increment", "1") != "1":
        raise invalid("the sandbox serves time_increment=1 (daily rows) only")
    since, until = _time_range(params.get("time_range"), today)
    if since > until:
        raise invalid("time_range: since must be on or before until")
    if (today - since).days > OLDEST_DAYS:
        raise invalid(f"time_range: {since} is more than 37 months ago and is not served")
    try:
        limit = int(params.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise invalid("limit must be an integer") from None
    if limit < 1:
        raise invalid("limit must be positive")
    return InsightsQuery(level, fields, since, until, limit)


def _time_range(raw: str | None, today: date) -> tuple[date, date]:
    if raw is None:  # the API's default date_preset is last_30d
        return today - timedelta(days=30), today - timedelta(days=1)
    try:
        value = json.loads(raw)
        return date.fromisoformat(value["since"]), date.fromisoformat(value["until"])
    except (ValueError, KeyError, TypeError):
        raise invalid('time_range must be {"since":"YYYY-MM-DD","until":"YYYY-MM-DD"}') from None


def page(rows: list[Row], params: Mapping[str, str], link: str, limit: int) -> dict[str, Any]:
    """One page of rows with cursors, ``previous`` and (unless it is the last) ``next``."""
    start = 0
    if "after" in params:
        start = _decode(params["after"]) + 1
    elif "before" in params:
        start = max(0, _decode(params["before"]) - limit)
    chunk = rows[start : start + limit]
    body: dict[str, Any] = {"data": chunk}
    if not chunk:
        return body
    end = start + len(chunk)
    paging: dict[str, Any] = {"cursors": {"before": _encode(start), "after": _encode(end - 1)}}
    rest = {k: v for k, v in params.items() if k not in ("after", "before")}
    if start > 0:
        paging["previous"] = f"{link}?{urlencode({**rest, 'before': _encode(start)})}"
    if end < len(rows):
        paging["next"] = f"{link}?{urlencode({**rest, 'after': _encode(end - 1)})}"
    body["paging"] = paging
    return body


def _encode(index: int) -> str:
    return base64.b64encode(str(index).encode()).decode()


def _decode(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor, validate=True).decode())
    except (ValueError, binascii.Error):
        raise invalid(f"invalid cursor {cursor!r}") from None


# (status, percent) a report run shows on successive polls: 100 % is reached while the job
# still says "Job Running", which is why clients must wait for "Job Completed".
JOB_STEPS: tuple[tuple[str, int], ...] = (
    ("Job Not Started", 0),
    ("Job Started", 0),
    ("Job Running", 42),
    ("Job Running", 100),
    ("Job Completed", 100),
)
FAILED_AT_STEP = 3
JOB_FAILURE = (-2, 2490547, "Report Failed: generating the report failed. Try again later.")


@dataclass
class ReportJob:
    """An async report run: its query, how often it was polled, its rows once completed."""

    id: str
    account: str
    query: InsightsQuery
    fails: bool
    created_at: int
    polls: int = 0
    rows: list[Row] | None = field(default=None, repr=False)

    def advance(self) -> tuple[str, int]:
        """The status this poll shows, moving the job one step on."""
        step = self.polls
        self.polls += 1
        if self.fails and step >= FAILED_AT_STEP:
            return "Job Failed", JOB_STEPS[FAILED_AT_STEP - 1][1]
        return JOB_STEPS[min(step, len(JOB_STEPS) - 1)]

    def status(self, async_status: str, percent: int) -> dict[str, Any]:
        """The ``GET /{report_run_id}`` object."""
        body: dict[str, Any] = {
            "id": self.id,
            "account_id": self.account,
            "time_ref": self.created_at,
            "async_status": async_status,
            "async_percent_completion": percent,
            "date_start": self.query.since.isoformat(),
            "date_stop": self.query.until.isoformat(),
            "is_running": async_status in ("Job Started", "Job Running"),
            "emails": [],
            "friendly_name": "",
            "schedule_id": "0",
        }
        if async_status == "Job Completed":
            body["time_completed"] = self.created_at
        if async_status == "Job Failed":
            code, subcode, message = JOB_FAILURE
            body.update(error_code=code, error_subcode=subcode, error_message=message)
        return body
