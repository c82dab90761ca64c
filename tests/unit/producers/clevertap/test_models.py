"""The identity of an exported event, the raw record key, and the response models."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from pydantic import ValidationError

from headwater.raw import clevertap_key, split_clevertap_key
from producers.clevertap.models import (
    EventRecord,
    EventsPage,
    event_id,
)
from sandbox.clevertap.data import EVENT_NAMES, EventHistory
from tests.unit.producers.clevertap.conftest import OLD_DAY

RECORD: dict[str, Any] = {
    "profile": {
        "identity": "301",
        "objectId": "__a211314bac2eca9ccd5bf4f5020ea126",
        "email": "customer301.374109@example.com",
        "platform": "Android",
        "profileData": {"Name": "Saanvi Reddy"},
    },
    "ts": 20261120003150,
    "event_props": {"Amount": 1499.0, "Currency": "INR", "utm_source": "facebook"},
}


def _changed(path: tuple[str, ...], value: object) -> dict[str, Any]:
    record = copy.deepcopy(RECORD)
    target = record
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return record


def test_the_id_is_32_hex_and_deterministic() -> None:
    identifier = event_id("Charged", RECORD)
    assert re.fullmatch(r"[0-9a-f]{32}", identifier)
    assert event_id("Charged", copy.deepcopy(RECORD)) == identifier
    reordered = {**RECORD, "event_props": dict(reversed(list(RECORD["event_props"].items())))}
    assert event_id("Charged", reordered) == identifier


@pytest.mark.parametrize(
    ("event_name", "record"),
    [
        ("App Launched", RECORD),
        ("Charged", _changed(("ts",), 20261120003151)),
        ("Charged", _changed(("profile", "identity"), "302")),
        ("Charged", _changed(("event_props", "Amount"), 1499.5)),
        ("Charged", _changed(("event_props", "utm_campaign"), "spring_sale_2025")),
    ],
    ids=["event name", "ts", "identity", "a prop's value", "one more prop"],
)
def test_distinct_events_get_distinct_ids(event_name: str, record: dict[str, Any]) -> None:
    assert event_id(event_name, record) != event_id("Charged", RECORD)


def test_the_user_is_the_identity_else_the_object_id() -> None:
    assert event_id("Charged", _changed(("profile", "objectId"), "__other")) == event_id(
        "Charged", RECORD
    )
    anonymous = _changed(("profile",), {"objectId": "__a1", "platform": "iOS"})
    other_device = _changed(("profile",), {"objectId": "__b2", "platform": "iOS"})
    assert event_id("App Installed", anonymous) != event_id("App Installed", other_device)


def test_identical_records_are_told_apart_by_occurrence_only() -> None:
    first = event_id("App Launched", RECORD)
    assert event_id("App Launched", RECORD, occurrence=0) == first
    second = event_id("App Launched", RECORD, occurrence=1)
    third = event_id("App Launched", RECORD, occurrence=2)
    assert len({first, second, third}) == 3


def test_malformed_records_still_get_a_stable_id() -> None:
    assert event_id("Charged", {}) == event_id("Charged", {})
    assert event_id("Charged", {"profile": "?"}) == event_id("Charged", {})
    assert event_id("Charged", {}) != event_id("Sign Up", {})


def test_key_round_trip() -> None:
    identifier = event_id("Charged", RECORD)
    assert clevertap_key("Charged", identifier) == f"Charged|{identifier}"
    assert split_clevertap_key(clevertap_key("A|B", identifier)) == ("A|B", identifier)
    for bad in ("Charged", "|" + identifier, "Charged|short"):
        with pytest.raises(ValueError, match="not a CleverTap raw record key"):
            split_clevertap_key(bad)


def test_sandbox_records_fit_the_record_model() -> None:
    history = EventHistory(seed=2)
    for name in EVENT_NAMES:
        for event in history.day(name, OLD_DAY):
            record = EventRecord.model_validate(event.record)
            assert record.profile.objectId is not None


def test_a_page_needs_records() -> None:
    with pytest.raises(ValidationError):
        EventsPage.model_validate({"status": "success", "next_cursor": "abc"})
    page = EventsPage.model_validate({"status": "success", "records": []})
    assert page.next_cursor is None
