"""The poller's publishing without Kafka: a full or briefly failing producer is waited for,
a Kafka that does not come back ends the run without moving a cursor, and a cursor only ever
covers complete days."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from headwater.kafka.delivery import KafkaUnavailable
from headwater.settings import PollerSettings, Settings
from producers import poller as poller_module
from producers.base import Window
from producers.poller import Poller
from tests.support.fake_source import FakeSource

TODAY = date(2026, 11, 25)


class FlakyProducer:
    """Refuses the first records as a producer does when Kafka is away, then takes them."""

    def __init__(self, refusals: list[BaseException]) -> None:
        self.refusals = refusals
        self.produced: list[bytes] = []
        self._callbacks: list[Any] = []

    def produce(self, topic: str, key: bytes, value: bytes, on_delivery: Any) -> None:
        if self.refusals:
            raise self.refusals.pop(0)
        self.produced.append(key)
        self._callbacks.append(on_delivery)

    def poll(self, _timeout: float = 0) -> int:
        return 0

    def flush(self, _timeout: float = 0) -> int:
        for callback in self._callbacks:
            callback(None, None)
        self._callbacks.clear()
        return 0


class Cursors:
    """The cursor store, in memory."""

    def __init__(self) -> None:
        self.days: dict[str, date] = {}

    def get(self, account: str) -> date | None:
        return self.days.get(account)

    def advance(self, account: str, day: date) -> None:
        if account not in self.days or self.days[account] < day:
            self.days[account] = day


def _poller(producer: FlakyProducer) -> Poller:
    settings = Settings(poller=PollerSettings(backfill_days=2, interval_s=1))
    poller = Poller(FakeSource(), settings, producer=producer, today=lambda: TODAY)  # type: ignore[arg-type]
    poller.cursors = Cursors()  # type: ignore[assignment]
    poller._prepared = True
    return poller


def _retriable(code: int = KafkaError._TRANSPORT) -> KafkaException:
    return KafkaException(KafkaError(code, "broker down", retriable=True))


def test_a_full_queue_and_a_brief_outage_are_waited_for() -> None:
    producer = FlakyProducer([BufferError("queue full"), _retriable(), BufferError("queue full")])
    report = _poller(producer).run_once()
    assert report.ok
    assert report.published == {"a1": 4, "a2": 4}  # 2026-11-22 .. 2026-11-25, nothing lost
    assert len(producer.produced) == 8


def test_cursors_cover_only_complete_days() -> None:
    poller = _poller(FlakyProducer([]))
    poller.run_once()
    assert poller.cursors.get("a1") == TODAY - timedelta(days=1)
    # the next run pulls today again, whatever the lookback
    assert poller.window_for("a1").until == TODAY
    assert poller.window_for("a1").since <= TODAY


def test_a_backfill_of_past_days_moves_the_cursor_to_its_end() -> None:
    poller = _poller(FlakyProducer([]))
    poller.run_once(Window(date(2026, 11, 1), date(2026, 11, 10)))
    assert poller.cursors.get("a1") == date(2026, 11, 10)


def test_kafka_that_stays_away_ends_the_loop_without_moving_cursors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(poller_module, "PRODUCE_TIMEOUT_S", 0.0)
    refusals: list[BaseException] = [BufferError("queue full")] * 50
    poller = _poller(FlakyProducer(refusals))

    with pytest.raises(KafkaUnavailable, match="queue stayed full"):
        poller.run_forever(threading.Event())

    assert poller.cursors.get("a1") is None
    assert poller.cursors.get("a2") is None


def test_a_refusal_kafka_will_not_retry_fails_the_account_at_once() -> None:
    fatal = KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "denied"))
    report = _poller(FlakyProducer([fatal])).run_once()
    assert report.kafka_unavailable
    assert "KafkaUnavailable" in report.failures["a1"]
    assert report.published == {"a2": 4}


def test_a_backfill_after_the_cursor_leaves_the_gap_to_be_polled() -> None:
    poller = _poller(FlakyProducer([]))
    poller.cursors.advance("a1", date(2026, 11, 1))
    poller.run_once(Window(date(2026, 11, 20), date(2026, 11, 22)))
    assert poller.cursors.get("a1") == date(2026, 11, 1)  # Nov 2..19 still to come
    assert poller.window_for("a1").since == date(2026, 11, 2)
