"""Graph API errors as data: (HTTP status, code, subcode) to the typed error to raise.

The codes and their meaning come from
https://developers.facebook.com/docs/graph-api/guides/error-handling (1, 2, 4, 17, 102,
190, 200-299), https://developers.facebook.com/docs/marketing-api/overview/rate-limiting
(17/2446079, 613/1487742, 80000-80014 business use case throttles) and
https://developers.facebook.com/docs/marketing-api/insights/error-codes (insights subcodes).
Throttles arrive as HTTP 400, not 429, so the status alone decides nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    RateLimited,
    SourceError,
)
from producers.facebook_ads.models import GraphError

TOKEN_SETTING = "HEADWATER_FACEBOOK__ACCESS_TOKEN"  # noqa: S105 - a setting name
VERSION_SETTING = "HEADWATER_FACEBOOK__API_VERSION"
ACCOUNTS_SETTING = "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS"


class TooMuchData(InvalidRequest):
    """A synchronous request asked for more than the API will compute inline: use a report run."""


class ReportRunFailed(ApiUnavailable):
    """An async report run ended as ``Job Failed`` or ``Job Skipped``."""

    def __init__(self, message: str, code: int | None, subcode: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode


class ReportRunTimedOut(ApiUnavailable):
    """An async report run did not complete within the client's timeout."""


ANY = None


@dataclass(frozen=True)
class ErrorRule:
    """One row of the table: what to match (None matches anything) and what to raise."""

    codes: Collection[int] | None
    subcodes: Collection[int] | None
    statuses: Collection[int] | None
    error: type[SourceError]
    meaning: str

    def matches(self, status: int, code: int | None, subcode: int | None) -> bool:
        """Whether this rule applies to the response."""
        return (
            (self.codes is None or code in self.codes)
            and (self.subcodes is None or subcode in self.subcodes)
            and (self.statuses is None or status in self.statuses)
        )


# First match wins: specific subcodes before their code's general rule.
RULES: tuple[ErrorRule, ...] = (
    ErrorRule({100}, {1504018}, ANY, TooMuchData, "request timed out: window too large"),
    ErrorRule({2}, {1504038}, ANY, TooMuchData, "request timed out: window too large"),
    ErrorRule({4}, ANY, ANY, RateLimited, "application request limit reached"),
    ErrorRule({17}, ANY, ANY, RateLimited, "user request limit reached"),
    ErrorRule({32}, ANY, ANY, RateLimited, "page request limit reached"),
    ErrorRule({613}, ANY, ANY, RateLimited, "too many calls from this ad account"),
    ErrorRule(range(80000, 80015), ANY, ANY, RateLimited, "business use case throttle"),
    ErrorRule(
        {190, 102},
        ANY,
        ANY,
        AuthenticationFailed,
        f"access token invalid or expired: set {TOKEN_SETTING}",
    ),
    ErrorRule({104}, ANY, ANY, AuthenticationFailed, f"access token missing: set {TOKEN_SETTING}"),
    ErrorRule(
        {10, *range(200, 300)},
        ANY,
        ANY,
        AuthenticationFailed,
        f"permission denied: the token of {TOKEN_SETTING} lacks ads_read on the account",
    ),
    ErrorRule(
        {2635}, ANY, ANY, InvalidRequest, f"deprecated API version: update {VERSION_SETTING}"
    ),
    ErrorRule({100}, {33}, ANY, InvalidRequest, f"unknown ad account: check {ACCOUNTS_SETTING}"),
    ErrorRule({100}, ANY, ANY, InvalidRequest, "invalid parameter or field"),
    ErrorRule({1, 2}, ANY, ANY, ApiUnavailable, "temporary API problem"),
    ErrorRule(ANY, ANY, {429}, RateLimited, "too many requests"),
    ErrorRule(ANY, ANY, range(500, 600), ApiUnavailable, "server error"),
    ErrorRule(ANY, ANY, {401, 403}, AuthenticationFailed, f"not authorised: check {TOKEN_SETTING}"),
)


def resolve(
    status: int, error: GraphError | None, retry_after_s: float | None = None
) -> SourceError:
    """The typed error for an error response; unknown transient-flagged errors are retried."""
    code = error.code if error else None
    subcode = error.error_subcode if error else None
    detail = _detail(status, error)
    for rule in RULES:
        if rule.matches(status, code, subcode):
            return _build(rule.error, f"{rule.meaning}: {detail}", retry_after_s)
    if error is not None and error.is_transient:
        return ApiUnavailable(f"transient error: {detail}")
    return InvalidRequest(f"unexpected error: {detail}")


def _build(kind: type[SourceError], message: str, retry_after_s: float | None) -> SourceError:
    if issubclass(kind, RateLimited):
        return kind(message, retry_after_s=retry_after_s)
    return kind(message)


def _detail(status: int, error: GraphError | None) -> str:
    if error is None:
        return f"HTTP {status} without a Graph error body"
    parts = [f"HTTP {status}", f"code {error.code}"]
    if error.error_subcode is not None:
        parts.append(f"subcode {error.error_subcode}")
    if error.fbtrace_id:
        parts.append(f"fbtrace_id {error.fbtrace_id}")
    return f"{error.message} ({', '.join(parts)})"
