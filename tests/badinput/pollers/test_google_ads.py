"""Malformed searchStream answers: each fails its customer with a clear error (a SourceError
marked Transient or Terminal, the cursor left for the next run), never a silent skip or a
crash; rows of odd content are published verbatim; the good customers polled in the same run
publish every row and move their cursors. Also the OAuth token endpoint's malformed answers.

One run of the real poller and GoogleAdsClient against a scripted Google Ads API: one
customer per catalogue entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from headwater.settings import GoogleAdsSettings, Settings
from producers.base import ApiUnavailable, InvalidRequest
from producers.google_ads.auth import RefreshTokenCredentials
from producers.google_ads.client import GoogleAdsClient
from producers.google_ads.source import GoogleAdsSource
from producers.retry import RetryPolicy
from tests.support.bad_inputs import TEN_MB
from tests.support.poll_run import (
    DAY,
    PollCase,
    PollOutcome,
    RenamedSource,
    broken_pages,
    poll,
    poll_catalogue,
    poll_tests,
)
from tests.support.scripted_api import HTML, JSON, Reply, Request, ScriptedApi

VERSION = "v21"
TOKEN = json.dumps({"access_token": "at-1", "expires_in": 3600, "token_type": "Bearer"}).encode()


def row(n: int, **changes: Any) -> dict[str, Any]:
    """A good GAQL row (camelCase, int64 as strings, money in micros)."""
    return {
        "customer": {"id": "5500000000", "currencyCode": "EUR"},
        "campaign": {"id": "7", "name": "Search"},
        "adGroup": {"id": str(800 + n), "name": f"Group {n}"},
        "metrics": {"impressions": str(100 + n), "clicks": str(n), "costMicros": "1250000"},
        "segments": {"date": DAY.isoformat()},
    } | changes


def stream(*batches: Any) -> bytes:
    return json.dumps(list(batches), ensure_ascii=False).encode()


def batch(rows: list[Any], **extra: Any) -> dict[str, Any]:
    return {"results": rows, "fieldMask": "campaign.id,adGroup.id", "requestId": "r1"} | extra


def ok(raw: bytes) -> Reply:
    return Reply(200, raw, JSON)


GOOD_STREAM = stream(batch([row(1), row(2)]))


def shapes() -> list[PollCase]:
    """searchStream answers that are no stream of batches."""

    def element(case: str, raw: bytes) -> PollCase:
        return PollCase(case, (ok(raw),), "ApiUnavailable", True, says="unexpected stream element")

    mid_stream = stream(
        batch([row(1)]), {"error": {"code": 500, "status": "INTERNAL", "message": "boom"}}
    )
    return [
        element("an element that is a number", stream(1)),
        element("results a string", stream({"results": "rows"})),
        element("results rows not objects", stream(batch([1, 2]))),
        element("results null", stream({"results": None})),
        element("fieldMask a number", stream(batch([row(1)], fieldMask=5))),
        element("requestId an object", stream(batch([row(1)], requestId={"id": 1}))),
        PollCase("an object for the array", (ok(json.dumps(batch([row(1)])).encode()),), ""),
        PollCase("an error element that is text", (ok(stream({"error": "boom"})),), ""),
        PollCase(
            "an error after a batch", (ok(mid_stream),), "ApiUnavailable", True, says="after 1"
        ),
        PollCase(
            "one row of 10 MB",
            (ok(stream(batch([row(1), row(2, campaign={"id": "7", "name": "c" * TEN_MB})]))),),
            "RecordTooLarge",
            False,
            published=1,
            says="message.max.bytes",
        ),
    ]


def odd_rows() -> list[PollCase]:
    """Streams whose rows hold what the normalizer refuses: published verbatim."""

    def verbatim(case: str, raw: bytes, published: int = 1) -> PollCase:
        return PollCase(case, (ok(raw),), published=published)

    nan = stream(batch([row(1, metrics={"costMicros": "@"})])).replace(b'"@"', b"NaN")
    infinite = stream(batch([row(1, metrics={"conversions": "@"})])).replace(b'"@"', b"1e309")
    surrogate = stream(batch([row(1, campaign={"id": "7", "name": "@"})])).replace(
        b'"@"', b'"Search \\udfff"'
    )
    duplicate = GOOD_STREAM.replace(b'"clicks": "1"', b'"clicks": "9", "clicks": "1"')
    return [
        verbatim("a NaN literal", nan),
        verbatim("a 1e309 literal", infinite),
        verbatim("a lone surrogate", surrogate),
        verbatim("duplicate keys", duplicate, 2),
        verbatim("adGroup a string", stream(batch([row(1, adGroup="800")]))),
        verbatim("segments a number", stream(batch([row(1, segments=20261127)]))),
        verbatim("an empty row", stream(batch([{}]))),
        verbatim("metrics as numbers", stream(batch([row(1, metrics={"clicks": 1})]))),
        verbatim(
            "a stream of 10 MB",
            stream(
                *[
                    batch([row(n, adGroup={"id": str(n), "name": "g" * 5_000})])
                    for n in range(2_000)
                ]
            ),
            2_000,
        ),
    ]


BAD = broken_pages(GOOD_STREAM) + shapes() + odd_rows()
CATALOGUE = poll_catalogue(
    BAD, lambda n: (ok(stream(batch([row(n), row(n + 1)]))),), lambda n: f"{5_500_000_000 + n}"
)


def script(request: Request, _base: str) -> Reply:
    if request.path == "/token":
        return ok(TOKEN)
    customer = request.path.split("/customers/", 1)[1].split("/", 1)[0]
    return CATALOGUE.by_account[customer].pages[0]


def google_settings(url: str, customers: list[str]) -> GoogleAdsSettings:
    return GoogleAdsSettings(
        api_url=url,
        token_url=f"{url}/token",
        developer_token=SecretStr("dev"),
        client_id="client",
        client_secret=SecretStr("secret"),
        refresh_token=SecretStr("refresh"),
        customer_ids=customers,
    )


@pytest.fixture(scope="module")
def outcome(settings: Settings) -> Iterator[PollOutcome]:
    with ScriptedApi(script) as api:
        google = google_settings(api.url, list(CATALOGUE.by_account))
        client = GoogleAdsClient(
            google, retry=RetryPolicy(attempts=2, base_delay_s=0), sleep=lambda _: None
        )
        real = GoogleAdsSource(google, client)
        name = f"badinput_gads_{api.bound_port}"
        yield poll(settings, RenamedSource(name, list(CATALOGUE.by_account), lambda _: real))


test_the_catalogue_holds_at_least_40_bad_answers, test_each_answer_gives_its_outcome = poll_tests(
    CATALOGUE
)


TOKEN_ANSWERS = [
    ("truncated JSON", Reply(200, TOKEN[:10]), ApiUnavailable),
    ("HTML with 200", Reply(200, b"<html>sign in</html>", HTML), ApiUnavailable),
    (
        "access_token a number",
        Reply(200, b'{"access_token": 5, "expires_in": 3600}'),
        ApiUnavailable,
    ),
    ("no access_token", Reply(200, b'{"expires_in": 3600}'), ApiUnavailable),
    ("expires_in text", Reply(200, b'{"access_token": "a", "expires_in": "soon"}'), ApiUnavailable),
    ("HTML 502", Reply(502, b"<html>bad gateway</html>", HTML), ApiUnavailable),
    ("HTML 400", Reply(400, b"<html>bad request</html>", HTML), InvalidRequest),
    ("error an object", Reply(400, b'{"error": {"code": 1}}'), InvalidRequest),
]


@pytest.mark.parametrize(
    ("answer", "error"), [(a, e) for _, a, e in TOKEN_ANSWERS], ids=[i for i, _, _ in TOKEN_ANSWERS]
)
def test_a_malformed_token_answer_is_a_clear_error(answer: Reply, error: type[Exception]) -> None:
    with ScriptedApi(lambda _request, _base: answer) as api:
        credentials = RefreshTokenCredentials(
            f"{api.url}/token", "client", SecretStr("secret"), SecretStr("refresh")
        )
        with pytest.raises(error, match="OAuth token"):
            credentials.access_token()
