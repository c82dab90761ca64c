"""Graph API errors as data: (HTTP status, code, subcode) to the typed error to raise.

The codes and their meaning come from
https://developers.facebook.com/docs/graph-api/guides/error-handling (1, 2, 4, 17, 102,
190, 200-299), https://developers.facebook.com/docs/marketing-api/overview/rate-limiting
(17/2446079, 613/1487742, 80000-80014 business use case throttles) and
https://developers.facebook.com/docs/marketing-api/insights/error-codes (insights subcodes).
Throttles arrive as HTTP 400, not 429, so the status alone decides nothing. The rows are
:class:`producers.http.ErrorRule`, the one row type of every client's table.
"""

from __future__ import annotations

from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    RateLimited,
    SourceError,
)
from producers.facebook_ads.models import GraphError
from producers.http import ErrorRule, Refusal, first_match

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


_TOO_MUCH = "request timed out: window too large"


# First match wins: specific subcodes before their code's general rule.
RULES: tuple[ErrorRule, ...] = (
    ErrorRule(TooMuchData, _TOO_MUCH, codes={100}, subcodes={1504018}),
    ErrorRule(TooMuchData, _TOO_MUCH, codes={2}, subcodes={1504038}),
    ErrorRule(RateLimited, "application request limit reached", codes={4}),
    ErrorRule(RateLimited, "user request limit reached", codes={17}),
    ErrorRule(RateLimited, "page request limit reached", codes={32}),
    ErrorRule(RateLimited, "too many calls from this ad account", codes={613}),
    ErrorRule(RateLimited, "business use case throttle", codes=range(80000, 80015)),
    ErrorRule(
        AuthenticationFailed,
        f"access token invalid or expired: set {TOKEN_SETTING}",
        codes={190, 102},
    ),
    ErrorRule(AuthenticationFailed, f"access token missing: set {TOKEN_SETTING}", codes={104}),
    ErrorRule(
        AuthenticationFailed,
        f"permission denied: the token of {TOKEN_SETTING} lacks ads_read on the account",
        codes={10, *range(200, 300)},
    ),
    ErrorRule(InvalidRequest, f"deprecated API version: update {VERSION_SETTING}", codes={2635}),
    ErrorRule(
        InvalidRequest, f"unknown ad account: check {ACCOUNTS_SETTING}", codes={100}, subcodes={33}
    ),
    ErrorRule(InvalidRequest, "invalid parameter or field", codes={100}),
    ErrorRule(ApiUnavailable, "temporary API problem", codes={1, 2}),
    ErrorRule(RateLimited, "too many requests", http={429}),
    ErrorRule(ApiUnavailable, "server error", http=range(500, 600)),
    ErrorRule(AuthenticationFailed, f"not authorised: check {TOKEN_SETTING}", http={401, 403}),
)


def resolve(
    status: int, error: GraphError | None, retry_after_s: float | None = None
) -> SourceError:
    """The typed error for an error response; unknown transient-flagged errors are retried."""
    detail = _detail(status, error)
    rule = first_match(RULES, refusal_of(status, error))
    if rule is not None:
        return rule.error_for(f"{rule.meaning}: {detail}", retry_after_s)
    if error is not None and error.is_transient:
        return ApiUnavailable(f"transient error: {detail}")
    return InvalidRequest(f"unexpected error: {detail}")


def refusal_of(status: int, error: GraphError | None) -> Refusal:
    """An error response in the terms of the table (no Graph error body: the status alone)."""
    if error is None:
        return Refusal(http=status)
    codes = () if error.code is None else (error.code,)
    return Refusal(http=status, codes=codes, subcode=error.error_subcode, message=error.message)


def _detail(status: int, error: GraphError | None) -> str:
    if error is None:
        return f"HTTP {status} without a Graph error body"
    parts = [f"HTTP {status}", f"code {error.code}"]
    if error.error_subcode is not None:
        parts.append(f"subcode {error.error_subcode}")
    if error.fbtrace_id:
        parts.append(f"fbtrace_id {error.fbtrace_id}")
    return f"{error.message} ({', '.join(parts)})"
