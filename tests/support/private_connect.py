"""A Kafka Connect worker of a test's own, on the test stack's Kafka.

It is configured like the native stack's worker (the same ``KafkaConnect.prepare``, so the
same ``config.providers``), but with its own group, storage topics, port and secrets
folder: a test can read every record of its config, offset and status topics, and never
joins (or disturbs) the shared worker's cluster.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException

from control.stack.kafka import Jars, KafkaConnect
from control.stack.launcher import Stack
from headwater.kafka.acls import CONNECT_GROUP
from headwater.kafka.clients import make_admin
from headwater.settings import Settings, StackSettings
from tests.conftest import wait_for
from tests.support.services import free_port


@dataclass(frozen=True)
class PrivateConnect:
    """Where the worker answers, the folder it reads secrets from, and its topics."""

    url: str
    secrets_dir: Path
    group: str
    log_file: Path

    @property
    def topics(self) -> list[str]:
        """Its config, offset and status topics."""
        return [f"{self.group}-{kind}" for kind in ("configs", "offsets", "status")]

    def settings(self, base: Settings) -> Settings:
        """``base`` pointing at this worker."""
        connect = base.connect.model_copy(update={"url": self.url, "secrets_dir": self.secrets_dir})
        return base.model_copy(update={"connect": connect})

    def env(self) -> dict[str, str]:
        """The ``HEADWATER_CONNECT__*`` variables naming this worker."""
        return {
            "HEADWATER_CONNECT__URL": self.url,
            "HEADWATER_CONNECT__SECRETS_DIR": str(self.secrets_dir),
        }


@contextmanager
def private_connect(settings: Settings, home: Path) -> Iterator[PrivateConnect]:
    """Start a worker (its plugins from the stack's jars), yield it, stop it, drop its topics."""
    # under the stack's Connect group and topic prefix, which the connect principal may use
    group = f"{CONNECT_GROUP}-test-{uuid.uuid4().hex[:8]}"
    stack = StackSettings(
        state_dir=home,
        lib_dir=settings.stack.jars_dir,
        connect_port=free_port(),
        connect_heap="512m",
    )
    # over the stack's SASL_SSL listener as the connect principal, like the stack's worker
    worker = KafkaConnect(stack, Jars(stack), Stack(settings.stack).kafka)
    worker.jars.fetch()
    worker.prepare()
    lines = worker.config.read_text().splitlines()
    properties = dict(line.split("=", 1) for line in lines if "=" in line)
    properties |= {
        "group.id": group,
        "config.storage.topic": f"{group}-configs",
        "offset.storage.topic": f"{group}-offsets",
        "status.storage.topic": f"{group}-status",
    }
    worker.config.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
    worker.start()
    running = PrivateConnect(worker.endpoint, worker.secrets, group, worker.log_file)
    try:
        wait_for(
            worker.ready,
            timeout_s=240,
            interval_s=1,
            what="a private Kafka Connect worker",
            on_timeout=worker.log_tail,
        )
        yield running
    finally:
        worker.stop()
        _drop_topics(settings, running.topics)


def _drop_topics(settings: Settings, topics: list[str]) -> None:
    admin = make_admin(settings.kafka)
    for future in admin.delete_topics(topics, operation_timeout=30).values():
        try:
            future.result()
        except KafkaException as error:  # a topic the worker never created is fine
            if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise
