"""Generated answers for every API client, beyond the catalogue: whatever status and bytes an
API sends, a client gives rows or raises a SourceError marked Transient or Terminal; never
another exception, which would stop the poller for every account."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from requests.structures import CaseInsensitiveDict

from headwater.errors import Terminal, Transient
from headwater.settings import GoogleAdsSettings
from producers.base import SourceError, Window
from producers.clevertap.client import CleverTapClient
from producers.facebook_ads.client import InsightsClient
from producers.google_ads.client import GoogleAdsClient
from producers.retry import RetryPolicy
from tests.support.properties import JSON_VALUES

DAY = date(2026, 11, 27)
RETRY = RetryPolicy(attempts=2, base_delay_s=0)
STATUSES = st.sampled_from([200, 200, 200, 204, 400, 401, 403, 404, 429, 500, 502, 999])
CONTENT_TYPES = st.sampled_from(
    ["application/json", "text/html", "application/json; charset=latin-1"]
)


class Answers(requests.Session):
    """A session that answers from a list, the last answer again once it runs out."""

    def __init__(self, answers: list[requests.Response]) -> None:
        super().__init__()
        self.answers = answers
        self.sent = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.sent += 1
        return self.answers[min(self.sent - 1, len(self.answers) - 1)]


def answer(status: int, body: bytes, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers = CaseInsensitiveDict({"Content-Type": content_type})
    response.url = "http://api.invalid/"
    return response


def rows_or_clear_error(read: Callable[[], Iterator[Any] | list[Any]]) -> None:
    """Rows, or a SourceError marked Transient or Terminal: anything else fails the test."""
    failure: SourceError | None = None
    try:
        list(read())
    except SourceError as error:
        failure = error
    assert failure is None or isinstance(failure, Transient | Terminal), failure


def dumped(value: Any) -> bytes:
    return json.dumps(value).encode()


BODIES = st.one_of(
    st.binary(max_size=120),
    JSON_VALUES.map(dumped),
    st.builds(
        lambda data, paging: dumped({"data": data, "paging": paging}), JSON_VALUES, JSON_VALUES
    ),
    st.builds(lambda rows: dumped([{"results": rows}]), JSON_VALUES),
    st.builds(lambda element: dumped([element]), JSON_VALUES),
    st.builds(lambda error: dumped({"error": error}), JSON_VALUES),
    st.builds(
        lambda status, records, cursor: dumped(
            {"status": status, "records": records, "next_cursor": cursor, "cursor": cursor}
        ),
        st.sampled_from(["success", "fail", "partial"]) | JSON_VALUES,
        JSON_VALUES,
        JSON_VALUES,
    ),
)


@given(STATUSES, BODIES, CONTENT_TYPES)
def test_the_insights_client_gives_rows_or_a_clear_error(
    status: int, body: bytes, content_type: str
) -> None:
    session = Answers([answer(status, body, content_type)])
    client = InsightsClient(
        "http://api.invalid", "v23.0", "t", session=session, retry=RETRY, sleep=lambda _: None
    )
    rows_or_clear_error(lambda: client.insights("1", Window(DAY, DAY), ["spend"]))


class Token:
    """Credentials that always have a token."""

    def access_token(self) -> str:
        return "at"

    def invalidate(self, rejected: str) -> None:
        pass


@given(STATUSES, BODIES, CONTENT_TYPES)
def test_the_google_ads_client_gives_rows_or_a_clear_error(
    status: int, body: bytes, content_type: str
) -> None:
    settings = GoogleAdsSettings(
        api_url="http://api.invalid",
        developer_token=SecretStr("d"),
        client_id="c",
        client_secret=SecretStr("s"),
        refresh_token=SecretStr("r"),
    )
    client = GoogleAdsClient(
        settings,
        session=Answers([answer(status, body, content_type)]),
        retry=RETRY,
        sleep=lambda _: None,
        credentials=Token(),  # type: ignore[arg-type]
    )
    rows_or_clear_error(
        lambda: client.search_stream("5550001234", "SELECT campaign.id FROM ad_group")
    )


@pytest.mark.parametrize("step", ["start", "page"])
@given(status=STATUSES, body=BODIES, content_type=CONTENT_TYPES)
def test_the_clevertap_client_gives_records_or_a_clear_error(
    step: str, status: int, body: bytes, content_type: str
) -> None:
    start = answer(200, b'{"status": "success", "cursor": "c1"}')
    bad = answer(status, body, content_type)
    session = Answers([bad] if step == "start" else [start, bad])
    client = CleverTapClient(
        "http://api.invalid",
        "acct",
        SecretStr("p"),
        session=session,
        retry=RETRY,
        sleep=lambda _: None,
    )
    rows_or_clear_error(lambda: client.export("Charged", DAY, DAY))
