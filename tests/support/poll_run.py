"""Pollers run against a scripted API: one account per catalogue entry, one poll run for the
whole catalogue, and what each account came to (published records, or the error it failed
with); plus the answers no API should give, for every client alike."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from headwater.errors import Terminal, Transient
from headwater.kafka.clients import make_admin
from headwater.raw import raw_topic
from headwater.settings import Settings
from producers import base
from producers.base import RawRecord, Source, Window
from producers.poller import Poller, PollReport
from tests.support.bad_inputs import TEN_MB
from tests.support.kafka_io import read_all
from tests.support.scripted_api import HTML, JSON, Reply

#: The day polled, and the day the poller believes it is.
DAY = date(2026, 11, 27)
TODAY = date(2026, 11, 28)


@dataclass(frozen=True)
class PollCase:
    """An account whose API answers ``pages`` (one after another, the last one again on every
    further request) and what the poller must make of it: the error it fails with (``kind``,
    the class name, and whether it is Transient), or the records it publishes verbatim."""

    id: str
    pages: tuple[Reply, ...]
    kind: str | None = None
    transient: bool | None = None
    #: records published (also before a failure, for the pages before a broken one)
    published: int = 0
    #: a fragment of the failure's message
    says: str = ""


def broken_pages(good: bytes) -> list[PollCase]:
    """Answers that are no page of any API, made from a good one; every client must fail the
    account with a SourceError (Transient where trying again may help)."""
    html = b"<!DOCTYPE html><html><body><h1>Bad Gateway</h1></body></html>"
    xml = b'<?xml version="1.0"?><error>nope</error>'

    def page(case: str, body: bytes, status: int = 200, **options: Any) -> PollCase:
        headers = options.pop("headers", JSON)
        transient = options.pop("transient", True)
        reply = Reply(status, body, headers, options.pop("cut_at", None))
        return PollCase(case, (reply,), kind="", transient=transient)

    return [
        page("truncated JSON", good[: len(good) // 2]),
        page("truncated by one byte", good[:-1]),
        page("empty body", b""),
        page("HTML error page with 200", html, headers=HTML),
        page("HTML 500", html, 500, headers=HTML),
        page("HTML 502", html, 502, headers=HTML),
        page("HTML 503", html, 503, headers=HTML),
        page("HTML 504", html, 504, headers=HTML),
        page("HTML 404", html, 404, headers=HTML, transient=None),
        page("HTML 429 with Retry-After soon", html, 429, headers=(*HTML, ("Retry-After", "soon"))),
        page("XML", xml, headers=(("Content-Type", "application/xml"),)),
        page("plain text OK", b"OK", headers=(("Content-Type", "text/plain"),)),
        page("JSON null", b"null", transient=None),
        page("JSON number", b"42", transient=None),
        page("JSON string", b'"ok"', transient=None),
        page("JSON true", b"true", transient=None),
        page("invalid UTF-8", good.replace(b'"', b'"\xff\xfe', 1)),
        page("NUL byte", good.replace(b'"', b'"\x00', 1)),
        page("trailing garbage", good + b"}}"),
        page("two documents", good + good),
        page("single quotes", good.replace(b'"', b"'")),
        page("a comment", b"/* page 1 */" + good),
        page("nested 100000 deep", b"[" * 100_000 + b"]" * 100_000),
        page("cut mid-transfer", good, cut_at=len(good) // 2),
        page("gzip that is not", b"garbage", headers=(*JSON, ("Content-Encoding", "gzip"))),
        page("10 MB of garbage", b"x" * TEN_MB),
        page("204 No Content", b"", 204, transient=None),
        page("status 999", html, 999, headers=HTML, transient=None),
    ]


class RenamedSource:
    """Real sources under a name of the test's own (so its raw topic is the test's), one per
    account (or one for all): the poller sees one source with every catalogue account."""

    def __init__(self, name: str, accounts: list[str], source_of: Callable[[str], Source]):
        self.name = name
        self._accounts = accounts
        self._source_of = source_of
        first = source_of(accounts[0])
        self.api_version = first.api_version
        self.default_lookback_days = 1
        self._streams = first.streams()

    def accounts(self) -> list[str]:
        """Every catalogue account."""
        return list(self._accounts)

    def streams(self) -> list[str]:
        """The real source's streams."""
        return list(self._streams)

    def fetch(self, account: str, window: Window) -> Iterator[RawRecord]:
        """The real source's records of the account."""
        return self._source_of(account).fetch(account, window)


