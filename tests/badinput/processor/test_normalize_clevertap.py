"""CleverTap events the normalizer refuses: each is a dead letter with its reason, and every
good event around it reaches the normalized topic in UTC, pseudonymized, amounts exact.

The account's timezone is Asia/Kolkata (UTC+5:30), where a ``ts`` near year 1 falls before
year 1 in UTC. One run of the real batch runner over the whole catalogue.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from confluent_kafka import Message
from pydantic import SecretStr

from headwater.raw import clevertap_key
from headwater.settings import Settings
from headwater.topology import api_source
from tests.support.bad_inputs import (
    TEN_MB,
    Bad,
    Batch,
    broken_envelopes,
    catalogue_tests,
    dumps,
    interleave,
    normalizer_of,
    raw_envelope,
)
from tests.support.kafka_io import Record
from tests.support.stage_run import NormalizerRun, read_record, run_normalizer

SOURCE = api_source("clevertap")
ACCOUNT = "W8R-BADINPUT"
KOLKATA = ZoneInfo("Asia/Kolkata")
PSEUDONYMIZATION_KEY = "badinput-key-of-at-least-32-bytes"
FIRST = datetime(2026, 11, 1, 9, 30, 15, tzinfo=KOLKATA)
GOOD_EVENTS = 60


def export_id(n: int) -> str:
    return hashlib.sha256(f"export {n}".encode()).hexdigest()[:32]


def good_key(n: int) -> bytes:
    return clevertap_key("Charged", export_id(n)).encode()


def payload(n: int) -> dict[str, Any]:
    """Good event ``n``: ``ts`` as YYYYMMDDHHMMSS in the account's zone."""
    moment = FIRST + timedelta(minutes=7 * n)
    return {
        "profile": {"identity": f"user{n}@example.com", "objectId": f"__g{n}", "platform": "iOS"},
        "ts": int(moment.strftime("%Y%m%d%H%M%S")),
        "event_props": {
            "utm_source": "facebook",
            "utm_campaign": "diwali 🪔",
            "campaign_id": f"fb-2385000{n % 3}",
            "Amount": f"{n * 100 + 99}.{n % 100:02d}",
            "Currency": "INR",
        },
    }


def envelope(record: Any) -> dict[str, Any]:
    return raw_envelope(SOURCE.name, "events", ACCOUNT, record)


def event_with(**changes: Any) -> bytes:
    return dumps(envelope(payload(0) | changes))


def props_with(**changes: Any) -> bytes:
    record = payload(0)
    return dumps(envelope(record | {"event_props": record["event_props"] | changes}))


def profile_with(**changes: Any) -> bytes:
    record = payload(0)
    return dumps(envelope(record | {"profile": record["profile"] | changes}))


