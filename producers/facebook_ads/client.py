"""InsightsClient: the Marketing API's insights edge, synchronous and as async report runs.

Every HTTP call goes through :class:`producers.http.JsonApi`; this client's hooks read the
usage headers (pacing the next call before the platform throttles) and map error bodies to
typed errors (``errors.RULES``); the base retries transient ones. The access token travels
as the ``access_token`` query parameter, as the Graph API expects, and is scrubbed from
every message this module produces.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import requests
from pydantic import BaseModel, ValidationError

from headwater.logs import REDACTED
from producers import metrics
from producers.base import ApiUnavailable, RateLimited, Window
from producers.facebook_ads.errors import ReportRunFailed, ReportRunTimedOut, resolve
from producers.facebook_ads.models import (
    ErrorBody,
    InsightsPage,
    ReportRun,
    ReportRunCreated,
    Usage,
    parse_usage,
)
from producers.http import JsonApi, json_of
from producers.retry import RetryPolicy

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Pacing:
    """How the client slows down as reported usage approaches the platform's limit."""

    slow_down_above_pct: float = 75.0
    max_pause_s: float = 60.0

    def pause_s(self, usage: Usage) -> float:
        """Seconds to wait before the next call: 0 below the threshold, then proportional."""
        if usage.percent < self.slow_down_above_pct:
            return 0.0
        headroom = max(100.0 - self.slow_down_above_pct, 1e-9)
        fraction = min(1.0, (usage.percent - self.slow_down_above_pct) / headroom)
        return max(self.max_pause_s * fraction, 0.0)


@dataclass(frozen=True)
class ReportRunPolicy:
    """How often and how long to poll an async report run."""

    first_poll_s: float = 2.0
    max_poll_s: float = 30.0
    timeout_s: float = 1800.0


