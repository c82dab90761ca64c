"""GoogleAdsSandbox over HTTP: the wire shapes and behaviours a client has to survive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests

from sandbox.google_ads import GoogleAdsSandbox, Quota

TODAY = date(2026, 3, 31)
QUERY = (
    "SELECT ad_group.id, segments.date, metrics.clicks FROM ad_group "
    "WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-02'"
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[GoogleAdsSandbox]:
    with GoogleAdsSandbox(seed=5, today=lambda: TODAY, batch_size=3, clock=clock) as server:
        yield server


def token_response(sandbox: GoogleAdsSandbox, **form: str) -> requests.Response:
    data = {
        "grant_type": "refresh_token",
        "client_id": sandbox.CLIENT_ID,
        "client_secret": sandbox.CLIENT_SECRET,
        "refresh_token": sandbox.REFRESH_TOKEN,
        **form,
    }
    return requests.post(f"{sandbox.url}/token", data=data, timeout=10)


def stream(
    sandbox: GoogleAdsSandbox,
    customer: str = "1234567890",
    query: str = QUERY,
    version: str = "v21",
    token: str | None = None,
    **headers: str,
) -> requests.Response:
    sent = {"developer-token": sandbox.DEVELOPER_TOKEN, **headers}
    if token != "":
        sent["Authorization"] = f"Bearer {token or token_response(sandbox).json()['access_token']}"
    return requests.post(
        f"{sandbox.url}/{version}/customers/{customer}/googleAds:searchStream",
        json={"query": query},
        headers=sent,
        timeout=10,
    )


def only_error(response: requests.Response) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Status and its single GoogleAdsError, checking the documented envelope."""
    status = response.json()["error"]
    assert status["code"] == response.status_code
    (failure,) = status["details"]
    assert failure["@type"].startswith("type.googleapis.com/google.ads.googleads.v")
    assert failure["@type"].endswith(".errors.GoogleAdsFailure")
    assert failure["requestId"]
    (error,) = failure["errors"]
    assert error["message"]
    return status, error


