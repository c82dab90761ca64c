"""The Facebook sandbox on the wire: paging, report runs, usage, throttling, errors, truth."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import requests

from sandbox.facebook_ads import FacebookSandbox
from tests.unit.sandbox.facebook_ads.conftest import TODAY, TOKEN, ManualClock

FIELDS = "account_id,ad_id,impressions,clicks,spend,actions,action_values,account_currency"
OLD = TODAY - timedelta(days=90)
RECENT = TODAY - timedelta(days=2)


def _params(since: date, until: date, **extra: str) -> dict[str, str]:
    return {
        "access_token": TOKEN,
        "level": "ad",
        "fields": FIELDS,
        "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
        "time_increment": "1",
        **extra,
    }


def _get(url: str, params: dict[str, str] | None = None) -> requests.Response:
    return requests.get(url, params=params, timeout=10)


def _error(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert {"message", "type", "code", "fbtrace_id"} <= set(error)
    return error


def _truth(fb: FacebookSandbox, since: date, until: date) -> list[dict[str, Any]]:
    rows = []
    day = since
    while day <= until:
        rows += fb.truth("act_101", day)
        day += timedelta(days=1)
    keep = [*FIELDS.split(","), "date_start", "date_stop"]
    return [{k: row[k] for k in keep if k in row} for row in rows]


def test_cursor_paging_serves_every_row_once_and_no_next_on_the_last_page(
    fb: FacebookSandbox,
) -> None:
    since, until = OLD, OLD + timedelta(days=2)
    response = _get(f"{fb.url}/v23.0/act_101/insights", _params(since, until, limit="7"))
    pages = [response.json()]
    while "next" in pages[-1]["paging"]:
        assert "access_token=" in pages[-1]["paging"]["next"], "next is a full, usable URL"
        pages.append(_get(pages[-1]["paging"]["next"]).json())
    rows = [row for body in pages for row in body["data"]]
    assert rows == _truth(fb, since, until)
    assert all(len(body["data"]) == 7 for body in pages[:-1])
    assert len(pages) > 3
    assert set(pages[0]["paging"]["cursors"]) == {"before", "after"}
    after = pages[0]["paging"]["cursors"]["after"]
    resumed = _get(
        f"{fb.url}/v23.0/act_101/insights", _params(since, until, limit="7", after=after)
    )
    assert resumed.json()["data"] == pages[1]["data"]


def test_default_limit_is_25(fb: FacebookSandbox) -> None:
    body = _get(f"{fb.url}/v23.0/act_101/insights", _params(OLD, OLD + timedelta(days=5))).json()
    assert len(body["data"]) == 25


def test_usage_headers_on_every_response_grow_with_calls(
    start_sandbox: Callable[..., FacebookSandbox],
) -> None:
    fb = start_sandbox(call_budget=10)
    seen = []
    for _ in range(3):
        response = _get(f"{fb.url}/v23.0/act_101/insights", _params(OLD, OLD))
        buc = json.loads(response.headers["x-business-use-case-usage"])
        seen.append(buc["101"][0]["call_count"])
        assert buc["101"][0]["type"] == "ads_insights"
        assert json.loads(response.headers["x-ad-account-usage"])["acc_id_util_pct"] == seen[-1]
        assert "call_count" in json.loads(response.headers["x-app-usage"])
    assert seen == [10, 20, 30]
    bad = _get(f"{fb.url}/v23.0/act_101/insights", {**_params(OLD, OLD), "fields": "nope"})
    assert "x-business-use-case-usage" in bad.headers
    assert "x-app-usage" in bad.headers


def test_budget_spent_throttles_with_http_400_and_usage_decays(
    start_sandbox: Callable[..., FacebookSandbox], clock: ManualClock
) -> None:
    fb = start_sandbox(call_budget=3, budget_window_s=120)
    url = f"{fb.url}/v23.0/act_101/insights"
    assert [_get(url, _params(OLD, OLD)).status_code for _ in range(3)] == [200, 200, 200]
    throttled = _get(url, _params(OLD, OLD))
    error = _error(throttled)
    assert (error["code"], error["error_subcode"], error["is_transient"]) == (80000, 2446079, True)
    buc = json.loads(throttled.headers["x-business-use-case-usage"])["101"][0]
    assert buc["call_count"] == 100
    assert buc["estimated_time_to_regain_access"] == 2
    assert _get(f"{fb.url}/v23.0/act_102/insights", _params(OLD, OLD)).status_code == 200
    clock.advance(121)
    recovered = _get(url, _params(OLD, OLD))
    assert recovered.status_code == 200
    assert json.loads(recovered.headers["x-ad-account-usage"])["acc_id_util_pct"] == 34


def test_the_user_throttle_variant(start_sandbox: Callable[..., FacebookSandbox]) -> None:
    fb = start_sandbox(call_budget=1, throttle_error=(17, 2446079))
    _get(f"{fb.url}/v23.0/act_101/insights", _params(OLD, OLD))
    error = _error(_get(f"{fb.url}/v23.0/act_101/insights", _params(OLD, OLD)))
    assert (error["code"], error["error_subcode"]) == (17, 2446079)


def test_error_bodies_for_token_version_field_and_account(fb: FacebookSandbox) -> None:
    insights = f"{fb.url}/v23.0/act_101/insights"
    expired = _get(insights, {**_params(OLD, OLD), "access_token": "wrong"})
    error = _error(expired)
    assert (error["type"], error["code"], error["error_subcode"]) == ("OAuthException", 190, 463)
    assert "invalid_token" in expired.headers["WWW-Authenticate"]
    assert _error(_get(insights, {"level": "ad"}))["code"] == 104
    assert _error(_get(f"{fb.url}/v12.0/act_101/insights", _params(OLD, OLD)))["code"] == 2635
    unknown = _error(_get(insights, {**_params(OLD, OLD), "fields": "spend,bogus"}))
    assert unknown["code"] == 100
    assert "bogus" in unknown["message"]
    account = _error(_get(f"{fb.url}/v23.0/act_0/insights", _params(OLD, OLD)))
    assert (account["code"], account["error_subcode"]) == (100, 33)
    old = _error(_get(insights, _params(TODAY - timedelta(days=1200), TODAY)))
    assert old["code"] == 100
    assert "37 months" in old["message"]


def _report_run(fb: FacebookSandbox, since: date, until: date) -> str:
    response = requests.post(
        f"{fb.url}/v23.0/act_101/insights",
        params={"access_token": TOKEN},
        data={k: v for k, v in _params(since, until).items() if k != "access_token"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["report_run_id"])


def test_report_run_reaches_100_percent_while_still_running_then_completes(
    fb: FacebookSandbox,
) -> None:
    since, until = OLD, OLD + timedelta(days=9)
    run_id = _report_run(fb, since, until)
    early = _error(_get(f"{fb.url}/v23.0/{run_id}/insights", {"access_token": TOKEN}))
    assert "not completed" in early["message"]
    states = []
    while not states or states[-1][0] not in ("Job Completed", "Job Failed"):
        body = _get(f"{fb.url}/v23.0/{run_id}", {"access_token": TOKEN}).json()
        assert body["id"] == run_id
        assert body["account_id"] == "101"
        states.append((body["async_status"], body["async_percent_completion"]))
    assert states == [
        ("Job Not Started", 0),
        ("Job Started", 0),
        ("Job Running", 42),
        ("Job Running", 100),
        ("Job Completed", 100),
    ]
    url, rows = f"{fb.url}/v23.0/{run_id}/insights?access_token={TOKEN}&limit=50", []
    while url:
        body = _get(url).json()
        rows += body["data"]
        url = body.get("paging", {}).get("next")
    assert rows == _truth(fb, since, until)


def test_report_run_over_a_long_window_fails_with_an_error_code(
    start_sandbox: Callable[..., FacebookSandbox],
) -> None:
    fb = start_sandbox(max_async_days=30)
    run_id = _report_run(fb, OLD, OLD + timedelta(days=30))
    statuses = [_get(f"{fb.url}/v23.0/{run_id}", {"access_token": TOKEN}).json() for _ in range(4)]
    failed = statuses[-1]
    assert failed["async_status"] == "Job Failed"
    assert {"error_code", "error_subcode", "error_message"} <= set(failed)
    assert _report_run(fb, OLD, OLD + timedelta(days=29))  # 30 days are fine


def test_restate_changes_recent_days_and_not_old_ones(fb: FacebookSandbox) -> None:
    before_recent, before_old = fb.truth("act_101", RECENT), fb.truth("act_101", OLD)
    answer = requests.post(f"{fb.url}/__sandbox/restate", timeout=10)
    assert answer.json() == {"epoch": 1}
    assert fb.truth("act_101", RECENT) != before_recent
    assert fb.truth("act_101", OLD) == before_old
    served = _get(
        f"{fb.url}/__sandbox/truth",
        {"account": "act_101", "since": RECENT.isoformat(), "until": RECENT.isoformat()},
    ).json()
    assert served["epoch"] == 1
    assert served["data"] == fb.truth("act_101", RECENT)


def test_usage_endpoint_reports_and_reset_forgets_calls(
    start_sandbox: Callable[..., FacebookSandbox],
) -> None:
    fb = start_sandbox(call_budget=4)
    for _ in range(2):
        _get(f"{fb.url}/v23.0/act_101/insights", _params(OLD, OLD))
    usage = _get(f"{fb.url}/__sandbox/usage", {"account": "act_101,act_102"}).json()
    assert usage["usage_pct"] == {"act_101": 50, "act_102": 0}
    assert usage["calls"] == 2
    assert requests.post(f"{fb.url}/__sandbox/reset", timeout=10).status_code == 200
    after = _get(f"{fb.url}/__sandbox/usage", {"account": "act_101"}).json()
    assert after["usage_pct"] == {"act_101": 0}
    assert _get(f"{fb.url}/__sandbox/nothing").status_code == 404
