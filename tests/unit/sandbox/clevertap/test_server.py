"""The CleverTap sandbox over HTTP: export, error shapes, concurrency limit, test controls."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from sandbox.clevertap import SANDBOX_ACCOUNT_ID, CleverTapSandbox, Fault
from tests.unit.sandbox.clevertap.conftest import HEADERS, TODAY

OLD_DAY = date(2026, 11, 10)


def _start(sandbox: CleverTapSandbox, event_name: str, day: date, batch_size: int) -> str:
    response = requests.post(
        f"{sandbox.url}/1/events.json",
        params={"batch_size": batch_size},
        json={"event_name": event_name, "from": int(f"{day:%Y%m%d}"), "to": int(f"{day:%Y%m%d}")},
        headers=HEADERS,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    return str(body["cursor"])


def _page(sandbox: CleverTapSandbox, cursor: str) -> requests.Response:
    return requests.get(
        f"{sandbox.url}/1/events.json", params={"cursor": cursor}, headers=HEADERS, timeout=10
    )


def _export(sandbox: CleverTapSandbox, event_name: str, day: date, batch_size: int) -> list[Any]:
    pages, cursor = [], _start(sandbox, event_name, day, batch_size)
    while cursor:
        body = _page(sandbox, cursor).json()
        assert body["status"] == "success"
        pages.append(body["records"])
        cursor = body.get("next_cursor")
    return pages


def test_cursor_paging_returns_every_record_exactly_once(sandbox: CleverTapSandbox) -> None:
    pages = _export(sandbox, "App Launched", OLD_DAY, batch_size=40)
    assert len(pages) >= 5
    assert all(0 < len(page) <= 40 for page in pages)
    assert [record for page in pages for record in page] == sandbox.truth("App Launched", OLD_DAY)


def test_batch_size_up_to_5000_is_honoured_and_more_is_refused() -> None:
    with CleverTapSandbox(seed=1, daily_volume={"App Launched": 6_000}) as sandbox:
        pages = _export(sandbox, "App Launched", OLD_DAY, batch_size=5_000)
        assert len(pages[0]) == 5_000
        assert sum(map(len, pages)) == len(sandbox.truth("App Launched", OLD_DAY)) > 5_000
        response = requests.post(
            f"{sandbox.url}/1/events.json?batch_size=5001",
            json={"event_name": "App Launched", "from": 20261110, "to": 20261110},
            headers=HEADERS,
            timeout=10,
        )
    assert response.status_code == 400
    assert response.json() == {
        "status": "fail",
        "error": "batch_size must be an integer from 1 to 5000",
        "code": 400,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {**HEADERS, "X-CleverTap-Passcode": "WRONG-PASSCODE"},
        {**HEADERS, "X-CleverTap-Account-Id": "ZZZ-ZZZ-ZZZZ"},
        {},
    ],
    ids=["bad passcode", "bad account", "no headers"],
)
def test_bad_credentials_are_refused_with_401(
    sandbox: CleverTapSandbox, headers: dict[str, str]
) -> None:
    response = requests.post(
        f"{sandbox.url}/1/events.json?batch_size=10",
        json={"event_name": "Charged", "from": 20261110, "to": 20261110},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json() == {"status": "fail", "error": "Invalid credentials", "code": 401}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"event_name": "Product Viewed", "from": 20261110, "to": 20261110}, "Event name"),
        ({"event_name": "Charged", "from": 20261111, "to": 20261110}, "Invalid date range"),
        ({"event_name": "Charged", "from": "2026-11-10", "to": 20261110}, "YYYYMMDD"),
        ({"event_name": "Charged", "from": 20261345, "to": 20261346}, "YYYYMMDD"),
        ({"from": 20261110, "to": 20261110}, "event_name"),
        ({"event_name": "Charged", "from": 20200101, "to": 20261110}, "Invalid date range"),
    ],
    ids=["unknown event", "from after to", "string date", "no such date", "no event", "too long"],
)
def test_invalid_requests_get_the_error_shape(
    sandbox: CleverTapSandbox, body: dict[str, Any], error: str
) -> None:
    response = requests.post(
        f"{sandbox.url}/1/events.json?batch_size=10", json=body, headers=HEADERS, timeout=10
    )
    assert response.status_code == 400
    answer = response.json()
    assert (answer["status"], answer["code"]) == ("fail", 400)
    assert error in answer["error"]


def _start_status(sandbox: CleverTapSandbox) -> int:
    return requests.post(
        f"{sandbox.url}/1/events.json?batch_size=10",
        json={"event_name": "Charged", "from": 20261110, "to": 20261110},
        headers=HEADERS,
        timeout=30,
    ).status_code


def test_more_concurrent_requests_than_the_limit_get_429(sandbox: CleverTapSandbox) -> None:
    statuses: list[int] = []
    held = [
        threading.Thread(target=lambda: statuses.append(_start_status(sandbox)))
        for _ in range(sandbox.max_concurrent)
    ]
    sandbox.hold()
    try:
        for thread in held:
            thread.start()
        assert sandbox.wait_in_flight(sandbox.max_concurrent)
        refused = _page(sandbox, "any")
    finally:
        sandbox.release()
        for thread in held:
            thread.join(timeout=30)
    assert refused.status_code == 429
    assert refused.json() == {
        "status": "fail",
        "error": "Too many concurrent requests",
        "code": 429,
    }
    assert statuses == [200] * sandbox.max_concurrent
    assert sandbox.wait_in_flight(0)
    assert _start_status(sandbox) == 200


def test_late_events_appear_after_the_arrival_epoch_advances(sandbox: CleverTapSandbox) -> None:
    def count(day: date) -> int:
        return sum(map(len, _export(sandbox, "App Launched", day, batch_size=5_000)))

    before = {day: count(day) for day in (TODAY, TODAY - timedelta(days=1), OLD_DAY)}
    advanced = requests.post(f"{sandbox.url}/__sandbox/advance", timeout=10).json()
    assert advanced == {"status": "success", "epoch": 1}
    after = {day: count(day) for day in before}
    assert after[TODAY] > before[TODAY]
    assert after[TODAY - timedelta(days=1)] > before[TODAY - timedelta(days=1)]
    assert after[OLD_DAY] == before[OLD_DAY]
    assert after[TODAY] == len(sandbox.truth("App Launched", TODAY))


def test_an_expired_cursor_is_refused(sandbox: CleverTapSandbox) -> None:
    cursor = _start(sandbox, "App Launched", OLD_DAY, batch_size=10)
    expired = requests.post(f"{sandbox.url}/__sandbox/expire_cursors", timeout=10).json()
    assert expired == {"status": "success", "expired": 1}
    response = _page(sandbox, cursor)
    assert response.status_code == 400
    assert response.json() == {"status": "fail", "error": "Cursor expired or invalid", "code": 400}


def test_cursors_expire_after_their_ttl() -> None:
    now = [0.0]
    with CleverTapSandbox(seed=1, cursor_ttl_s=30, clock=lambda: now[0]) as sandbox:
        cursor = _start(sandbox, "Charged", OLD_DAY, batch_size=10)
        assert _page(sandbox, cursor).status_code == 200
        now[0] = 31.0
        assert _page(sandbox, cursor).status_code == 400


def test_faults_queued_over_http_answer_the_next_requests(sandbox: CleverTapSandbox) -> None:
    queued = requests.post(
        f"{sandbox.url}/__sandbox/faults",
        json={"faults": [{"http_status": 503, "error": "Service Unavailable"}]},
        timeout=10,
    )
    assert queued.json() == {"status": "success", "queued": 1}
    failed = _page(sandbox, "any")
    assert failed.status_code == 503
    assert failed.json() == {"status": "fail", "error": "Service Unavailable", "code": 503}
    assert _page(sandbox, "any").json()["error"] == "Cursor expired or invalid"


def test_a_fault_can_fail_with_http_200_and_send_retry_after(sandbox: CleverTapSandbox) -> None:
    sandbox.inject(Fault(200, "Internal error", code=500), Fault(429, "Too many", retry_after_s=2))
    failed = _page(sandbox, "any")
    assert failed.status_code == 200
    assert failed.json() == {"status": "fail", "error": "Internal error", "code": 500}
    assert _page(sandbox, "any").headers["Retry-After"] == "2"


def test_truth_and_state_endpoints(sandbox: CleverTapSandbox) -> None:
    truth = requests.get(
        f"{sandbox.url}/__sandbox/truth",
        params={"event_name": "Sign Up", "from": "20261109", "to": "20261110"},
        timeout=10,
    ).json()
    expected = sandbox.truth("Sign Up", OLD_DAY - timedelta(days=1)) + sandbox.truth(
        "Sign Up", OLD_DAY
    )
    assert truth == {"status": "success", "count": len(expected), "records": expected}
    state = requests.get(f"{sandbox.url}/__sandbox/state", timeout=10).json()
    assert state["account_id"] == SANDBOX_ACCOUNT_ID
    assert (state["epoch"], state["today"]) == (0, "2026-11-25")
    assert (state["timezone"], state["utc_offset"]) == ("Asia/Kolkata", "+0530")
    assert state["events"] == ["App Installed", "App Launched", "Sign Up", "Charged"]


def test_unknown_paths_and_methods(sandbox: CleverTapSandbox) -> None:
    profiles = requests.get(f"{sandbox.url}/1/profiles.json", headers=HEADERS, timeout=10)
    assert (profiles.status_code, profiles.json()["code"]) == (404, 404)
    deleted = requests.delete(f"{sandbox.url}/1/events.json", headers=HEADERS, timeout=10)
    assert (deleted.status_code, deleted.json()["status"]) == (405, "fail")
    control = requests.post(f"{sandbox.url}/__sandbox/nothing", timeout=10)
    assert control.status_code == 404


def test_future_days_export_no_records(sandbox: CleverTapSandbox) -> None:
    assert _export(sandbox, "Charged", TODAY + timedelta(days=3), batch_size=10) == [[]]


def test_every_request_is_logged(sandbox: CleverTapSandbox) -> None:
    _export(sandbox, "Charged", OLD_DAY, batch_size=5_000)
    assert [(r.method, r.path, r.status) for r in sandbox.requests()] == [
        ("POST", "/1/events.json", 200),
        ("GET", "/1/events.json", 200),
    ]


def test_url_needs_a_started_server() -> None:
    sandbox = CleverTapSandbox(seed=1)
    with pytest.raises(RuntimeError, match="not started"):
        _ = sandbox.url
