"""An unreachable Kafka is one clear line, soon, and the transient exit status: what could not
be reached and which setting to check, with librdkafka's own lines as (few) JSON log lines."""

import json
import subprocess
import sys
import time

import pytest

from tests.support.services import headwater_with

KAFKA = "127.0.0.1:1"  # nothing listens there: every connection is refused
DSN = "postgresql://u:p@127.0.0.1:1/db"
#: everything a service needs, except a Kafka that answers
CONFIGURED = {
    "HEADWATER_KAFKA__BOOTSTRAP_SERVERS": KAFKA,
    "HEADWATER_KAFKA__SECURITY_PROTOCOL": "PLAINTEXT",
    "HEADWATER_WAREHOUSE__DSN": DSN,
    "HEADWATER_SOURCE__DSN": DSN,
    "HEADWATER_FACEBOOK__ACCESS_TOKEN": "token",
    "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS": "act_1",
    "HEADWATER_HTTP__PORT": "0",
}
TRANSIENT = 75  # main.py: a Transient error, worth a restart later


@pytest.mark.parametrize("args", [("poll", "facebook_ads"), ("sink", "cdc"), ("process",)])
def test_an_unreachable_kafka_is_one_line_and_a_transient_exit(args: tuple[str, ...]) -> None:
    started = time.monotonic()
    done = headwater_with(*args, env=CONFIGURED, timeout=120)
    took = time.monotonic() - started
    print(f"headwater {' '.join(args)}: exit {done.returncode} after {took:.1f}s")
    assert done.returncode == TRANSIENT, done.stderr
    lines = done.stderr.splitlines()
    said = [line for line in lines if line.startswith("headwater:")]
    assert len(said) == 1, done.stderr
    assert said[0].startswith(f"headwater: Kafka at {KAFKA} did not answer"), said[0]
    assert "check HEADWATER_KAFKA__BOOTSTRAP_SERVERS" in said[0]
    assert "Connection refused" in said[0]
    assert len(lines) <= 5, done.stderr
    assert not any(line.startswith("%") for line in lines), done.stderr
    assert took < 45


#: a producer that cannot reach its broker, logging the way the services do
_PRODUCER = f"""
from headwater.kafka.clients import make_producer
from headwater.logs import configure_logging
from headwater.settings import KafkaSettings

configure_logging("INFO", "json")
settings = KafkaSettings(bootstrap_servers="{KAFKA}", security_protocol="PLAINTEXT")
producer = make_producer(settings, **{{"message.timeout.ms": 3000}})
producer.produce("t", b"v")
producer.flush(5)  # returns once the message timed out: librdkafka retried meanwhile
"""


def test_librdkafka_lines_are_json_log_lines_with_repeats_collapsed() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PRODUCER], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # every line is JSON
    librdkafka = [line for line in lines if line["logger"] == "headwater.kafka.librdkafka"]
    refused = [line for line in librdkafka if "Connection refused" in line["msg"]]
    assert len(refused) == 1, done.stderr  # librdkafka retried: the repeats were collapsed
    assert refused[0]["level"] == "error"