def bad_events() -> list[Bad]:
    """Events CleverTap must never export, keys the poller never writes, or what must not pass."""
    good = dumps(envelope(payload(0)))
    nan = props_with(Amount="@").replace(b'"@"', b"NaN")
    surrogate = profile_with(platform="@").replace(b'"@"', b'"iOS \\udfff"')
    key = good_key(0)
    return [
        Bad("key missing", good, "key is not event_name|event_id", key=None),
        Bad("key without separator", good, "key is not", key=b"Charged"),
        Bad("key id too short", good, "key is not", key=b"Charged|abc"),
        Bad("key without event name", good, "key is not", key=b"|" + export_id(0).encode()),
        Bad("key invalid UTF-8", good, "key is not", key=b"Ch\xffrged|" + export_id(0).encode()),
        Bad("event empty", dumps(envelope({})), "no ts", key=key),
        Bad("ts missing", dumps(envelope({"profile": {}})), "no ts", key=key),
        Bad("ts a date", event_with(ts="2026-11-01"), "YYYYMMDDHHMMSS", key=key),
        Bad("ts Feb 30", event_with(ts=20260230093015), "YYYYMMDDHHMMSS", key=key),
        Bad("ts hour 25", event_with(ts=20261101253015), "YYYYMMDDHHMMSS", key=key),
        Bad("ts year 0", event_with(ts="00001101093015"), "YYYYMMDDHHMMSS", key=key),
        Bad("ts year 10000", event_with(ts=100001101093015), "YYYYMMDDHHMMSS", key=key),
        Bad(
            "ts near year 1 in UTC+5:30",
            event_with(ts="00010101003000"),
            "before 0001-01-01",
            key=key,
        ),
        Bad("ts null", event_with(ts=None), "YYYYMMDDHHMMSS", key=key),
        Bad("ts a fraction", event_with(ts=20261101093015.5), "YYYYMMDDHHMMSS", key=key),
        Bad("ts negative", event_with(ts=-20261101093015), "YYYYMMDDHHMMSS", key=key),
        Bad("ts a boolean", event_with(ts=True), "YYYYMMDDHHMMSS", key=key),
        Bad("ts a list", event_with(ts=[20261101093015]), "YYYYMMDDHHMMSS", key=key),
        Bad("Amount NaN", props_with(Amount="NaN"), "not a finite number", key=key),
        Bad("Amount NaN literal", nan, "not a finite number", key=key),
        Bad("Amount Infinity", props_with(Amount="Infinity"), "not a finite number", key=key),
        Bad("Amount not a number", props_with(Amount="12,50 €"), "not a number", key=key),
        Bad("Amount 1e20", props_with(Amount="1e20"), "numeric(18,4)", key=key),
        Bad("Amount 1e309", props_with(Amount="1e309"), "numeric(18,4)", key=key),
        Bad("Amount a list", props_with(Amount=[1]), "not a number", key=key),
        Bad("Amount a boolean", props_with(Amount=True), "not a number", key=key),
        Bad("profile a list", event_with(profile=["user@example.com"]), "profile", key=key),
        Bad("profile a string", event_with(profile="user@example.com"), "profile", key=key),
        Bad("event_props a string", event_with(event_props="Amount=5"), "event_props", key=key),
        Bad("identity an object", profile_with(identity={"id": 1}), "identity", key=key),
        Bad("objectId a list", profile_with(identity=None, objectId=["x"]), "objectId", key=key),
        Bad("utm_source a list", props_with(utm_source=["fb"]), "utm_source", key=key),
        Bad("utm_campaign with a NUL byte", props_with(utm_campaign="sp\x00ring"), "NUL", key=key),
        Bad("platform with a NUL byte", profile_with(platform="And\x00roid"), "NUL", key=key),
        Bad("campaign_id an object", props_with(campaign_id={"fb": 1}), "campaign_id", key=key),
        Bad("Currency an object", props_with(Currency={"code": "INR"}), "Currency", key=key),
        Bad("platform a lone surrogate", surrogate, "surrogates", key=key),
        Bad("utm_campaign of 10 MB", props_with(utm_campaign="u" * TEN_MB), "too large", key, True),
    ]


BAD = broken_envelopes(envelope(payload(0)), key=good_key(0)) + bad_events()


def good_records() -> list[Record]:
    return [(good_key(n), dumps(envelope(payload(n))), []) for n in range(GOOD_EVENTS)]


BATCH: Batch = interleave(good_records(), BAD)


@pytest.fixture(scope="module")
def normalizer_run(settings: Settings) -> Iterator[NormalizerRun]:
    def adjust(own: Settings) -> Settings:
        key = SecretStr(PSEUDONYMIZATION_KEY)
        processor = own.processor.model_copy(update={"pseudonymization_key": key})
        clevertap = own.clevertap.model_copy(
            update={"timezone": KOLKATA.key, "account_id": ACCOUNT}
        )
        return own.model_copy(update={"processor": processor, "clevertap": clevertap})

    yield from run_normalizer(settings, "clevertap", normalizer_of(SOURCE, adjust), BATCH.records)


(
    test_the_catalogue_holds_at_least_40_bad_inputs,
    test_a_bad_input_is_a_dead_letter_with_its_reason,
    test_no_good_record_is_a_dead_letter,
) = catalogue_tests(BAD, BATCH)


def test_every_good_event_lands_with_its_values(landed: list[Message]) -> None:
    events = {m.key(): read_record("norm/app_event", m) for m in landed}
    assert len(landed) == GOOD_EVENTS
    for n in range(GOOD_EVENTS):
        event_id = hashlib.sha256(f"{ACCOUNT}|{export_id(n)}".encode()).hexdigest()[:32]
        event = events[event_id.encode()]
        identity = f"user{n}@example.com".encode()
        digest = hmac.new(PSEUDONYMIZATION_KEY.encode(), identity, hashlib.sha256).hexdigest()
        assert event["user_key"] == f"k1:{digest}"
        assert event["occurred_at"] == (FIRST + timedelta(minutes=7 * n)).astimezone(UTC)
        assert Decimal(event["amount"]) == Decimal(f"{n * 100 + 99}.{n % 100:02d}")
        assert (event["event_name"], event["currency"]) == ("Charged", "INR")
        assert event["utm_campaign"] == "diwali 🪔"
