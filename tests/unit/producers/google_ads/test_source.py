"""GoogleAdsSource: one raw record per GAQL row, verbatim, for several customers."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date

import pytest
import requests

from headwater.errors import ConfigurationError
from producers.base import Window
from producers.google_ads import GoogleAdsSource, ad_group_daily_query
from producers.google_ads.client import GoogleAdsClient
from producers.retry import RetryPolicy
from sandbox.google_ads import GoogleAdsSandbox, Quota

WINDOW = Window(date(2026, 3, 1), date(2026, 3, 3))


@pytest.fixture
def source(settings_for, sleep) -> GoogleAdsSource:
    settings = settings_for()
    return GoogleAdsSource(settings, client=GoogleAdsClient(settings, sleep=sleep))


def raw_rows(sandbox: GoogleAdsSandbox, customer_id: str, window: Window) -> list[dict]:
    """The rows exactly as the sandbox serves them, fetched without our client."""
    token = requests.post(
        f"{sandbox.url}/token",
        data={
            "grant_type": "refresh_token",
            "client_id": sandbox.CLIENT_ID,
            "client_secret": sandbox.CLIENT_SECRET,
            "refresh_token": sandbox.REFRESH_TOKEN,
        },
        timeout=10,
    ).json()["access_token"]
    response = requests.post(
        f"{sandbox.url}/v21/customers/{customer_id}/googleAds:searchStream",
        json={"query": ad_group_daily_query(window)},
        headers={"Authorization": f"Bearer {token}", "developer-token": sandbox.DEVELOPER_TOKEN},
        timeout=10,
    )
    return [row for batch in response.json() for row in batch.get("results", [])]


def test_it_is_a_source_of_one_stream_per_configured_customer(source) -> None:
    assert source.name == "google_ads"
    assert source.streams() == ["ad_group_daily"]
    assert source.api_version == "v21"
    assert source.default_lookback_days == 30
    assert source.accounts() == ["1234567890", "2345678901", "3456789012"]


def test_several_customers_return_every_ad_group_day_once(source) -> None:
    records = [r for account in source.accounts() for r in source.fetch(account, WINDOW)]

    keys = Counter(record.key for record in records)
    assert len(records) == 3 * 10 * 3
    assert set(keys.values()) == {1}
    assert "1234567890|7120000101|2026-03-01" in keys
    assert {record.stream for record in records} == {"ad_group_daily"}
    assert {record.account for record in records} == set(source.accounts())
    for record in records:
        assert record.key.split("|")[0] == record.payload["customer"]["id"] == record.account


def test_the_payload_is_the_row_verbatim(source, sandbox) -> None:
    records = list(source.fetch("123-456-7890", WINDOW))

    served = raw_rows(sandbox, "1234567890", WINDOW)
    assert json.dumps([r.payload for r in records]) == json.dumps(served)  # same keys, same order
    first = records[0].payload
    assert set(first) == {"customer", "campaign", "adGroup", "metrics", "segments"}
    assert first["campaign"]["resourceName"] == "customers/1234567890/campaigns/71200001"
    assert isinstance(first["metrics"]["costMicros"], str)


def test_payload_metrics_equal_the_sandbox_truth(source, sandbox) -> None:
    records = list(source.fetch("2345678901", WINDOW))

    truth = {
        (row["adGroup"]["id"], row["segments"]["date"]): row["metrics"]
        for day in WINDOW.days()
        for row in sandbox.truth("2345678901", day)
    }
    served = {
        (r.payload["adGroup"]["id"], r.payload["segments"]["date"]): r.payload["metrics"]
        for r in records
    }
    assert served == truth


def test_restatement_changes_recent_days_and_not_old_ones(source, sandbox) -> None:
    old = Window(date(2026, 1, 10), date(2026, 1, 14))
    recent = Window(date(2026, 3, 25), date(2026, 3, 31))
    before = {r.key: r.payload for w in (old, recent) for r in source.fetch("1234567890", w)}

    epoch = requests.post(f"{sandbox.url}/__sandbox/restate", timeout=10).json()["epoch"]
    after = {r.key: r.payload for w in (old, recent) for r in source.fetch("1234567890", w)}

    assert epoch == 1
    assert before.keys() == after.keys()
    old_keys = [key for key in before if key.endswith(tuple(d.isoformat() for d in old.days()))]
    recent_keys = [key for key in before if key not in old_keys]
    assert len(old_keys) == 50
    assert len(recent_keys) == 70
    assert all(before[key] == after[key] for key in old_keys)
    changed = [
        key
        for key in recent_keys
        if before[key]["metrics"].get("conversions") != after[key]["metrics"].get("conversions")
    ]
    assert len(changed) > len(recent_keys) // 2
    for key in recent_keys:  # delivery does not change; attribution does
        for metric in ("impressions", "clicks"):
            assert before[key]["metrics"].get(metric) == after[key]["metrics"].get(metric)


def test_secrets_are_never_logged(sandbox, settings_for, sleep, caplog) -> None:
    settings = settings_for()
    policy = RetryPolicy(attempts=3)
    source = GoogleAdsSource(settings, client=GoogleAdsClient(settings, retry=policy, sleep=sleep))
    sandbox.quota = Quota(requests=1, window_s=5.0, retry_delay="5s")
    caplog.set_level(logging.DEBUG)

    for account in source.accounts()[:2]:
        assert list(source.fetch(account, WINDOW))

    assert "transient API error; retrying" in caplog.text  # the retry was logged ...
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for secret in (sandbox.DEVELOPER_TOKEN, sandbox.CLIENT_SECRET, sandbox.REFRESH_TOKEN, "ya29."):
        assert secret not in logged  # ... without a credential


def test_a_malformed_customer_id_names_the_setting(settings_for) -> None:
    with pytest.raises(ConfigurationError, match="HEADWATER_GOOGLE_ADS__CUSTOMER_IDS"):
        GoogleAdsSource(settings_for(customer_ids=["123-456"]))
