"""The sandbox's insights are deterministic, shaped like the API's, and restate recent days."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sandbox.campaigns import campaigns_of
from sandbox.facebook_ads.data import InsightsData, aggregate, project

TODAY = date(2026, 11, 20)
OLD_DAY = TODAY - timedelta(days=60)
RECENT_DAY = TODAY - timedelta(days=3)


def test_same_seed_same_rows_and_another_seed_other_rows() -> None:
    rows = InsightsData(7).rows("act_101", OLD_DAY, OLD_DAY + timedelta(days=4), TODAY, 0)
    assert rows == InsightsData(7).rows("101", OLD_DAY, OLD_DAY + timedelta(days=4), TODAY, 0)
    assert rows != InsightsData(8).rows("101", OLD_DAY, OLD_DAY + timedelta(days=4), TODAY, 0)


def test_accounts_run_the_catalogs_facebook_campaigns_in_their_own_currency() -> None:
    data = InsightsData(7)
    ads = data.ads("act_101")
    assert len(ads) == 5 * 2 * 2
    catalog = {c.external_id: c.utm_campaign for c in campaigns_of("facebook")}
    assert {(ad.campaign_id, ad.campaign_name) for ad in ads} == set(catalog.items())
    assert len({ad.ad_id for ad in ads}) == 20
    assert (data.currency("act_101"), data.currency("act_102")) == ("EUR", "USD")
    assert len(InsightsData(7, adsets_per_campaign=4, ads_per_adset=10).ads("act_1")) == 200


def test_rows_carry_numbers_as_strings_and_omit_empty_action_lists() -> None:
    rows = InsightsData(7).rows("act_102", OLD_DAY, OLD_DAY + timedelta(days=29), TODAY, 0)
    assert 0 < len(rows) <= 30 * 20
    assert len(rows) < 30 * 20, "some ads do not deliver on some days: those rows are absent"
    for row in rows:
        assert row["account_currency"] == "USD"
        assert row["date_start"] == row["date_stop"]
        for name in ("impressions", "clicks", "reach"):
            assert isinstance(row[name], str)
            assert row[name].isdigit()
        assert Decimal(row["spend"]).as_tuple().exponent == -2
        for name in ("actions", "action_values"):
            assert row.get(name, None) != []
            for action in row.get(name, []):
                assert isinstance(action["value"], str)
                assert Decimal(action["value"]) > 0
    kinds = {a["action_type"] for row in rows for a in row.get("actions", [])}
    assert {"purchase", "link_click", "mobile_app_install"} <= kinds
    assert any("action_values" not in row for row in rows)


def test_a_new_epoch_restates_recent_days_and_leaves_old_days_alone() -> None:
    data = InsightsData(7)
    assert data.rows("act_1", RECENT_DAY, RECENT_DAY, TODAY, 0) != data.rows(
        "act_1", RECENT_DAY, RECENT_DAY, TODAY, 1
    )
    assert data.rows("act_1", OLD_DAY, OLD_DAY, TODAY, 0) == data.rows(
        "act_1", OLD_DAY, OLD_DAY, TODAY, 1
    )
    assert data.rows("act_1", TODAY + timedelta(days=1), TODAY + timedelta(days=5), TODAY, 0) == []


def test_campaign_level_sums_the_ads_of_each_campaign_and_day() -> None:
    rows = InsightsData(7).rows("act_1", OLD_DAY, OLD_DAY + timedelta(days=1), TODAY, 0)
    campaigns = aggregate(rows, "campaign")
    assert len(campaigns) == 2 * 5
    first = campaigns[0]
    members = [
        r
        for r in rows
        if r["campaign_id"] == first["campaign_id"] and r["date_start"] == first["date_start"]
    ]
    assert int(first["impressions"]) == sum(int(r["impressions"]) for r in members)
    assert Decimal(first["spend"]) == sum(Decimal(r["spend"]) for r in members)
    assert "ad_id" not in first


def test_projection_keeps_requested_fields_and_the_dates() -> None:
    row = InsightsData(7).rows("act_1", OLD_DAY, OLD_DAY, TODAY, 0)[0]
    assert project(row, ["spend", "ad_id"]) == {
        "spend": row["spend"],
        "ad_id": row["ad_id"],
        "date_start": row["date_start"],
        "date_stop": row["date_stop"],
    }
