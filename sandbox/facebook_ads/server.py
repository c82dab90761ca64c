"""FacebookSandbox: a local Graph API serving Marketing API insights, faithful on the wire.

Serves ``/{version}/act_{id}/insights`` (GET: synchronous, paged; POST: an async report
run), ``/{version}/{report_run_id}`` and ``/{version}/{report_run_id}/insights``, with usage
headers on every response and a throttle once an account spends its call budget. Test-only
endpoints live under ``/__sandbox/``: ``POST restate``, ``GET truth``, ``GET usage``,
``POST reset``.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sandbox.facebook_ads.data import InsightsData, Row, account_number, aggregate, project
from sandbox.facebook_ads.errors import (
    GraphApiError,
    deprecated_version,
    expired_token,
    invalid,
    missing_token,
    request_timed_out,
    throttled,
    unknown_object,
)
from sandbox.facebook_ads.graph import InsightsQuery, ReportJob, page, parse_query
from sandbox.facebook_ads.handler import Reply, handler_for
from sandbox.facebook_ads.usage import UsageMeter
from sandbox.http_server import HttpSandbox

log = logging.getLogger(__name__)

_VERSION = re.compile(r"^v\d+\.\d+$")
_ACCOUNT = re.compile(r"^act_\d+$")
_JOB_ID = re.compile(r"^\d{16}$")
MAX_JOBS = 1000
CACHED_QUERIES = 64


def _utc_today() -> date:
    return datetime.now(UTC).date()


class FacebookSandbox(HttpSandbox):
    """The Graph API stand-in (SandboxServer); its constructor knobs make faults easy to provoke."""

    name = "facebook_ads"

    def __init__(
        self,
        seed: int,
        host: str = "127.0.0.1",
        port: int = 0,
        today: Callable[[], date] | None = None,
        *,
        access_token: str = "sandbox-token",  # noqa: S107 - the stand-in's own token
        api_versions: Collection[str] = ("v21.0", "v22.0", "v23.0", "v24.0"),
        invalid_accounts: Collection[str] = ("act_0",),
        call_budget: int = 600,
        budget_window_s: float = 300.0,
        throttle_error: tuple[int, int] = (80000, 2446079),
        max_async_days: int = 60,
        max_sync_days: int | None = None,
        adsets_per_campaign: int = 2,
        ads_per_adset: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            host,
            port,
            handler_for(self),
            thread_name="facebook-sandbox",
            not_started="the sandbox picks its port when it starts: start() it first",
        )
        self.today = today or _utc_today
        self.access_token = access_token
        self.api_versions = frozenset(api_versions)
        self.invalid_accounts = frozenset(invalid_accounts)
        self.throttle_error = throttle_error
        self.max_async_days = max_async_days
        self.max_sync_days = max_sync_days
        self.data = InsightsData(seed, adsets_per_campaign, ads_per_adset)
        self.meter = UsageMeter(call_budget, budget_window_s, clock)
        self.epoch = 0
        self.calls = 0
        self._jobs: dict[str, ReportJob] = {}
        self._cache: dict[tuple[object, ...], list[Row]] = {}
        self._job_ids = itertools.count(6_000_000_000_000_001)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The base URL for HEADWATER_FACEBOOK__GRAPH_URL; on a fixed port, known before start()."""
        if self.bound_port is None and self.port:
            return f"{self.scheme}://{self.host}:{self.port}"
        return super().url

    def restate(self) -> int:
        """Start a new restatement epoch: the last 28 days' values change."""
        with self._lock:
            self.epoch += 1
            return self.epoch

    def truth(self, account: str, day: date) -> list[Row]:
        """Every ad-level row of the account's day, all fields, as served now."""
        return self.data.rows(account, day, day, self.today(), self.epoch)

    def handle(
        self, method: str, path: str, params: Mapping[str, str], token: str | None = None
    ) -> Reply:
        """Answer one request (token from ``access_token`` unless given): status, body, headers."""
        token = params.get("access_token") or token
        if path.startswith("/__sandbox/"):
            return self._sandbox_endpoint(method, path.removeprefix("/__sandbox/"), params)
        account: str | None = None
        segments = [s for s in path.split("/") if s]
        version = segments[0] if segments else ""
        try:
            if not _VERSION.match(version) or version not in self.api_versions:
                raise deprecated_version(sorted(self.api_versions)[-1])
            self._authenticate(token)
            account, job, edge = self._route(segments[1:])
            with self._lock:
                self.calls += 1
            self._admit(account)
            link = f"{self.url}{path}"
            if job is None and method == "GET":
                body: Any = self._insights(account, params, link)
            elif job is None and method == "POST":
                body = self._create_job(account, params)
            elif job is not None and method == "GET" and edge:
                body = self._job_results(job, params, link)
            elif job is not None and method == "GET":
                body = self._job_status(job)
            else:
                raise invalid(f"unsupported method {method} on {path}")
            status, headers = 200, {}
        except GraphApiError as error:
            status, body, headers = error.status, error.body(), error.headers
        headers = {**self.meter.headers(account), **headers}
        if version in self.api_versions:
            headers["facebook-api-version"] = version
        return status, body, headers

    def _authenticate(self, token: str | None) -> None:
        if not token:
            raise missing_token()
        if token != self.access_token:
            raise expired_token()

    def _route(self, rest: list[str]) -> tuple[str, ReportJob | None, bool]:
        """(account number, report job or None, whether the insights edge of a job)."""
        if len(rest) == 2 and rest[1] == "insights" and rest[0].startswith("act_"):
            if not _ACCOUNT.match(rest[0]) or rest[0] in self.invalid_accounts:
                raise unknown_object(rest[0])
            return account_number(rest[0]), None, False
        if len(rest) in (1, 2) and _JOB_ID.match(rest[0]) and rest[1:] in ([], ["insights"]):
            job = self._jobs.get(rest[0])
            if job is None:
                raise unknown_object(rest[0])
            return job.account, job, len(rest) == 2
        raise unknown_object("/".join(rest) or "/")

    def _admit(self, account: str) -> None:
        if self.meter.admit(account):
            return
        raise throttled(*self.throttle_error)

    def _insights(self, account: str, params: Mapping[str, str], link: str) -> dict[str, Any]:
        query = parse_query(params, self.today())
        if self.max_sync_days is not None and query.days > self.max_sync_days:
            raise request_timed_out()
        return page(self._rows(account, query), params, link, query.limit)

    def _rows(self, account: str, query: InsightsQuery) -> list[Row]:
        """The query's rows as of now, kept while paging through them (same epoch and day)."""
        today, epoch = self.today(), self.epoch
        key = (account, query.level, query.fields, query.since, query.until, today, epoch)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        rows = self.data.rows(account, query.since, query.until, today, epoch)
        projected = [project(row, query.fields) for row in aggregate(rows, query.level)]
        with self._lock:
            if len(self._cache) >= CACHED_QUERIES:
                self._cache.clear()
            self._cache[key] = projected
        return projected

    def _create_job(self, account: str, params: Mapping[str, str]) -> dict[str, str]:
        query = parse_query(params, self.today())
        with self._lock:
            job_id = str(next(self._job_ids))
            fails = query.days > self.max_async_days
            self._jobs[job_id] = ReportJob(job_id, account, query, fails, int(time.time()))
            while len(self._jobs) > MAX_JOBS:
                del self._jobs[next(iter(self._jobs))]
        return {"report_run_id": job_id}

    def _job_status(self, job: ReportJob) -> dict[str, Any]:
        with self._lock:
            async_status, percent = job.advance()
        if async_status == "Job Completed" and job.rows is None:
            job.rows = self._rows(job.account, job.query)  # the report is a snapshot
        return job.status(async_status, percent)

    def _job_results(self, job: ReportJob, params: Mapping[str, str], link: str) -> dict[str, Any]:
        if job.rows is None:
            raise invalid(f"report run {job.id} has not completed: poll it until Job Completed")
        limit = params.get("limit", str(job.query.limit))
        return page(job.rows, params, link, int(limit) if limit.isdigit() else job.query.limit)

    def _sandbox_endpoint(self, method: str, name: str, params: Mapping[str, str]) -> Reply:
        if method == "POST" and name == "restate":
            return 200, {"epoch": self.restate()}, {}
        if method == "POST" and name == "reset":
            self.meter.reset()
            return 200, {"reset": True}, {}
        if method == "GET" and name == "usage":
            accounts = params.get("account", "")
            usage = {a: self.meter.percent(account_number(a)) for a in accounts.split(",") if a}
            return 200, {"epoch": self.epoch, "calls": self.calls, "usage_pct": usage}, {}
        if method == "GET" and name == "truth":
            try:
                account = account_number(params["account"])
                since, until = (
                    date.fromisoformat(params["since"]),
                    date.fromisoformat(params["until"]),
                )
            except (KeyError, ValueError):
                return 400, {"error": "truth needs account, since and until (YYYY-MM-DD)"}, {}
            rows = self.data.rows(account, since, until, self.today(), self.epoch)
            return 200, {"epoch": self.epoch, "data": rows}, {}
        return 404, {"error": f"no sandbox endpoint {method} /__sandbox/{name}"}, {}
