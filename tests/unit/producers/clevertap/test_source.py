"""CleverTapSource against the sandbox: every event once, verbatim, keyed; late events; restarts."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest
from pydantic import SecretStr

from headwater.errors import ConfigurationError, Transient
from headwater.raw import split_clevertap_key
from producers.base import ApiUnavailable, AuthenticationFailed, InvalidRequest, Source, Window
from producers.clevertap import CleverTapClient, CleverTapSource, event_id
from producers.clevertap.source import STREAM
from sandbox.clevertap import SANDBOX_ACCOUNT_ID, CleverTapSandbox
from tests.unit.producers.clevertap.conftest import (
    FAST_RETRIES,
    OLD_DAY,
    TODAY,
    settings_for,
)

EVENTS = ["App Installed", "App Launched", "Sign Up", "Charged"]


def _source(sandbox: CleverTapSandbox, **settings: object) -> CleverTapSource:
    configured = settings_for(sandbox, **settings)
    options = {"retry": FAST_RETRIES, "sleep": lambda _: None}
    return CleverTapSource(configured, CleverTapClient.from_settings(configured, **options))


def _truth(sandbox: CleverTapSandbox, window: Window) -> list[tuple[str, dict[str, object]]]:
    return [
        (event_name, record)
        for day in window.days()
        for event_name in EVENTS
        for record in sandbox.truth(event_name, day)
    ]


def test_the_source_fits_the_poller_contract(sandbox: CleverTapSandbox) -> None:
    source: Source = _source(sandbox)
    assert (source.name, source.api_version, source.default_lookback_days) == ("clevertap", "1", 2)
    assert source.accounts() == [SANDBOX_ACCOUNT_ID]
    assert source.streams() == ["events"]


def test_every_event_of_the_window_once_verbatim_and_keyed(sandbox: CleverTapSandbox) -> None:
    window = Window(OLD_DAY, OLD_DAY + timedelta(days=1))
    records = list(_source(sandbox).fetch(SANDBOX_ACCOUNT_ID, window))
    truth = _truth(sandbox, window)
    assert len(records) == len(truth) > 800
    assert len({record.key for record in records}) == len(records)
    for record, (event_name, expected) in zip(records, truth, strict=True):
        assert (record.stream, record.account) == (STREAM, SANDBOX_ACCOUNT_ID)
        assert split_clevertap_key(record.key)[0] == event_name
        assert json.dumps(record.payload) == json.dumps(expected)  # same keys, same order
    assert Counter(split_clevertap_key(record.key)[0] for record in records).keys() == set(EVENTS)


def test_one_export_per_event_name_per_day(sandbox: CleverTapSandbox) -> None:
    window = Window(OLD_DAY, OLD_DAY + timedelta(days=2))
    list(_source(sandbox).fetch(SANDBOX_ACCOUNT_ID, window))
    assert [r.method for r in sandbox.requests()].count("POST") == 3 * len(EVENTS)


def test_a_raw_record_payload() -> None:
    """The payload is the API's record, untouched; the event name lives in the key."""
    with CleverTapSandbox(seed=11, today=lambda: TODAY) as sandbox:
        first = next(_source(sandbox).fetch(SANDBOX_ACCOUNT_ID, Window(OLD_DAY, OLD_DAY)))
    assert first.key.startswith("App Installed|")
    assert set(first.payload) == {"profile", "ts", "event_props"}
    assert str(first.payload["ts"]).startswith("20261110")


def test_late_events_appear_on_a_later_pull(sandbox: CleverTapSandbox) -> None:
    window = Window(TODAY - timedelta(days=1), TODAY)
    source = _source(sandbox)
    first = {record.key for record in source.fetch(SANDBOX_ACCOUNT_ID, window)}
    sandbox.advance()
    second = {record.key for record in source.fetch(SANDBOX_ACCOUNT_ID, window)}
    assert first < second
    assert len(second) == len(_truth(sandbox, window))
    late_days = {
        record.key for record in source.fetch(SANDBOX_ACCOUNT_ID, Window(OLD_DAY, OLD_DAY))
    }
    sandbox.advance()
    assert {r.key for r in source.fetch(SANDBOX_ACCOUNT_ID, Window(OLD_DAY, OLD_DAY))} == late_days


