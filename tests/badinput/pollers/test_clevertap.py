"""Malformed answers of CleverTap's events export: each fails its account with a clear error
(a SourceError marked Transient or Terminal, the cursor left for the next run), never a
silent skip or a crash; records of odd content are published verbatim; the good accounts
polled in the same run publish every record and move their cursors.

One run of the real poller, CleverTapSource and CleverTapClient against a scripted CleverTap
API: one account (its own client, told apart by X-CleverTap-Account-Id) per entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from headwater.settings import CleverTapSettings, Settings
from producers.clevertap.client import CleverTapClient
from producers.clevertap.source import CleverTapSource
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

EVENT = "Charged"
TS = int(DAY.strftime("%Y%m%d")) * 1_000_000 + 93_015


def record(n: int, **changes: Any) -> dict[str, Any]:
    """A good exported event."""
    return {
        "profile": {"identity": f"user{n}", "platform": "Android"},
        "ts": TS + n,
        "event_props": {"Amount": f"{n}.99", "Currency": "INR", "campaign_id": "fb-1"},
    } | changes


def page(records: list[Any], next_cursor: str | None = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {"status": "success", "records": records}
    if next_cursor is not None:
        body["next_cursor"] = next_cursor
    return json.dumps(body | extra, ensure_ascii=False).encode()


def ok(raw: bytes) -> Reply:
    return Reply(200, raw, JSON)


START = ok(b'{"status": "success", "cursor": "c1"}')
GOOD_PAGE = page([record(1), record(2)])


def exported(case: PollCase) -> PollCase:
    """The case's answers as the export's pages, after a good start."""
    return PollCase(
        case.id, (START, *case.pages), case.kind, case.transient, case.published, case.says
    )


def shapes() -> list[PollCase]:
    """Answers that are no step of the export."""

    def unexpected(case: str, *pages: bytes, published: int = 0) -> PollCase:
        return PollCase(
            case, tuple(ok(p) for p in pages), "ApiUnavailable", True, published, "unexpected"
        )

    def refused(case: str, *pages: Reply, says: str = "", published: int = 0) -> PollCase:
        return PollCase(case, pages, "ApiUnavailable", True, published, says)

    expired = ok(b'{"status": "fail", "error": "Cursor expired or invalid", "code": 400}')
    return [
        unexpected("start: a cursor that is a number", b'{"status": "success", "cursor": 5}'),
        refused("start: no status", ok(b'{"cursor": "c1"}'), says="unknown refusal"),
        unexpected("records a string", START.body, page("rows")),  # type: ignore[arg-type]
        unexpected("records not objects", START.body, page([1, 2])),
        unexpected("records missing", START.body, b'{"status": "success"}'),
        unexpected("next_cursor a number", START.body, page([record(1)], next_cursor=7)),  # type: ignore[arg-type]
        refused(
            "next_cursor the same again",
            START,
            ok(page([record(1), record(2)], next_cursor="c1")),
            says="repeats a cursor",
            published=2,
        ),
        refused("a code that is text", START, ok(b'{"status": "fail", "code": "abc"}')),
        refused("status partial", START, ok(page([record(1)], status="partial"))),
        refused("success with HTTP 500", START, Reply(500, GOOD_PAGE), says="the API failed"),
        refused("the cursor expires every time", START, expired, says="lost its cursor"),
        refused(
            "page 2 truncated after a good page 1",
            START,
            ok(page([record(1), record(2)], next_cursor="c2")),
            ok(GOOD_PAGE[:30]),
            says="not JSON",
            published=2,
        ),
        PollCase(
            "one record of 10 MB",
            (START, ok(page([record(1), record(2, event_props={"utm": "u" * TEN_MB})]))),
            "RecordTooLarge",
            False,
            published=1,
            says="message.max.bytes",
        ),
    ]


def odd_records() -> list[PollCase]:
    """Pages whose records hold what the normalizer refuses: published verbatim."""

    def verbatim(case: str, raw: bytes, published: int = 1) -> PollCase:
        return PollCase(case, (START, ok(raw)), published=published)

    nan = page([record(1, event_props={"Amount": "@"})]).replace(b'"@"', b"NaN")
    infinite = page([record(1, event_props={"Amount": "@"})]).replace(b'"@"', b"1e309")
    surrogate = page([record(1, profile={"identity": "@"})]).replace(b'"@"', b'"u\\ud800"')
    duplicate = page([record(1)]).replace(
        b'"Currency": "INR"', b'"Currency": "EUR", "Currency": "INR"'
    )
    return [
        verbatim("a NaN literal", nan),
        verbatim("a 1e309 literal", infinite),
        verbatim("a lone surrogate", surrogate),
        verbatim("duplicate keys", duplicate),
        verbatim("profile a list", page([record(1, profile=["user1"])])),
        verbatim("ts a date", page([record(1, ts="2026-11-27")])),
        verbatim("an empty record", page([{}])),
        verbatim(
            "a page of 10 MB",
            page([record(n, event_props={"x": "e" * 5_000}) for n in range(2_000)]),
            2_000,
        ),
    ]


BAD = [exported(case) for case in broken_pages(GOOD_PAGE)] + shapes() + odd_records()
CATALOGUE = poll_catalogue(
    BAD, lambda n: (START, ok(page([record(n), record(n + 1)]))), lambda n: f"BAD-{n:03d}"
)


def script(request: Request, _base: str) -> Reply:
    """The POST starts the export (the first answer); ``cursor=c<n>`` reads answer n."""
    pages = CATALOGUE.by_account[request.headers["X-CleverTap-Account-Id"]].pages
    index = 0 if request.method == "POST" else int(request.query["cursor"][1:])
    return pages[min(index, len(pages) - 1)]


@pytest.fixture(scope="module")
def outcome(settings: Settings) -> Iterator[PollOutcome]:
    with ScriptedApi(script) as api:
        clevertap = CleverTapSettings(api_url=api.url, events=[EVENT])
        sources = {
            account: CleverTapSource(
                clevertap,
                CleverTapClient(
                    api.url,
                    account,
                    SecretStr("passcode"),
                    retry=RetryPolicy(attempts=2, base_delay_s=0),
                    sleep=lambda _: None,
                ),
                max_export_restarts=1,
            )
            for account in CATALOGUE.by_account
        }
        name = f"badinput_ct_{api.bound_port}"
        yield poll(settings, RenamedSource(name, list(CATALOGUE.by_account), sources.__getitem__))


test_the_catalogue_holds_at_least_40_bad_answers, test_each_answer_gives_its_outcome = poll_tests(
    CATALOGUE
)