def test_token_endpoint_grants_a_bearer_token(sandbox) -> None:
    response = token_response(sandbox)
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].startswith("ya29.")
    assert sandbox.token_requests == 1


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"refresh_token": "revoked"}, 400, "invalid_grant"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_token_endpoint_errors(sandbox, form: dict[str, str], status: int, error: str) -> None:
    response = token_response(sandbox, **form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_search_stream_is_a_chunked_json_array_of_batches(sandbox) -> None:
    response = stream(sandbox)

    assert response.status_code == 200
    assert response.headers["Transfer-Encoding"] == "chunked"
    body = response.json()
    assert [len(batch["results"]) for batch in body] == [3] * 6 + [2]  # 2 days x 10 ad groups
    assert {batch["fieldMask"] for batch in body} == {"adGroup.id,segments.date,metrics.clicks"}
    assert len({batch["requestId"] for batch in body}) == 1
    assert body[-1]["queryResourceConsumption"] == "20"
    row = body[0]["results"][0]
    assert row["adGroup"] == {
        "resourceName": "customers/1234567890/adGroups/7120000101",
        "id": "7120000101",
    }
    assert row["segments"] == {"date": "2026-03-01"}


def test_an_empty_result_is_one_batch_without_results(sandbox) -> None:
    future = QUERY.replace("2026-03-01", "2026-05-01").replace("2026-03-02", "2026-05-02")
    body = stream(sandbox, query=future).json()
    assert len(body) == 1
    assert "results" not in body[0]
    assert body[0]["fieldMask"] == "adGroup.id,segments.date,metrics.clicks"


def test_an_unsupported_version_is_a_request_error(sandbox) -> None:
    response = stream(sandbox, version="v17")
    status, error = only_error(response)
    assert (response.status_code, status["status"]) == (400, "INVALID_ARGUMENT")
    assert error["errorCode"] == {"requestError": "UNSUPPORTED_VERSION"}
    assert "v17.errors.GoogleAdsFailure" in status["details"][0]["@type"]


def test_access_tokens_expire(sandbox, clock) -> None:
    token = token_response(sandbox).json()["access_token"]
    assert stream(sandbox, token=token).status_code == 200

    clock.now += 3600
    response = stream(sandbox, token=token)
    status, error = only_error(response)
    assert (response.status_code, status["status"]) == (401, "UNAUTHENTICATED")
    assert error["errorCode"] == {"authenticationError": "OAUTH_TOKEN_EXPIRED"}


def test_an_unknown_token_and_no_token_are_unauthenticated(sandbox) -> None:
    _, error = only_error(stream(sandbox, token="made-up"))
    assert error["errorCode"] == {"authenticationError": "OAUTH_TOKEN_INVALID"}
    response = stream(sandbox, token="")
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"
    assert "details" not in response.json()["error"]


def test_the_developer_token_must_match_and_be_approved(sandbox) -> None:
    response = stream(sandbox, **{"developer-token": "other"})
    _, error = only_error(response)
    assert response.status_code == 401
    assert error["errorCode"] == {"authenticationError": "DEVELOPER_TOKEN_INVALID"}

    sandbox.developer_token_approved = False
    response = stream(sandbox)
    status, error = only_error(response)
    assert (response.status_code, status["status"]) == (403, "PERMISSION_DENIED")
    assert error["errorCode"] == {"authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"}


def test_the_quota_answers_resource_exhausted_with_a_retry_delay_until_the_window_ends(
    sandbox, clock
) -> None:
    sandbox.quota = Quota(requests=2, window_s=60.0, retry_delay="30s")
    token = token_response(sandbox).json()["access_token"]
    assert [stream(sandbox, token=token).status_code for _ in range(2)] == [200, 200]

    response = stream(sandbox, token=token)
    status, error = only_error(response)
    assert (response.status_code, status["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert error["errorCode"] == {"quotaError": "RESOURCE_EXHAUSTED"}
    assert error["details"]["quotaErrorDetails"]["retryDelay"] == "30s"
    assert error["details"]["quotaErrorDetails"]["rateScope"] == "DEVELOPER"

    clock.now += 60
    assert stream(sandbox, token=token).status_code == 200


def test_a_mid_stream_failure_is_an_error_element_after_some_batches(sandbox) -> None:
    sandbox.mid_stream_failures = 1
    sandbox.mid_stream_after_batches = 2

    failed = stream(sandbox)
    body = failed.json()
    assert failed.status_code == 200
    assert [("results" in element, "error" in element) for element in body] == [
        (True, False),
        (True, False),
        (False, True),
    ]
    assert body[-1]["error"]["status"] == "INTERNAL"
    assert body[-1]["error"]["details"][0]["errors"][0]["errorCode"] == {
        "internalError": "INTERNAL_ERROR"
    }
    assert len(stream(sandbox).json()) == 7  # only as many failures as asked for


def test_customer_access(sandbox) -> None:
    response = stream(sandbox, customer=GoogleAdsSandbox.UNKNOWN_CUSTOMER_ID)
    _, error = only_error(response)
    assert response.status_code == 403
    assert error["errorCode"] == {"authorizationError": "USER_PERMISSION_DENIED"}

    _, error = only_error(stream(sandbox, customer="123-456-7890"))
    assert error["errorCode"] == {"requestError": "INVALID_CUSTOMER_ID"}

    sandbox.manager_customer_id = "5550001111"
    assert stream(sandbox).status_code == 403
    assert stream(sandbox, **{"login-customer-id": "5550001111"}).status_code == 200
    assert [seen.login_customer_id for seen in sandbox.seen][-2:] == [None, "5550001111"]


def test_a_bad_query_is_a_query_error_with_its_trigger(sandbox) -> None:
    response = stream(sandbox, query="SELECT ad_group.idd FROM ad_group")
    status, error = only_error(response)
    assert (response.status_code, status["status"]) == (400, "INVALID_ARGUMENT")
    assert error["errorCode"] == {"queryError": "UNRECOGNIZED_FIELD"}
    assert error["trigger"] == {"stringValue": "ad_group.idd"}


def test_test_only_endpoints_restate_and_expose_the_truth(sandbox) -> None:
    truth = requests.get(
        f"{sandbox.url}/__sandbox/truth",
        params={"customer_id": "1234567890", "date": "2026-03-30"},
        timeout=10,
    ).json()
    assert truth == sandbox.truth("1234567890", date(2026, 3, 30))
    assert len(truth) == 10

    restated = requests.post(f"{sandbox.url}/__sandbox/restate", timeout=10).json()
    assert restated == {"epoch": 1}
    assert sandbox.truth("1234567890", date(2026, 3, 30)) != truth
    stats = requests.get(f"{sandbox.url}/__sandbox/stats", timeout=10).json()
    assert stats == {"epoch": 1, "token_requests": 0, "search_requests": 0}


def test_malformed_requests_are_invalid_arguments(sandbox) -> None:
    url = f"{sandbox.url}/v21/customers/1234567890/googleAds:searchStream"
    response = requests.post(url, data=b"{not json", timeout=10)
    assert (response.status_code, response.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")
    truth = requests.get(f"{sandbox.url}/__sandbox/truth", params={"date": "x"}, timeout=10)
    assert truth.status_code == 400


def test_unknown_paths_are_not_found(sandbox) -> None:
    assert requests.get(f"{sandbox.url}/v21/customers", timeout=10).status_code == 404
    assert requests.post(f"{sandbox.url}/__sandbox/nothing", timeout=10).status_code == 404


def test_it_starts_and_stops_on_a_free_port() -> None:
    sandbox = GoogleAdsSandbox(seed=1)
    sandbox.start()
    url = sandbox.url
    assert requests.get(f"{url}/__sandbox/stats", timeout=10).status_code == 200
    sandbox.stop()
    sandbox.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/__sandbox/stats", timeout=2)