def test_identical_events_get_distinct_ids_by_occurrence(sandbox: CleverTapSandbox) -> None:
    day, twins = _day_with_twins(sandbox)
    records = [
        record
        for record in _source(sandbox).fetch(SANDBOX_ACCOUNT_ID, Window(day, day))
        if split_clevertap_key(record.key)[0] == "App Launched"
    ]
    assert len(records) == len(sandbox.truth("App Launched", day))
    assert len({record.key for record in records}) == len(records)
    copies = [r for r in records if json.dumps(r.payload, sort_keys=True) == twins]
    assert len(copies) == 2
    ids = [split_clevertap_key(r.key)[1] for r in copies]
    assert ids[0] == event_id("App Launched", copies[0].payload)
    assert ids[1] == event_id("App Launched", copies[1].payload, occurrence=1) != ids[0]


def _day_with_twins(sandbox: CleverTapSandbox) -> tuple[date, str]:
    for offset in range(30):
        day = OLD_DAY - timedelta(days=offset)
        counts = Counter(
            json.dumps(record, sort_keys=True) for record in sandbox.truth("App Launched", day)
        )
        twins = [record for record, count in counts.items() if count == 2]
        if twins:
            return day, twins[0]
    raise AssertionError("the sandbox sent no launch twice in 30 days")


def test_an_expired_cursor_restarts_that_day_and_loses_nothing(sandbox: CleverTapSandbox) -> None:
    source = _source(sandbox, events=["App Launched"], batch_size=50)
    records = source.fetch(SANDBOX_ACCOUNT_ID, Window(OLD_DAY, OLD_DAY))
    before = [next(records) for _ in range(60)]  # into the second page, which has a next one
    sandbox.expire_cursors()
    after = list(records)
    keys = [record.key for record in before + after]
    truth = sandbox.truth("App Launched", OLD_DAY)
    assert len(set(keys)) == len(truth) > 200
    assert [r.status for r in sandbox.requests()].count(400) == 1
    # The restart repeats what the day had yielded up to the refused page, in the same order.
    repeated = len(keys) - len(truth)
    assert 60 <= repeated < len(truth)
    assert keys[:repeated] == keys[repeated : 2 * repeated]


def test_cursor_restarts_are_bounded() -> None:
    with CleverTapSandbox(seed=11, today=lambda: TODAY, cursor_ttl_s=0) as sandbox:
        source = _source(sandbox)
        with pytest.raises(ApiUnavailable, match="lost its cursor 4 times") as raised:
            list(source.fetch(SANDBOX_ACCOUNT_ID, Window(OLD_DAY, OLD_DAY)))
        posts = [r for r in sandbox.requests() if r.method == "POST"]
    assert isinstance(raised.value, Transient)
    assert len(posts) == source.max_export_restarts + 1


def test_bad_credentials_stop_the_fetch(sandbox: CleverTapSandbox) -> None:
    settings = settings_for(sandbox, passcode=SecretStr("WRONG"))
    source = CleverTapSource(settings)
    with pytest.raises(AuthenticationFailed, match="HEADWATER_CLEVERTAP__ACCOUNT_ID"):
        list(source.fetch(SANDBOX_ACCOUNT_ID, Window(OLD_DAY, OLD_DAY)))
    assert len(sandbox.requests()) == 1


def test_no_configured_event_is_a_configuration_error(sandbox: CleverTapSandbox) -> None:
    with pytest.raises(ConfigurationError, match="HEADWATER_CLEVERTAP__EVENTS"):
        CleverTapSource(settings_for(sandbox, events=[]))


def test_another_account_is_refused(sandbox: CleverTapSandbox) -> None:
    with pytest.raises(InvalidRequest, match="not the configured"):
        list(_source(sandbox).fetch("OTHER-ACCOUNT", Window(OLD_DAY, OLD_DAY)))
    assert sandbox.requests() == []
