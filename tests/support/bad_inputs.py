"""The bad-input catalogue's vocabulary: a malformed record and the reason it must be given,
records interleaved with good ones, and the raw envelopes every API normalizer refuses."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from headwater import dlq
from headwater.settings import Settings
from headwater.topology import ApiSource, load
from stream_processors.base import Stage, TransformStage
from tests.support.kafka_io import Record
from tests.support.stage_run import DeadLetter, StageRun, redirected

#: Ten MiB: the size of the catalogue's huge payloads.
TEN_MB = 10 * 1024 * 1024


@dataclass(frozen=True)
class Bad:
    """A malformed input: its record, and a fragment its dead letter's reason must hold (or
    one of several, where the wording is another change's to decide)."""

    id: str
    value: bytes | None
    reason: str | tuple[str, ...]
    key: bytes | None = b"bad"
    #: too large for Kafka: its dead letter names it without carrying it
    too_large: bool = False
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def record(self) -> Record:
        """The record to produce, its id in a header of its own."""
        return (self.key, self.value, [*self.headers, ("case", self.id.encode())])


@dataclass(frozen=True)
class Batch:
    """Good and bad records interleaved (good, bad, good, ..., good) on one partition."""

    records: list[Record]
    #: the offset of each bad case, by its id
    bad: dict[str, int]
    #: the offset of each good record, in the order given
    good: list[int]


def interleave(good: Sequence[Record], bad: Sequence[Bad]) -> Batch:
    """A bad record after each good one, as long as both last; the rest of either after."""
    ids = [case.id for case in bad]
    assert len(set(ids)) == len(ids), "catalogue ids repeat"
    records: list[Record] = []
    bad_at: dict[str, int] = {}
    good_at: list[int] = []
    for n in range(max(len(good), len(bad))):
        if n < len(good):
            good_at.append(len(records))
            records.append(good[n])
        if n < len(bad):
            bad_at[bad[n].id] = len(records)
            records.append(bad[n].record)
    return Batch(records, bad_at, good_at)


def dumps(document: Any) -> bytes:
    """JSON as a producer writes it (``NaN`` and ``Infinity`` literals allowed)."""
    return json.dumps(document, ensure_ascii=False).encode()


def raw_envelope(source: str, stream: str, account: str, payload: Any) -> dict[str, Any]:
    """A raw envelope as the pollers write it, fetched at a fixed time."""
    return {
        "source": source,
        "stream": stream,
        "account": account,
        "window": {"since": "2026-11-01", "until": "2026-11-28"},
        "fetched_at": "2026-11-28T06:00:00.123456+00:00",
        "api_version": "v1",
        "request": {},
        "payload": payload,
    }


def _without(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != name}


def broken_envelopes(good: dict[str, Any], key: bytes | None = b"bad") -> list[Bad]:
    """Raw records that are no envelope a normalizer can read, made from a good envelope."""
    text = dumps(good)
    opening = b'"source": "'
    assert opening in text

    def at(name: str, value: Any) -> bytes:
        return dumps(good | {name: value})

    cases = [
        Bad("tombstone", None, "has no value"),
        Bad("empty value", b"", "not JSON"),
        Bad("truncated JSON", text[: len(text) // 2], "not JSON"),
        Bad("truncated by one byte", text[:-1], "not JSON"),
        Bad("invalid UTF-8", text.replace(opening, opening + b"\xff\xfe", 1), "not JSON"),
        Bad("NUL byte in the JSON", text.replace(opening, opening + b"\x00", 1), "not JSON"),
        Bad("NUL byte outside strings", b"\x00" + text, "not JSON"),
        Bad("trailing garbage", text + b"}", "not JSON"),
        Bad("JSON array", b"[" + text + b"]", "not an envelope"),
        Bad("JSON string", dumps("payload"), "not an envelope"),
        Bad("JSON null", b"null", "not an envelope"),
        Bad("JSON number 1e309", b"1e309", "not an envelope"),
        Bad("payload missing", dumps(_without(good, "payload")), "not an envelope"),
        Bad("payload a list", at("payload", [good["payload"]]), "not an envelope"),
        Bad("payload a string", at("payload", json.dumps(good["payload"])), "not an envelope"),
        Bad("fetched_at missing", dumps(_without(good, "fetched_at")), "fetched_at"),
        Bad("fetched_at not a time", at("fetched_at", "yesterday"), "envelope field"),
        Bad("fetched_at without zone", at("fetched_at", "2026-11-28T06:00:00"), "timezone"),
        Bad("fetched_at Feb 30", at("fetched_at", "2026-02-30T06:00:00+00:00"), "envelope field"),
        Bad("fetched_at year 10000", at("fetched_at", "10000-01-01T00:00:00+00:00"), "envelope"),
        Bad("fetched_at year 0", at("fetched_at", "0000-12-31T23:00:00+00:00"), "envelope field"),
        Bad(
            "fetched_at near year 1 in UTC+5:30",
            at("fetched_at", "0001-01-01T00:30:00+05:30"),
            "before 0001-01-01",
        ),
        Bad("fetched_at a number", at("fetched_at", 1_764_309_600), "envelope field"),
        Bad("source missing", dumps(_without(good, "source")), "envelope field"),
        Bad("account missing", dumps(_without(good, "account")), "envelope field"),
    ]
    return [dataclasses.replace(case, key=key) for case in cases]


def normalizer_of(
    source: ApiSource, adjust: Callable[[Settings], Settings] = lambda own: own
) -> Callable[[StageRun, str, str], Stage]:
    """The source's normalizer as the processor builds it (``normalizer_stages``), with the
    run's settings (``adjust``-ed), reading the run's raw topic, writing its normalized one."""

    def stage(run: StageRun, raw: str, normalized: str) -> Stage:
        factory: Callable[[Settings], Any] = load(source.normalizer)
        transform = redirected(factory(adjust(run.settings)), {source.normalized: normalized})
        return TransformStage(f"normalize_{source.name}", run.label, [raw], transform)

    return stage


def assert_dead_letter(letter: DeadLetter | None, case: Bad) -> None:
    """The case's dead letter: its reason, and the original record (or, for one too large
    for Kafka, a note of what was left out)."""
    assert letter is not None, f"{case.id}: no dead letter"
    fragments = (case.reason,) if isinstance(case.reason, str) else case.reason
    assert any(f.lower() in letter.reason.lower() for f in fragments), letter.reason
    if case.too_large:
        assert (letter.key, letter.value) == (None, None)
        assert "message.max.bytes" in letter.headers[dlq.OMITTED]
    else:
        assert (letter.key, letter.value) == (case.key, case.value)
    assert letter.headers["case"] == case.id  # its own headers travel with it


Check = Callable[[DeadLetter | None, Bad], None]


def catalogue_tests(
    bad: Sequence[Bad], batch: Batch, check: Check = assert_dead_letter
) -> tuple[Callable[..., None], ...]:
    """The tests of a catalogue of dead letters, for its module to name (pytest collects
    them there): it holds 40 or more entries, each is a dead letter with its reason, and no
    good record is one. The module's fixture ``letters`` gives its dead letters by offset."""

    def test_the_catalogue_holds_at_least_40_bad_inputs() -> None:
        assert len(bad) >= 40

    @pytest.mark.parametrize("case", bad, ids=[case.id for case in bad])
    def test_a_bad_input_is_a_dead_letter_with_its_reason(
        letters: dict[int, DeadLetter], case: Bad
    ) -> None:
        check(letters.get(batch.bad[case.id]), case)

    def test_no_good_record_is_a_dead_letter(letters: dict[int, DeadLetter]) -> None:
        assert sorted(letters) == sorted(batch.bad.values())

    return (
        test_the_catalogue_holds_at_least_40_bad_inputs,
        test_a_bad_input_is_a_dead_letter_with_its_reason,
        test_no_good_record_is_a_dead_letter,
    )
