"""Knowing that Kafka acknowledged what we produced, before anything depends on it."""

from __future__ import annotations

from confluent_kafka import KafkaError, Message, Producer

from headwater.errors import DependencyUnavailable


class KafkaUnavailable(DependencyUnavailable):
    """Kafka did not take or did not acknowledge what we produced."""


class DeliveryTracker:
    """Counts acknowledgements and failures of produced messages (pass as ``on_delivery``)."""

    def __init__(self) -> None:
        self.acknowledged = 0
        self.failures: list[str] = []

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.acknowledged += 1
        else:
            self.failures.append(f"{message.topic()}: {error}")

    def confirm(self, producer: Producer, timeout_s: float = 60.0) -> int:
        """Flush; raise unless every message produced with this tracker was acknowledged."""
        remaining = producer.flush(timeout_s)
        if remaining:
            raise KafkaUnavailable(f"{remaining} messages not acknowledged by Kafka in time")
        if self.failures:
            raise KafkaUnavailable(
                f"{len(self.failures)} messages were not delivered, first: {self.failures[0]}"
            )
        return self.acknowledged
