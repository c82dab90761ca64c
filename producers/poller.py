"""The poller: one source, its accounts, the lookback window, raw envelopes, durable cursors."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from headwater.errors import HeadwaterError, is_transient
from headwater.kafka.clients import START_CHECK_S, check_reachable, make_admin, make_producer
from headwater.kafka.delivery import DeliveryTracker, KafkaUnavailable
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.privacy.retention import api_raw_config
from headwater.raw import make_envelope, raw_topic
from headwater.settings import Settings
from headwater.topology import api_source
from producers import metrics
from producers.base import (
    AuthenticationFailed,
    CertificateRefused,
    RawRecord,
    RecordTooLarge,
    Source,
    Window,
)
from producers.state import CursorStore

log = logging.getLogger(__name__)

#: How long one record may wait for the producer to take it before the run gives up.
PRODUCE_TIMEOUT_S = 60.0


def _name_credentials(source: str, message: str) -> str:
    """One line naming the source and, unless the error already does, the setting to fix."""
    first_line = message.splitlines()[0] if message else "credentials refused"
    try:
        setting = api_source(source).credential
    except KeyError:  # a source outside the topology (tests)
        return f"{source}: {first_line}"
    if "HEADWATER_" in first_line:
        return f"{source}: {first_line}"
    return f"{source}: {setting}: {first_line}"


def envelope(source: Source, record: RawRecord, window: Window) -> dict[str, Any]:
    """The raw envelope of one API record (``headwater.raw``)."""
    return make_envelope(
        source=source.name,
        stream=record.stream,
        account=record.account,
        window=window.as_dict(),
        api_version=source.api_version,
        request=record.request,
        payload=record.payload,
    )


def raw_value(document: dict[str, Any]) -> bytes:
    """An envelope as the raw topic's bytes: UTF-8 JSON, the API's text as it came; a string
    that is no Unicode text (a lone surrogate the API escaped) stays escaped as it was sent."""
    try:
        return json.dumps(document, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(document).encode()


def _utf8(text: str) -> bytes:
    return text.encode(errors="backslashreplace")  # a key from a lone surrogate stays readable


@dataclass
class PollReport:
    """What one run did, per account."""

    published: dict[str, int] = field(default_factory=dict)
    windows: dict[str, Window] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    #: whether an account failed because Kafka did not take or acknowledge its records
    kafka_unavailable: bool = False

    @property
    def ok(self) -> bool:
        """Whether every account was polled."""
        return not self.failures


class Poller:
    """Polls one source into its raw topics; cursors advance only after Kafka acknowledged."""

    def __init__(
        self,
        source: Source,
        settings: Settings,
        producer: Producer | None = None,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.source = source
        self.settings = settings
        self.producer = producer or make_producer(settings.kafka)
        self.today = today
        self.cursors = CursorStore(settings, source.name, self.producer)
        self._prepared = False

    def prepare(self) -> None:
        """Create the raw and state topics and read the cursors back."""
        check_reachable(self.settings.kafka, START_CHECK_S)  # a refused login or CA is named here
        replication = self.settings.kafka.replication_factor
        specs = [
            TopicSpec(
                raw_topic(self.source.name, stream),
                self.settings.kafka.default_partitions,
                replication,
                api_raw_config(self.settings, self.source.name),
            )
            for stream in self.source.streams()
        ]
        ensure_topics(make_admin(self.settings.kafka), specs)
        self.cursors.ensure_topic()
        self.cursors.load()
        metrics.LOOKBACK_DAYS.labels(self.source.name).set(self.source.default_lookback_days)
        metrics.INTERVAL.labels(self.source.name).set(self.settings.poller.interval_s)
        metrics.STALE_AFTER.labels(self.source.name).set(self.settings.poller.stale_after)
        self._prepared = True

    @property
    def prepared(self) -> bool:
        """Whether its topics exist and its cursors were read back."""
        return self._prepared

    def window_for(self, account: str) -> Window:
        """From the day after the cursor (or the backfill start), and always the lookback."""
        today = self.today()
        lookback_start = today - timedelta(days=self.source.default_lookback_days)
        cursor = self.cursors.get(account)
        if cursor is None:
            since = min(today - timedelta(days=self.settings.poller.backfill_days), lookback_start)
        else:
            since = min(cursor + timedelta(days=1), lookback_start)
        return Window(min(since, today), today)

    def run_once(self, window: Window | None = None) -> PollReport:
        """Poll every account once: the scheduled window, or the given one (a backfill)."""
        if not self._prepared:
            self.prepare()
        started = time.monotonic()
        report = PollReport()
        for account in self.source.accounts():
            account_window = window or self.window_for(account)
            report.windows[account] = account_window
            try:
                report.published[account] = self._poll_account(account, account_window)
            except AuthenticationFailed as error:
                metrics.ERRORS.labels(self.source.name, "AuthenticationFailed").inc()
                raise AuthenticationFailed(
                    _name_credentials(self.source.name, str(error))
                ) from error
            except CertificateRefused:  # every account would fail alike: stop and say why
                metrics.ERRORS.labels(self.source.name, "CertificateRefused").inc()
                raise
            except HeadwaterError as error:
                report.kafka_unavailable |= isinstance(error, KafkaUnavailable)
                kind = type(error).__name__
                metrics.ERRORS.labels(self.source.name, kind).inc()
                metrics.POLL_RUNS.labels(self.source.name, "failed").inc()
                report.failures[account] = f"{kind}: {error}"
                log.error(
                    "poll failed",
                    extra={
                        "source": self.source.name,
                        "account": account,
                        "error": str(error),
                        "transient": is_transient(error),
                    },
                )
            else:
                metrics.POLL_RUNS.labels(self.source.name, "ok").inc()
        metrics.POLL_SECONDS.labels(self.source.name).observe(time.monotonic() - started)
        if report.ok:
            metrics.LAST_SUCCESS.labels(self.source.name).set(time.time())
        return report

    def _poll_account(self, account: str, window: Window) -> int:
        delivery = DeliveryTracker()
        published = 0
        for record in self.source.fetch(account, window):
            self._produce(
                raw_topic(self.source.name, record.stream),
                _utf8(record.key),
                raw_value(envelope(self.source, record, window)),
                delivery,
            )
            published += 1
            metrics.ROWS_FETCHED.labels(self.source.name, record.stream).inc()
        delivery.confirm(self.producer)  # effects before the cursor moves
        # Only complete days: today's numbers are still growing, so today is never "done".
        # A backfill that starts after the cursor leaves a gap behind it: the cursor stays.
        cursor = self.cursors.get(account)
        if cursor is None or window.since <= cursor + timedelta(days=1):
            self.cursors.advance(account, min(window.until, self.today() - timedelta(days=1)))
        log.info(
            "polled",
            extra={
                "source": self.source.name,
                "account": account,
                "records": published,
                "since": window.since.isoformat(),
                "until": window.until.isoformat(),
            },
        )
        return published

    def _produce(self, topic: str, key: bytes, value: bytes, delivery: DeliveryTracker) -> None:
        """Hand one record to the producer; wait while its queue is full or Kafka is briefly
        away, for up to ``PRODUCE_TIMEOUT_S``, then raise KafkaUnavailable."""
        deadline = time.monotonic() + PRODUCE_TIMEOUT_S
        while True:
            try:
                self.producer.produce(topic, key=key, value=value, on_delivery=delivery)
            except BufferError:  # the local queue is full: Kafka takes records slower, or not
                problem = "the producer's queue stayed full"
            except KafkaException as error:
                kafka_error = error.args[0]
                if isinstance(kafka_error, KafkaError) and (
                    kafka_error.code() == KafkaError.MSG_SIZE_TOO_LARGE
                ):
                    raise RecordTooLarge(
                        f"record {key.decode(errors='replace')[:200]!r} of {len(value)} bytes "
                        f"for {topic} is larger than Kafka takes (message.max.bytes)"
                    ) from error
                if not (isinstance(kafka_error, KafkaError) and kafka_error.retriable()):
                    raise KafkaUnavailable(f"cannot produce to {topic}: {error}") from error
                problem = f"producing to {topic} kept failing: {error}"
            else:
                self.producer.poll(0)
                return
            if time.monotonic() >= deadline:
                raise KafkaUnavailable(f"{problem} for {PRODUCE_TIMEOUT_S:.0f}s")
            self.producer.poll(0.5)  # serve delivery callbacks, which frees the queue

    def run_forever(self, stop: threading.Event) -> None:
        """Poll on the schedule until stopped.

        A run that could not publish because Kafka was away ends the loop with
        KafkaUnavailable: the cursors did not move, and the service exits as "dependency
        unavailable" (status 75), which the supervisor restarts for as long as it takes.
        """
        interval = self.settings.poller.interval_s
        while not stop.is_set():
            started = time.monotonic()
            report = self.run_once()
            if report.kafka_unavailable:
                raise KafkaUnavailable(
                    f"{self.source.name}: Kafka did not take the records: "
                    + "; ".join(report.failures.values())
                )
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