@dataclass
class PollOutcome:
    """The run's report, every raw envelope by account, and the cursors it left."""

    report: PollReport
    envelopes: dict[str, list[dict[str, Any]]]
    cursors: dict[str, date]


def poll(settings: Settings, source: RenamedSource) -> PollOutcome:
    """One run of the real poller over :data:`DAY`, its raw and state topics deleted after."""
    poller_settings = settings.poller.model_copy(
        update={"state_topic": f"test.badinput.{uuid.uuid4().hex[:8]}.state", "backfill_days": 1}
    )
    own = settings.model_copy(update={"poller": poller_settings})
    poller = Poller(source, own, today=lambda: TODAY)
    topics = [raw_topic(source.name, stream) for stream in source.streams()]
    try:
        report = poller.run_once(Window(DAY, DAY))
        envelopes: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for topic in topics:
            for message in read_all(own, topic, own.kafka.default_partitions):
                envelope = json.loads(message.value() or b"")
                envelopes[envelope["account"]].append(envelope)
        cursors = {a: c for a in source.accounts() if (c := poller.cursors.get(a)) is not None}
        return PollOutcome(report, dict(envelopes), cursors)
    finally:
        poller.producer.flush(10)
        make_admin(own.kafka).delete_topics([*topics, poller_settings.state_topic])


def assert_outcome(outcome: PollOutcome, account: str, case: PollCase) -> None:
    """The account's outcome is the case's: a clear error (a SourceError marked Transient or
    Terminal, the cursor left where it was), or its records published and the cursor moved."""
    published = outcome.envelopes.get(account, [])
    failure = outcome.report.failures.get(account)
    if case.kind is None:
        assert failure is None, failure
        assert outcome.cursors.get(account) == DAY
    else:
        assert failure is not None, f"{case.id}: no error, {len(published)} records published"
        kind, _, message = failure.partition(": ")
        error = getattr(base, kind, None)
        assert isinstance(error, type), failure
        assert issubclass(error, Transient | Terminal), failure
        if case.kind:
            assert kind == case.kind, failure
        if case.transient is not None:
            assert issubclass(error, Transient) == case.transient, failure
        assert case.says.lower() in message.lower(), failure
        assert account not in outcome.cursors  # the window is polled again next time
        assert not outcome.report.kafka_unavailable
    assert len(published) == case.published, f"{case.id}: {len(published)} records published"


@dataclass(frozen=True)
class PollCatalogue:
    """Bad answers with good accounts around them, and the account each case polls."""

    bad: list[PollCase]
    cases: list[PollCase]
    #: the account of each case, by case id
    accounts: dict[str, str]
    #: the case of each account
    by_account: dict[str, PollCase]


def poll_catalogue(
    bad: list[PollCase], good: Callable[[int], tuple[Reply, ...]], account: Callable[[int], str]
) -> PollCatalogue:
    """Three good accounts, the bad ones, two more good ones (``good(n)``: the pages of good
    account ``n``, two records); ``account(n)`` names the n-th."""
    fine = [PollCase(f"good {n}", good(n), published=2) for n in range(5)]
    cases = fine[:3] + bad + fine[3:]
    accounts = {case.id: account(n) for n, case in enumerate(cases)}
    return PollCatalogue(bad, cases, accounts, {accounts[c.id]: c for c in cases})


def poll_tests(catalogue: PollCatalogue) -> tuple[Callable[..., None], ...]:
    """The tests of a poller's catalogue, for its module to name: it holds 40 or more bad
    answers, and each account's outcome is its case's (the module's fixture ``outcome``)."""

    def test_the_catalogue_holds_at_least_40_bad_answers() -> None:
        assert len(catalogue.bad) >= 40

    @pytest.mark.parametrize("case", catalogue.cases, ids=[c.id for c in catalogue.cases])
    def test_each_answer_gives_its_outcome(outcome: PollOutcome, case: PollCase) -> None:
        assert_outcome(outcome, catalogue.accounts[case.id], case)

    return test_the_catalogue_holds_at_least_40_bad_answers, test_each_answer_gives_its_outcome
