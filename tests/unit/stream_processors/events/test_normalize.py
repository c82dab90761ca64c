import hashlib
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from headwater.avro import record_reader
from headwater.errors import RejectedRecord
from headwater.privacy.pseudonyms import Pseudonymizer
from headwater.raw import clevertap_key, read_envelope
from producers.clevertap.models import event_id
from stream_processors.events.normalize import clevertap_event, to_output

KOLKATA = ZoneInfo("Asia/Kolkata")
KEY = "k" * 32
PSEUDONYMIZE = Pseudonymizer(KEY, "k1")
RECORD = {
    "profile": {
        "identity": "301",
        "objectId": "__a21",
        "email": "c301@example.com",
        "phone": "+919420911339",
        "platform": "Android",
    },
    "ts": 20261120003150,
    "event_props": {
        "Amount": 16460.82,
        "Currency": "INR",
        "utm_source": "facebook",
        "utm_campaign": "brand_video",
        "campaign_id": "fb-23850004",
    },
}


def _envelope(record: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "source": "clevertap",
            "stream": "events",
            "account": "W8R",
            "payload": record,
            "fetched_at": "2026-11-21T00:00:00+00:00",
            "request": {"event_name": "Charged"},
        }
    ).encode()


def _event(record: dict[str, object], key: bytes | None = None) -> dict[str, object]:
    key = key or clevertap_key("Charged", event_id("Charged", record)).encode()
    return clevertap_event(key, read_envelope(_envelope(record)), PSEUDONYMIZE, KOLKATA)


def test_event_is_typed_attributed_and_in_utc() -> None:
    event = _event(RECORD)
    assert event["event_name"] == "Charged"
    scoped = hashlib.sha256(f"W8R|{event_id('Charged', RECORD)}".encode()).hexdigest()[:32]
    assert event["event_id"] == scoped  # export ids are unique per account only
    expected = datetime(2026, 11, 19, 19, 1, 50, tzinfo=UTC)  # 00:31:50 +05:30
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert event["occurred_at"] == (expected - epoch) // timedelta(microseconds=1)
    assert (event["amount"], event["currency"]) == ("16460.82", "INR")
    assert (event["utm_campaign"], event["campaign_id"]) == ("brand_video", "fb-23850004")
    assert event["platform"] == "Android"


def test_no_raw_identity_leaves_the_processor() -> None:
    output = to_output(_event(RECORD))
    assert output.value is not None
    text = output.value.decode("latin-1")
    for raw in ("301", "c301@example.com", "+919420911339", "__a21"):
        assert raw not in text.replace("16460.82", "")
    decoded = record_reader("norm/app_event")(output.value, output.headers)
    assert decoded["user_key"] == PSEUDONYMIZE("301")
    assert decoded["user_key"] != Pseudonymizer("j" * 32, "k1")("301")


def test_anonymous_users_are_keyed_by_object_id() -> None:
    anonymous = {**RECORD, "profile": {"objectId": "__a21", "platform": "iOS"}}
    assert _event(anonymous)["user_key"] == PSEUDONYMIZE("__a21")


@pytest.mark.parametrize(
    ("record", "key", "reason"),
    [
        ({**RECORD, "ts": "yesterday"}, None, "ts is not"),
        ({**RECORD, "event_props": {"Amount": "lots"}}, None, "Amount is not a number"),
        (RECORD, b"no-separator", "key is not event_name"),
        ({k: v for k, v in RECORD.items() if k != "ts"}, None, "no ts"),
    ],
)
def test_bad_events_are_rejected_with_a_reason(
    record: dict[str, object], key: bytes | None, reason: str
) -> None:
    with pytest.raises(RejectedRecord, match=reason):
        _event(record, key)


def test_personal_fields_and_undeclared_properties_are_dropped() -> None:
    record = {
        **RECORD,
        "profile": {**RECORD["profile"], "name": "Asha Rao"},  # type: ignore[dict-item]
        "event_props": {**RECORD["event_props"], "Delivery Address": "12 MG Road"},  # type: ignore[dict-item]
    }
    output = to_output(_event(record))
    assert output.value is not None
    for personal in (b"Asha Rao", b"12 MG Road", b"c301@example.com", b"+919420911339"):
        assert personal not in output.value


def test_after_a_rotation_new_events_carry_the_new_key_id_and_old_ones_stay_recognisable() -> None:
    from pydantic import SecretStr

    from headwater.privacy.pseudonyms import key_id_of
    from headwater.settings import Settings
    from stream_processors.events.normalize import clevertap

    def user_key(key: str, key_id: str) -> str:
        settings = Settings(
            processor={"pseudonymization_key": SecretStr(key), "pseudonymization_key_id": key_id}
        )
        raw_key = clevertap_key("Charged", event_id("Charged", RECORD)).encode()
        [output] = clevertap(settings)("raw.clevertap.events", raw_key, _envelope(RECORD))
        assert output.value is not None
        return str(record_reader("norm/app_event")(output.value, output.headers)["user_key"])

    before = user_key("a" * 32, "k1")
    after = user_key("b" * 32, "k2")
    assert (key_id_of(before), key_id_of(after)) == ("k1", "k2")
    assert before.split(":")[1] != after.split(":")[1]  # a new pseudonym, not a relabelled one
    assert before == Pseudonymizer("a" * 32, "k1")("301")  # the old key still finds the old one
