"""The sandbox's generated Google Ads data: catalog, REST shape, determinism, restatement."""

from __future__ import annotations

from datetime import date, timedelta

from sandbox.campaigns import campaigns_of
from sandbox.google_ads.data import AD_GROUPS, RESTATEMENT_DAYS, AdsData, customer

TODAY = date(2026, 3, 31)


def data(seed: int = 3) -> AdsData:
    return AdsData(seed, lambda: TODAY)


def test_ad_groups_are_two_per_catalog_google_campaign() -> None:
    campaigns = campaigns_of("google")
    assert len(AD_GROUPS) == 2 * len(campaigns) == 10
    assert {g.campaign for g in AD_GROUPS} == set(campaigns)
    assert len({g.ad_group_id for g in AD_GROUPS}) == 10
    rows = data().rows("1234567890", TODAY, TODAY, by_date=True)
    assert {(r["campaign"]["id"], r["campaign"]["name"]) for r in rows} == {
        (c.external_id, c.utm_campaign) for c in campaigns
    }


def test_rows_are_in_the_rest_shape() -> None:
    row = data().rows("1234567890", date(2026, 3, 2), date(2026, 3, 2), by_date=True)[0]
    assert list(row) == ["customer", "campaign", "adGroup", "metrics", "segments"]
    assert row["customer"]["resourceName"] == "customers/1234567890"
    assert row["adGroup"]["resourceName"] == "customers/1234567890/adGroups/7120000101"
    assert row["segments"] == {"date": "2026-03-02"}
    metrics = row["metrics"]
    assert isinstance(metrics["impressions"], str)
    assert metrics["impressions"].isdigit()
    assert isinstance(metrics["costMicros"], str)
    assert isinstance(metrics["conversions"], float)


def test_zero_values_are_omitted() -> None:
    rows = data().rows("1234567890", TODAY - timedelta(200), TODAY, by_date=True)
    without_clicks = [r for r in rows if "clicks" not in r["metrics"]]
    assert without_clicks  # display remarketing has days without a click
    for row in without_clicks:
        assert "costMicros" not in row["metrics"]
        assert "conversions" not in row["metrics"]
    assert all(value != "0" for r in rows for value in r["metrics"].values())


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data() -> None:
    window = (date(2026, 1, 1), date(2026, 1, 5))
    assert data(3).rows("1234567890", *window, True) == data(3).rows("1234567890", *window, True)
    assert data(3).rows("1234567890", *window, True) != data(4).rows("1234567890", *window, True)


def test_each_customer_has_its_own_stable_currency() -> None:
    currencies = {customer(3, f"{n:010d}").currency_code for n in range(1, 40)}
    assert currencies == {"EUR", "USD", "JPY", "GBP"}
    assert customer(3, "1234567890") == customer(3, "1234567890")


def test_restatement_changes_only_the_last_30_days() -> None:
    generated = data()
    first_recent = TODAY - timedelta(RESTATEMENT_DAYS - 1)
    old_before = generated.rows(
        "1234567890", TODAY - timedelta(90), first_recent - timedelta(1), True
    )
    recent_before = generated.rows("1234567890", first_recent, TODAY, True)

    assert generated.restate() == 1
    assert generated.epoch == 1
    assert generated.rows(
        "1234567890", TODAY - timedelta(90), first_recent - timedelta(1), True
    ) == (old_before)
    recent_after = generated.rows("1234567890", first_recent, TODAY, True)
    changed_days = {
        before["segments"]["date"]
        for before, after in zip(recent_before, recent_after, strict=True)
        if before["metrics"].get("conversions") != after["metrics"].get("conversions")
    }
    assert len(changed_days) >= RESTATEMENT_DAYS - 2  # nearly every recent day moved
    assert min(changed_days) == first_recent.isoformat()


def test_totals_without_dates_sum_the_days() -> None:
    generated = data()
    daily = generated.rows("1234567890", date(2026, 3, 1), date(2026, 3, 3), by_date=True)
    totals = generated.rows("1234567890", date(2026, 3, 1), date(2026, 3, 3), by_date=False)
    assert len(totals) == 10
    assert "segments" not in totals[0]
    first = AD_GROUPS[0].ad_group_id
    assert int(totals[0]["metrics"]["impressions"]) == sum(
        int(r["metrics"]["impressions"]) for r in daily if r["adGroup"]["id"] == first
    )


def test_no_rows_for_future_days() -> None:
    assert data().rows("1234567890", TODAY + timedelta(1), TODAY + timedelta(5), True) == []