class InsightsClient(JsonApi[JsonObject]):
    """Typed access to ``act_{id}/insights``; ``usage_pct`` is the last usage reported."""

    source = "facebook_ads"
    #: The ``endpoint`` label of each kind of request.
    endpoints = ("insights", "report_run", "report_status", "report_results")
    url_setting = "HEADWATER_FACEBOOK__GRAPH_URL"

    def __init__(
        self,
        graph_url: str,
        api_version: str,
        access_token: str,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 60.0,
        on_retry: Callable[[BaseException, float], None] | None = None,
        pacing: Pacing | None = None,
        report_runs: ReportRunPolicy | None = None,
        page_size: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            session=session, retry=retry, sleep=sleep, timeout_s=timeout_s, on_retry=on_retry
        )
        self._base = f"{graph_url.rstrip('/')}/{api_version}"
        self._token = access_token
        self._pacing = pacing or Pacing()
        self._report_runs = report_runs or ReportRunPolicy()
        self._page_size = page_size
        self._clock = clock
        self._usage = Usage()
        self._throttled = False
        self.usage_pct = 0.0
        self.requests_sent = 0
        self.paused_s = 0.0

    def insights(
        self, account_id: str, window: Window, fields: Sequence[str], level: str = "ad"
    ) -> Iterator[JsonObject]:
        """Every daily row of the window, synchronously, following ``paging.next``."""
        params = self._query(window, fields, level)
        yield from self._pages(
            self._url(f"act_{account_id}/insights"), params, "insights", "insights"
        )

    def insights_report(
        self, account_id: str, window: Window, fields: Sequence[str], level: str = "ad"
    ) -> Iterator[JsonObject]:
        """Every daily row of the window through async report runs, halving failed windows."""
        try:
            run_id = self._run_report(account_id, window, fields, level)
        except ReportRunFailed as error:
            if window.since == window.until:
                raise
            first, second = halves(window)
            log.warning(
                "report run failed; splitting the window",
                extra={"account": account_id, "window": window.as_dict(), "error": str(error)},
            )
            yield from self.insights_report(account_id, first, fields, level)
            yield from self.insights_report(account_id, second, fields, level)
            return
        params = {"limit": str(self._page_size)}
        yield from self._pages(
            self._url(f"{run_id}/insights"), params, "report results", "report_results"
        )

    def _run_report(
        self, account_id: str, window: Window, fields: Sequence[str], level: str
    ) -> str:
        """Start a report run and wait until it completed; its id."""
        form = self._query(window, fields, level)
        url = self._url(f"act_{account_id}/insights")
        body = self._call("POST", url, form, "report run", "report_run", form=True)
        run_id = _parse(ReportRunCreated, body, "report run").report_run_id
        self._wait(run_id, window)
        return run_id

    def _wait(self, run_id: str, window: Window) -> None:
        """Poll the run with growing intervals until ``Job Completed`` at 100 %.

        ``async_percent_completion`` can read 100 while the status still says ``Job Running``;
        only ``Job Completed`` means the results can be read
        (https://developers.facebook.com/docs/marketing-api/insights/best-practices/).
        """
        policy = self._report_runs
        deadline = self._clock() + policy.timeout_s
        delay = policy.first_poll_s
        while True:
            status = self._call("GET", self._url(run_id), {}, "report run", "report_status")
            run = _parse(ReportRun, status, "run")
            if run.async_status == "Job Completed" and run.async_percent_completion >= 100:
                return
            if run.async_status in ("Job Failed", "Job Skipped"):
                raise ReportRunFailed(
                    f"report run {run_id} for {window.since}..{window.until}: "
                    f"{run.async_status}: {run.error_message or 'no reason given'} "
                    f"(code {run.error_code}, subcode {run.error_subcode})",
                    run.error_code,
                    run.error_subcode,
                )
            if self._clock() + delay > deadline:
                raise ReportRunTimedOut(
                    f"report run {run_id} still {run.async_status} "
                    f"({run.async_percent_completion} %) after {policy.timeout_s:.0f} s"
                )
            self._sleep(delay)
            delay = min(delay * 2, policy.max_poll_s)

    def _pages(
        self, url: str, params: Mapping[str, str], what: str, endpoint: str
    ) -> Iterator[JsonObject]:
        """Rows of every page, following ``paging.next`` until it is absent."""
        seen: set[str] = set()
        next_url: str | None = url
        query: Mapping[str, str] = params
        while next_url is not None:
            page = _parse(InsightsPage, self._call("GET", next_url, query, what, endpoint), what)
            yield from page.data
            paging = page.paging
            next_url = paging.next if paging is not None else None
            after = paging.cursors.after if paging and paging.cursors else None
            if next_url is not None and after is not None:
                if after in seen:
                    raise ApiUnavailable(f"{what}: paging returned cursor {after!r} twice")
                seen.add(after)
            query = {}  # the next URL carries every parameter

    def _call(
        self,
        method: str,
        url: str,
        params: Mapping[str, str],
        what: str,
        endpoint: str,
        form: bool = False,
    ) -> JsonObject:
        """One API call, retried on transient errors; the token rides in the query string."""
        query = dict({} if form else params)
        if "access_token" not in parse_qs(urlsplit(url).query):
            query["access_token"] = self._token
        data = dict(params) if form else None
        return self.call(what, endpoint, method, url, params=query, data=data)

    def settle(self, response: requests.Response, what: str) -> JsonObject:
        """Read the usage headers (for pacing), then the body or the error it means."""
        self.requests_sent += 1
        self._usage = parse_usage(response.headers)
        self.usage_pct = self._usage.percent
        metrics.API_USAGE.labels(self.source).set(self.usage_pct)
        body = _json(response)
        if response.status_code < 400 and isinstance(body, dict) and "error" not in body:
            return body
        if response.status_code < 400 and not isinstance(body, dict):
            raise ApiUnavailable(f"{what}: HTTP {response.status_code} without a JSON object")
        raise self._error(response, _error(body), what)

    def _error(self, response: requests.Response, body: ErrorBody | None, what: str) -> Exception:
        retry_after = self._usage.regain_access_s or _retry_after(response) or None
        error = resolve(response.status_code, body.error if body else None, retry_after)
        error.args = (f"{what}: {self.redact(str(error))}",)
        self._throttled = isinstance(error, RateLimited)
        return error

    def pace(self) -> None:
        """Sleep in proportion to the last reported usage, unless a retry already waited."""
        if self._throttled:
            self._throttled = False
            return
        pause = self._pacing.pause_s(self._usage)
        if pause > 0:
            log.info(
                "API usage high; slowing down",
                extra={"usage_pct": self._usage.percent, "pause_s": round(pause, 2)},
            )
            self.paused_s += pause
            metrics.slept(self.source, "pacing", pause)
            self._sleep(pause)

    def redact(self, text: str) -> str:
        """``text`` without the access token (it travels in every URL)."""
        return text.replace(self._token, REDACTED) if self._token else text

    def _query(self, window: Window, fields: Sequence[str], level: str) -> dict[str, str]:
        return {
            "level": level,
            "fields": ",".join(fields),
            "time_range": json.dumps(window.as_dict(), separators=(",", ":")),
            "time_increment": "1",
            "limit": str(self._page_size),
        }

    def _url(self, path: str) -> str:
        return f"{self._base}/{path}"


def halves(window: Window) -> tuple[Window, Window]:
    """The window cut in two consecutive halves (the first one longer by a day at most)."""
    days = (window.until - window.since).days + 1
    middle = window.since + timedelta(days=(days + 1) // 2 - 1)
    return Window(window.since, middle), Window(middle + timedelta(days=1), window.until)


def _json(response: requests.Response) -> Any:
    try:
        return json_of(response)
    except ValueError:
        return None


def _error(body: Any) -> ErrorBody | None:
    if not isinstance(body, dict):
        return None
    try:
        return ErrorBody.model_validate(body)
    except ValidationError:
        return None


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _parse(model: type[M], body: JsonObject, what: str) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise ApiUnavailable(f"{what}: unexpected answer: {error}") from error
