"""Malformed Insights answers: each fails its account with a clear error (a SourceError marked
Transient or Terminal, its cursor left for the next run), never a silent skip or a crash;
rows of odd content are published verbatim for the normalizer to judge; the good accounts
polled in the same run publish every row and move their cursors.

One run of the real poller and InsightsClient against a scripted Graph API: one ad account
per catalogue entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from headwater.settings import FacebookSettings, Settings
from producers.facebook_ads.client import InsightsClient
from producers.facebook_ads.source import FacebookAdsSource
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
from tests.support.scripted_api import JSON, Reply, Request, ScriptedApi

VERSION = "v23.0"
TOKEN = "badinput-token"


def row(n: int, **changes: Any) -> dict[str, Any]:
    """A good Insights row (every number a string)."""
    return {
        "account_id": "91", "account_currency": "EUR", "campaign_id": "2385", "adset_id": "6",
        "ad_id": f"7{n:04d}", "ad_name": f"Ad {n}", "impressions": str(100 + n),
        "clicks": str(n), "spend": f"{n}.25", "date_start": DAY.isoformat(),
        "date_stop": DAY.isoformat(),
    } | changes  # fmt: skip


def body(rows: list[Any], after: str | None = None, **extra: Any) -> bytes:
    """A page: its rows and, unless it is the last, a ``next`` (the client follows it)."""
    page: dict[str, Any] = {"data": rows}
    if after is not None:
        page["paging"] = {"cursors": {"after": after}, "next": f"NEXT?after={after}"}
    return json.dumps(page | extra, ensure_ascii=False).encode()


def ok(raw: bytes) -> Reply:
    return Reply(200, raw, JSON)


GOOD_PAGE = body([row(1), row(2)])


def shapes() -> list[PollCase]:
    """Graph-specific answers that are no Insights page."""

    def wrong(case: str, raw: bytes) -> PollCase:
        return PollCase(case, (ok(raw),), "ApiUnavailable", True, says="unexpected answer")

    error_200 = json.dumps({"error": "oops"}).encode()
    error_code = json.dumps({"error": {"code": "abc", "message": "x"}}).encode()
    return [
        wrong("data a string", body("rows")),  # type: ignore[arg-type]
        wrong("data null", json.dumps({"data": None}).encode()),
        wrong("data rows not objects", body([1, "two"])),
        wrong("data rows lists", body([["ad_id", "1"]])),
        wrong("no data", json.dumps({"paging": {}}).encode()),
        wrong("paging a string", body([row(1)], paging="next")),
        wrong("paging.next a number", body([row(1)], paging={"next": 5})),
        PollCase("an object for an error", (ok(error_200),), "InvalidRequest", False),
        PollCase("an error whose code is text", (Reply(400, error_code),), "InvalidRequest", False),
        PollCase(
            "a page that names itself next",
            (ok(body([row(1)], after="p1")), ok(body([row(2)], after="p1"))),
            "ApiUnavailable",
            True,
            published=2,
            says="cursor 'p1' twice",
        ),
        PollCase(
            "page 2 truncated after a good page 1",
            (ok(body([row(1), row(2)], after="p1")), ok(GOOD_PAGE[:20])),
            "ApiUnavailable",
            True,
            published=2,
        ),
        PollCase(
            "one row of 10 MB",
            (ok(body([row(1), row(2, campaign_name="c" * TEN_MB)])),),
            "RecordTooLarge",
            False,
            published=1,
            says="message.max.bytes",
        ),
    ]


def odd_rows() -> list[PollCase]:
    """Pages that are Insights pages, whose rows hold what the normalizer refuses: the poller
    publishes them verbatim (raw topics keep what the API said)."""

    def verbatim(case: str, raw: bytes, published: int) -> PollCase:
        return PollCase(case, (ok(raw),), published=published)

    nan = body([row(1, spend="@")]).replace(b'"@"', b"NaN")
    infinite = body([row(1, spend="@")]).replace(b'"@"', b"1e309")
    surrogate = body([row(1, ad_name="@")]).replace(b'"@"', b'"Ad \\udc80"')
    duplicate = body([row(1)]).replace(b'"spend": "1.25"', b'"spend": "9", "spend": "1.25"')
    return [
        verbatim("a NaN literal", nan, 1),
        verbatim("a 1e309 literal", infinite, 1),
        verbatim("a lone surrogate", surrogate, 1),
        verbatim("duplicate keys", duplicate, 1),
        verbatim("numbers as numbers", body([row(1, impressions=100, spend=1.5)]), 1),
        verbatim(
            "a row without ad_id", body([{k: v for k, v in row(1).items() if k != "ad_id"}]), 1
        ),
        verbatim("an empty row", body([{}]), 1),
        verbatim(
            "a page of 10 MB", body([row(n, ad_name="a" * 5_000) for n in range(2_000)]), 2_000
        ),
        verbatim("usage headers that are no JSON", GOOD_PAGE, 2),
        verbatim("a BOM before the JSON", b"\xef\xbb\xbf" + GOOD_PAGE, 2),
    ]


BAD = broken_pages(GOOD_PAGE) + shapes() + odd_rows()
CATALOGUE = poll_catalogue(
    BAD, lambda n: (ok(body([row(n), row(n + 1)])),), lambda n: f"{91_000_000 + n}"
)


def script(request: Request, base: str) -> Reply:
    """Each account's pages, the ``after`` cursor choosing the page; ``NEXT`` points back."""
    account = request.path.split("/act_", 1)[1].split("/", 1)[0]
    pages = CATALOGUE.by_account[account].pages
    index = 0 if "after" not in request.query else int(request.query["after"][1:])
    reply = pages[min(index, len(pages) - 1)]
    next_url = f"{base}/{VERSION}/act_{account}/insights".encode()
    if CATALOGUE.by_account[account].id == "usage headers that are no JSON":
        reply = Reply(
            200, reply.body, (*JSON, ("x-app-usage", "{not json"), ("x-ad-account-usage", "[1]"))
        )
    return Reply(reply.status, reply.body.replace(b"NEXT", next_url), reply.headers, reply.cut_at)


@pytest.fixture(scope="module")
def outcome(settings: Settings) -> Iterator[PollOutcome]:
    with ScriptedApi(script) as api:
        client = InsightsClient(
            api.url,
            VERSION,
            TOKEN,
            retry=RetryPolicy(attempts=2, base_delay_s=0),
            sleep=lambda _: None,
        )
        facebook = FacebookSettings(
            graph_url=api.url,
            access_token=SecretStr(TOKEN),
            ad_account_ids=list(CATALOGUE.by_account),
        )
        real = FacebookAdsSource(facebook, client, sync_max_days=31)
        yield poll(
            settings,
            RenamedSource(
                f"badinput_fb_{api.bound_port}", list(CATALOGUE.by_account), lambda _: real
            ),
        )


test_the_catalogue_holds_at_least_40_bad_answers, test_each_answer_gives_its_outcome = poll_tests(
    CATALOGUE
)


def test_odd_rows_are_published_verbatim(outcome: PollOutcome) -> None:
    for case in odd_rows()[:5]:
        (envelope,) = outcome.envelopes[CATALOGUE.accounts[case.id]]
        sent = json.loads(case.pages[0].body)["data"][0]
        assert envelope["payload"] == sent or case.id in ("a NaN literal",)
