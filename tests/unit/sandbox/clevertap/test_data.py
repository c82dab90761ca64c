"""The sandbox's seeded events: deterministic, shaped like CleverTap's export, late when recent."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta

import pytest

from sandbox.campaigns import CAMPAIGNS
from sandbox.clevertap.data import EVENT_NAMES, EventHistory, Lateness, ts_of

DAY = date(2026, 11, 10)
TODAY = date(2026, 11, 25)
CAMPAIGN_IDS = {campaign.campaign_id for campaign in CAMPAIGNS}
UTM_CAMPAIGNS = {campaign.utm_campaign for campaign in CAMPAIGNS}


def _records(history: EventHistory, event_name: str, day: date = DAY) -> list[dict[str, object]]:
    return [event.record for event in history.day(event_name, day)]


def test_same_seed_same_events_other_seed_other_events() -> None:
    first, again, other = EventHistory(seed=1), EventHistory(seed=1), EventHistory(seed=2)
    for name in EVENT_NAMES:
        assert json.dumps(_records(first, name)) == json.dumps(_records(again, name))
        assert _records(first, name) != _records(other, name)


def test_a_few_hundred_events_a_day() -> None:
    history = EventHistory(seed=3)
    for offset in range(5):
        day = DAY + timedelta(days=offset)
        counts = {name: len(history.day(name, day)) for name in EVENT_NAMES}
        assert 300 <= sum(counts.values()) <= 800, counts
        assert counts["App Launched"] > counts["Charged"] > 0


def test_records_have_the_export_shape_and_local_ts_of_their_day() -> None:
    history = EventHistory(seed=4)
    for name in EVENT_NAMES:
        records = _records(history, name)
        assert [record["ts"] for record in records] == sorted(record["ts"] for record in records)
        for record in records:
            assert set(record) == {"profile", "ts", "event_props"}
            assert re.fullmatch(r"20261110([01]\d|2[0-3])[0-5]\d[0-5]\d", str(record["ts"]))
            profile = record["profile"]
            assert isinstance(profile, dict)
            assert profile["platform"] in ("Android", "iOS")
            assert profile["objectId"].startswith("__")
            if "identity" in profile:
                assert profile["email"].endswith("@example.com")
                assert profile["phone"].startswith("+91")
                assert {"Name", "City"} <= set(profile["profileData"])
            else:
                assert "email" not in profile
                assert "phone" not in profile


def test_ts_is_yyyymmddhhmmss() -> None:
    assert ts_of(date(2026, 11, 1), 9 * 3600 + 30 * 60 + 15) == 20261101093015
    assert ts_of(date(2026, 11, 1), 86_399) == 20261101235959


def test_charged_events_carry_amount_currency_and_items() -> None:
    for record in _records(EventHistory(seed=5), "Charged"):
        props = record["event_props"]
        assert isinstance(props, dict)
        assert isinstance(props["Amount"], float)
        assert props["Amount"] > 0
        assert props["Currency"] == "INR"
        total = sum(item["Price"] * item["Quantity"] for item in props["Items"])
        assert props["Amount"] == pytest.approx(total, abs=0.01)


@pytest.mark.parametrize("event_name", ["App Installed", "Sign Up", "Charged"])
def test_most_acquisition_events_carry_catalog_attribution(event_name: str) -> None:
    records = _records(EventHistory(seed=6), event_name, DAY) + _records(
        EventHistory(seed=6), event_name, DAY + timedelta(days=1)
    )
    props = [record["event_props"] for record in records]
    attributed = [p for p in props if isinstance(p, dict) and "utm_source" in p]
    assert 0.5 < len(attributed) / len(props) < 0.95
    assert all(p["utm_campaign"] in UTM_CAMPAIGNS for p in attributed)
    with_id = [p for p in attributed if "campaign_id" in p]
    assert with_id
    assert len(with_id) < len(attributed)
    assert all(p["campaign_id"] in CAMPAIGN_IDS for p in with_id)


def test_app_launched_carries_no_attribution() -> None:
    props = [r["event_props"] for r in _records(EventHistory(seed=6), "App Launched")]
    assert not [p for p in props if isinstance(p, dict) and "utm_source" in p]


def test_some_launches_were_sent_twice_identically() -> None:
    history = EventHistory(seed=8)
    twins = 0
    for offset in range(10):
        records = _records(history, "App Launched", DAY + timedelta(days=offset))
        counts = Counter(json.dumps(record, sort_keys=True) for record in records)
        twins += sum(count - 1 for count in counts.values())
    assert 5 <= twins <= 80


def test_recent_days_fill_in_as_epochs_advance_and_older_days_are_complete() -> None:
    history = EventHistory(seed=9, lateness=Lateness(recent_days=2, fraction=0.2, max_epochs=2))
    yesterday, old = TODAY - timedelta(days=1), TODAY - timedelta(days=2)
    for day in (TODAY, yesterday):
        everything = _records(history, "App Launched", day)
        waves = [history.visible("App Launched", day, epoch, TODAY) for epoch in (0, 1, 2, 3)]
        assert len(waves[0]) < len(waves[1]) < len(waves[2]) == len(everything)
        assert waves[2] == waves[3] == everything
        assert all(record in waves[1] for record in waves[0])
    assert history.visible("App Launched", old, 0, TODAY) == _records(history, "App Launched", old)


def test_the_future_has_no_events() -> None:
    history = EventHistory(seed=10)
    assert history.visible("Charged", TODAY + timedelta(days=1), 5, TODAY) == []


def test_unknown_events_are_refused() -> None:
    with pytest.raises(KeyError):
        EventHistory(seed=1).day("Product Viewed", DAY)
    with pytest.raises(ValueError, match="Product Viewed"):
        EventHistory(seed=1, daily_volume={"Product Viewed": 10})


def test_volume_is_configurable_per_event() -> None:
    history = EventHistory(seed=1, daily_volume={"Charged": 1_000})
    assert history.event_names == ("Charged",)
    assert 850 <= len(history.day("Charged", DAY)) <= 1_150
