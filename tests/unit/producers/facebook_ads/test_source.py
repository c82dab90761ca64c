"""FacebookAdsSource against the sandbox: verbatim records, keys, sync vs report runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from headwater.errors import ConfigurationError
from headwater.settings import FacebookSettings
from producers.base import RawRecord, Window
from producers.facebook_ads.client import InsightsClient
from producers.facebook_ads.source import FIELDS, FacebookAdsSource, record_key
from sandbox.facebook_ads import FacebookSandbox
from tests.unit.producers.facebook_ads.conftest import TODAY, TOKEN, VERSION, RecordingSession

MakeClient = Callable[..., InsightsClient]


def _settings(fb: FacebookSandbox, **changes: Any) -> FacebookSettings:
    values: dict[str, Any] = {
        "graph_url": fb.url,
        "api_version": VERSION,
        "access_token": SecretStr(TOKEN),
        "ad_account_ids": ["act_101", "102"],
        "lookback_days": 28,
    }
    return FacebookSettings(**{**values, **changes})


def _served_rows(session: RecordingSession) -> list[dict[str, Any]]:
    """Every insights row the sandbox sent, in order, as decoded from the wire."""
    return [
        row
        for x in session.exchanges
        if x.status == 200 and "data" in x.body
        for row in x.body["data"]
    ]


def test_source_identity_and_accounts(fb: FacebookSandbox) -> None:
    source = FacebookAdsSource(_settings(fb))
    assert (source.name, source.api_version, source.default_lookback_days) == (
        "facebook_ads",
        VERSION,
        28,
    )
    assert source.streams() == ["insights"]
    assert source.accounts() == ["101", "102"]


def test_records_are_verbatim_rows_keyed_by_account_ad_and_day(
    fb: FacebookSandbox, make_client: MakeClient, session: RecordingSession
) -> None:
    source = FacebookAdsSource(_settings(fb), client=make_client(fb, page_size=25))
    window = Window(TODAY - timedelta(days=40), TODAY - timedelta(days=38))
    records = list(source.fetch("101", window))
    assert [r.payload for r in records] == _served_rows(session)
    assert all(x.method == "GET" for x in session.exchanges), "3 days: synchronous"
    first = records[0]
    assert isinstance(first, RawRecord)
    assert (first.stream, first.account) == ("insights", "101")
    assert first.key == f"101|{first.payload['ad_id']}|{first.payload['date_start']}"
    assert len({r.key for r in records}) == len(records)
    truth = [row for day in window.days() for row in fb.truth("act_101", day)]
    assert [r.payload for r in records] == truth, "every field the source asks for, as served"
    assert set(FIELDS) >= set(first.payload)


def test_long_windows_go_through_report_runs(
    fb: FacebookSandbox, make_client: MakeClient, session: RecordingSession
) -> None:
    source = FacebookAdsSource(_settings(fb), client=make_client(fb, page_size=500))
    window = Window(TODAY - timedelta(days=100), TODAY - timedelta(days=91))
    records = list(source.fetch("102", window))
    assert [x.method for x in session.exchanges].count("POST") == 1
    assert [r.payload for r in records] == _served_rows(session)
    assert {r.payload["account_currency"] for r in records} == {"USD"}
    assert len(records) == sum(len(fb.truth("act_102", day)) for day in window.days())


def test_a_sync_request_too_large_falls_back_to_a_report_run(
    start_sandbox: Callable[..., FacebookSandbox],
    make_client: MakeClient,
    session: RecordingSession,
) -> None:
    fb = start_sandbox(max_sync_days=2)
    source = FacebookAdsSource(_settings(fb), client=make_client(fb))
    window = Window(TODAY - timedelta(days=50), TODAY - timedelta(days=46))
    records = list(source.fetch("101", window))
    assert session.exchanges[0].body["error"]["error_subcode"] == 1504018
    assert [x.method for x in session.exchanges].count("POST") == 1
    assert [r.payload for r in records] == [
        row for day in window.days() for row in fb.truth("act_101", day)
    ]


def test_a_second_pull_after_restatement_sees_new_recent_values_only(
    fb: FacebookSandbox, make_client: MakeClient
) -> None:
    source = FacebookAdsSource(_settings(fb), client=make_client(fb))
    recent = Window(TODAY - timedelta(days=1), TODAY - timedelta(days=1))
    old = Window(TODAY - timedelta(days=45), TODAY - timedelta(days=45))
    before = {w: [r.payload for r in source.fetch("101", w)] for w in (recent, old)}
    fb.restate()
    after = {w: [r.payload for r in source.fetch("101", w)] for w in (recent, old)}
    assert after[recent] != before[recent]
    assert [record_key("101", p) for p in after[recent]] == [
        record_key("101", p) for p in before[recent]
    ], "the same ads and days, with restated values"
    assert after[old] == before[old]


def test_settings_problems_name_the_setting(fb: FacebookSandbox) -> None:
    with pytest.raises(ConfigurationError, match="HEADWATER_FACEBOOK__ACCESS_TOKEN"):
        FacebookAdsSource(_settings(fb, access_token=None))
    with pytest.raises(ConfigurationError, match="HEADWATER_FACEBOOK__AD_ACCOUNT_IDS"):
        FacebookAdsSource(_settings(fb, ad_account_ids=["act_12x"]))


def test_a_missing_part_of_the_key_stays_visible() -> None:
    assert record_key("7", {"date_start": "2026-11-01"}) == "7||2026-11-01"
