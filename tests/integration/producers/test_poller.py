"""The poller against real Kafka: envelopes on raw topics, cursors after acknowledgement."""

from __future__ import annotations

import json
from datetime import date, timedelta

from headwater.kafka.clients import make_consumer
from headwater.raw import raw_topic
from headwater.settings import PollerSettings, Settings
from producers.base import Window
from producers.poller import Poller
from tests.conftest import wait_for
from tests.support.fake_source import FakeSource

TODAY = date(2026, 11, 25)


def _settings(base: Settings, state_topic: str) -> Settings:
    return base.model_copy(
        update={"poller": PollerSettings(backfill_days=4, state_topic=state_topic)}
    )


def _read_all(
    settings: Settings, topic: str, expected: int
) -> list[tuple[bytes, dict[str, object]]]:
    consumer = make_consumer(settings.kafka, group_id=f"{topic}-reader")
    consumer.subscribe([topic])
    seen: list[tuple[bytes, dict[str, object]]] = []

    def enough() -> bool:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen.append((message.key(), json.loads(message.value())))
        return len(seen) >= expected

    wait_for(enough, timeout_s=60, interval_s=0, what=f"{expected} records on {topic}")
    consumer.close()
    return seen


def test_records_then_cursor_and_resume_after_restart(settings: Settings, unique_name: str) -> None:
    config = _settings(settings, f"{unique_name}_state")
    source = FakeSource(name=unique_name)
    report = Poller(source, config, today=lambda: TODAY).run_once()
    assert report.ok
    assert report.published == {"a1": 5, "a2": 5}  # backfill: 2026-11-21 .. 2026-11-25
    records = _read_all(config, raw_topic(unique_name, "daily"), 10)
    key, first = records[0]
    assert set(first) == {
        "source",
        "stream",
        "account",
        "window",
        "fetched_at",
        "api_version",
        "request",
        "payload",
    }
    assert first["window"] == {"since": "2026-11-21", "until": "2026-11-25"}
    assert first["payload"] == {"day": key.decode().split("|")[1], "n": 1}

    # A new poller (a restart) reads the cursors back: only the lookback is pulled again.
    restarted = Poller(FakeSource(name=unique_name), config, today=lambda: date(2026, 11, 26))
    report = restarted.run_once()
    assert report.windows["a1"] == Window(date(2026, 11, 23), date(2026, 11, 26))


def test_a_failed_account_keeps_its_cursor(settings: Settings, unique_name: str) -> None:
    config = _settings(settings, f"{unique_name}_state")
    Poller(FakeSource(name=unique_name), config, today=lambda: TODAY).run_once()
    failing = FakeSource(name=unique_name, failing={"a2"})
    later = date(2026, 12, 10)
    report = Poller(failing, config, today=lambda: later).run_once()
    assert list(report.failures) == ["a2"]
    assert "ApiUnavailable" in report.failures["a2"]
    again = Poller(FakeSource(name=unique_name), config, today=lambda: later)
    again.prepare()
    assert again.cursors.get("a1") == later - timedelta(days=1)  # the last complete day
    assert again.cursors.get("a2") == TODAY - timedelta(days=1)  # not moved: not all published


def test_backfill_never_moves_the_cursor_back(settings: Settings, unique_name: str) -> None:
    config = _settings(settings, f"{unique_name}_state")
    Poller(FakeSource(name=unique_name), config, today=lambda: TODAY).run_once()
    backfill = Poller(FakeSource(name=unique_name), config, today=lambda: TODAY)
    report = backfill.run_once(Window(date(2026, 1, 1), date(2026, 1, 31)))
    assert report.published == {"a1": 31, "a2": 31}
    check = Poller(FakeSource(name=unique_name), config, today=lambda: TODAY)
    check.prepare()
    assert check.cursors.get("a1") == TODAY - timedelta(days=1)


def test_refused_credentials_end_the_poll_naming_source_and_setting(
    settings: Settings, unique_name: str
) -> None:
    import pytest

    from producers.base import AuthenticationFailed
    from tests.support.fake_source import RefusingSource

    config = _settings(settings, f"{unique_name}_state")
    poller = Poller(RefusingSource(name="facebook_ads"), config, today=lambda: TODAY)
    with pytest.raises(AuthenticationFailed) as raised:
        poller.run_once()
    assert str(raised.value) == (
        "facebook_ads: HEADWATER_FACEBOOK__ACCESS_TOKEN: "
        "Error validating access token: Session has expired (190/463)"
    )


def test_a_poller_killed_before_the_ack_re_pulls_the_window(
    settings: Settings, unique_name: str
) -> None:
    import pytest

    from tests.support.fake_source import CrashingSource

    config = _settings(settings, f"{unique_name}_state")
    crashing = Poller(CrashingSource(name=unique_name), config, today=lambda: TODAY)
    with pytest.raises(SystemExit):
        crashing.run_once()
    restarted = Poller(FakeSource(name=unique_name), config, today=lambda: TODAY)
    restarted.prepare()
    assert restarted.cursors.get("a1") is None  # nothing was acknowledged as complete
    report = restarted.run_once()
    assert report.windows["a1"] == Window(date(2026, 11, 21), TODAY)  # the same window again
    # Every day of the window is on the topic (some twice, if the killed run's records got out).
    wanted = {f"{account}|2026-11-{d}".encode() for account in ("a1", "a2") for d in range(21, 26)}
    consumer = make_consumer(config.kafka, group_id=f"{unique_name}-reader")
    consumer.subscribe([raw_topic(unique_name, "daily")])
    seen: set[bytes] = set()

    def all_days() -> bool:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen.add(message.key())
        return wanted <= seen

    wait_for(all_days, timeout_s=60, interval_s=0, what="every day of the re-pulled window")
    consumer.close()
