"""A service started while Kafka does not answer says so in one line, soon, and exits with
the transient status (its supervisor starts it again later), instead of a page of raw
librdkafka lines after half a minute. Kafka here is a port nothing listens on."""

from __future__ import annotations

import time

import pytest

from tests.support.services import headwater_with

UNREACHABLE = {
    "HEADWATER_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1",
    "HEADWATER_KAFKA__SECURITY_PROTOCOL": "PLAINTEXT",
    "HEADWATER_WAREHOUSE__DSN": "postgresql://sink@127.0.0.1:1/warehouse",
    "HEADWATER_FACEBOOK__ACCESS_TOKEN": "token",
    "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS": "act_1",
    "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": "k" * 40,
    "HEADWATER_HTTP__PORT": "0",
}


@pytest.mark.parametrize("command", [["sink", "cdc"], ["process"], ["poll", "facebook_ads"]])
def test_an_unreachable_kafka_is_one_line_and_a_transient_exit(command: list[str]) -> None:
    started = time.monotonic()
    done = headwater_with(*command, env=UNREACHABLE, timeout=90)
    took = time.monotonic() - started
    print(f"headwater {' '.join(command)}: exit {done.returncode} after {took:.1f} s")
    assert done.returncode == 75, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("headwater:")]
    assert len(said) == 1, done.stderr
    assert said[0].startswith("headwater: Kafka at 127.0.0.1:1 did not answer")
    assert "HEADWATER_KAFKA__BOOTSTRAP_SERVERS" in said[0]
    assert "Connection refused" in said[0]
    assert said[0].count("Connection refused") == 1  # one of each cause, not one per retry
    assert not [line for line in done.stderr.splitlines() if line.startswith("%")]
    assert len(done.stderr.splitlines()) <= 3, done.stderr  # the plaintext warning, the line
