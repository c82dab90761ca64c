"""Usage headers fold to the highest percentage and the longest announced lock-out."""

from __future__ import annotations

import json

from producers.facebook_ads.models import parse_usage


def test_the_highest_usage_of_every_header_wins() -> None:
    headers = {
        "x-business-use-case-usage": json.dumps(
            {
                "101": [
                    {
                        "type": "ads_insights",
                        "call_count": 28,
                        "total_cputime": 81,
                        "total_time": 25,
                        "estimated_time_to_regain_access": 3,
                    }
                ]
            }
        ),
        "x-app-usage": json.dumps({"call_count": 12, "total_cputime": 3, "total_time": 9}),
        "x-ad-account-usage": json.dumps({"acc_id_util_pct": 40}),
    }
    usage = parse_usage(headers)
    assert usage.percent == 81
    assert usage.regain_access_s == 180


def test_absent_or_malformed_headers_count_as_nothing() -> None:
    assert parse_usage({}).percent == 0
    broken = {
        "x-app-usage": "not json",
        "x-business-use-case-usage": json.dumps({"1": "not a list"}),
        "x-ad-account-usage": json.dumps({"acc_id_util_pct": "high"}),
        "x-fb-ads-insights-throttle": json.dumps({"acc_id_util_pct": 91}),
    }
    assert parse_usage(broken).percent == 91
