"""Pydantic models of the Graph API answers the client reads (never of the rows it forwards).

Insights rows themselves are forwarded verbatim and are not modelled here; only what steers
the client is: paging, error bodies, async report runs and the usage headers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Lenient(BaseModel):
    """Graph objects grow new fields over versions; unknown ones are ignored, not fatal."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Cursors(_Lenient):
    """``paging.cursors``: opaque markers of the first and last row of a page."""

    before: str | None = None
    after: str | None = None


class Paging(_Lenient):
    """``paging`` of an edge; ``next`` is absent on the last page."""

    cursors: Cursors | None = None
    next: str | None = None
    previous: str | None = None


class InsightsPage(_Lenient):
    """One page of an insights edge: rows (kept as the raw dicts) and paging."""

    data: list[dict[str, Any]]
    paging: Paging | None = None


class GraphError(_Lenient):
    """The ``error`` object of a Graph API error body."""

    message: str = ""
    type: str | None = None
    code: int | None = None
    error_subcode: int | None = None
    error_user_title: str | None = None
    error_user_msg: str | None = None
    fbtrace_id: str | None = None
    is_transient: bool | None = None


class ErrorBody(_Lenient):
    """``{"error": {...}}``."""

    error: GraphError


class ReportRunCreated(_Lenient):
    """The answer to ``POST act_{id}/insights``."""

    report_run_id: str


class ReportRun(_Lenient):
    """``GET /{report_run_id}``: the state of an async insights job."""

    id: str
    async_status: str
    async_percent_completion: int = 0
    error_code: int | None = None
    error_subcode: int | None = None
    error_message: str | None = None


class BusinessUseCase(_Lenient):
    """One entry of ``x-business-use-case-usage`` (percentages; minutes to regain access)."""

    type: str | None = None
    call_count: float = 0
    total_cputime: float = 0
    total_time: float = 0
    estimated_time_to_regain_access: float = 0


class AppUsage(_Lenient):
    """``x-app-usage`` (percentages of the app's rolling-hour budget)."""

    call_count: float = 0
    total_cputime: float = 0
    total_time: float = 0


class AdAccountUsage(_Lenient):
    """``x-ad-account-usage`` and ``x-fb-ads-insights-throttle`` (percentages)."""

    acc_id_util_pct: float = 0
    app_id_util_pct: float = 0
    reset_time_duration: float = 0


class Usage(_Lenient):
    """Every usage figure of one response, folded to what pacing needs."""

    percent: float = Field(default=0, description="highest utilisation reported, in %")
    regain_access_s: float = Field(default=0, description="longest announced lock-out, in s")


M = TypeVar("M", bound=BaseModel)


def parse_usage(headers: Mapping[str, str]) -> Usage:
    """Fold the usage headers of a response (absent or malformed ones count as 0 %).

    See https://developers.facebook.com/docs/graph-api/overview/rate-limiting/ (header
    contents) and https://developers.facebook.com/docs/marketing-api/overview/rate-limiting.
    """
    percents: list[float] = [0.0]
    regain_minutes = 0.0
    buc = _json_header(headers, "x-business-use-case-usage")
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else []:
                use_case = _model(BusinessUseCase, entry)
                if use_case is not None:
                    percents += [use_case.call_count, use_case.total_cputime, use_case.total_time]
                    regain_minutes = max(regain_minutes, use_case.estimated_time_to_regain_access)
    app = _model(AppUsage, _json_header(headers, "x-app-usage"))
    if app is not None:
        percents += [app.call_count, app.total_cputime, app.total_time]
    for name in ("x-ad-account-usage", "x-fb-ads-insights-throttle"):
        account = _model(AdAccountUsage, _json_header(headers, name))
        if account is not None:
            percents += [account.acc_id_util_pct, account.app_id_util_pct]
    return Usage(percent=max(percents), regain_access_s=regain_minutes * 60)


def _json_header(headers: Mapping[str, str], name: str) -> Any:
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _model(model: type[M], value: Any) -> M | None:
    if not isinstance(value, dict):
        return None
    try:
        return model.model_validate(value)
    except ValidationError:
        return None
