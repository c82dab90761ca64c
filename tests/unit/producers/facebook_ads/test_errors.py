"""Graph API errors map to typed errors through the table, as API-NOTES.md says."""

from __future__ import annotations

import pytest

from headwater.errors import is_transient
from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    RateLimited,
    SourceError,
)
from producers.facebook_ads.errors import TooMuchData, resolve
from producers.facebook_ads.models import GraphError


@pytest.mark.parametrize(
    ("status", "code", "subcode", "expected"),
    [
        (400, 4, None, RateLimited),
        (400, 17, 2446079, RateLimited),
        (400, 32, None, RateLimited),
        (400, 613, 1487742, RateLimited),
        (400, 80000, 2446079, RateLimited),
        (400, 80014, None, RateLimited),
        (400, 190, 463, AuthenticationFailed),
        (400, 104, None, AuthenticationFailed),
        (400, 100, None, InvalidRequest),
        (400, 100, 33, InvalidRequest),
        (400, 100, 1504018, TooMuchData),
        (400, 2635, None, InvalidRequest),
        (500, 1, None, ApiUnavailable),
        (400, 2, None, ApiUnavailable),
        (503, None, None, ApiUnavailable),
        (429, None, None, RateLimited),
        (400, 999999, None, InvalidRequest),
    ],
)
def test_each_documented_code_maps_to_its_error(
    status: int, code: int | None, subcode: int | None, expected: type[SourceError]
) -> None:
    error = resolve(status, GraphError(message="m", code=code, error_subcode=subcode))
    assert type(error) is expected
    assert is_transient(error) == (expected in (RateLimited, ApiUnavailable))


def test_rate_limits_carry_the_wait_and_errors_name_the_setting_to_fix() -> None:
    limited = resolve(400, GraphError(code=80000, error_subcode=2446079), retry_after_s=120.0)
    assert isinstance(limited, RateLimited)
    assert limited.retry_after_s == 120.0
    assert "HEADWATER_FACEBOOK__ACCESS_TOKEN" in str(resolve(400, GraphError(code=190)))
    assert "HEADWATER_FACEBOOK__API_VERSION" in str(resolve(400, GraphError(code=2635)))
    assert "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS" in str(
        resolve(400, GraphError(code=100, error_subcode=33))
    )


def test_an_unknown_error_flagged_transient_is_retried_and_a_bodyless_one_is_not() -> None:
    assert isinstance(resolve(400, GraphError(code=12345, is_transient=True)), ApiUnavailable)
    assert isinstance(resolve(404, None), InvalidRequest)
