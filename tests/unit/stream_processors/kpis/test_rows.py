from datetime import UTC, date, datetime
from decimal import Decimal

from headwater.settings import KpiSettings
from stream_processors.kpis.contributions import (
    Attribution,
    Contribution,
    KpiKey,
    from_ad_row,
    from_event,
    order_key,
    order_values,
)
from stream_processors.kpis.rows import RowState, apply, figures

ATTRIBUTION = Attribution(KpiSettings(currency="EUR", rates={"EUR": "1", "USD": "0.5"}))
KEY = KpiKey("2026-11-20", "facebook", "23850001")


def _ad(ad: str, spend: str, fetched_at: int, currency: str = "EUR") -> Contribution:
    row = {
        "platform": "facebook",
        "account_id": "101",
        "campaign_id": "23850001",
        "ad_group_id": "5",
        "ad_id": ad,
        "date": date(2026, 11, 20),
        "currency": currency,
        "impressions": 1000,
        "clicks": 20,
        "spend": spend,
        "conversions": "2",
        "fetched_at": fetched_at,
    }
    return from_ad_row(row, ATTRIBUTION)


def _order(order: str, lsn: int, amount: str, status: str = "paid") -> Contribution:
    row = {
        "campaign_id": "fb-23850001",
        "created_at": datetime(2026, 11, 20, 9, tzinfo=UTC),
        "amount": amount,
        "currency": "EUR",
        "status": status,
    }
    target = order_key(row, ATTRIBUTION)
    assert target == KEY
    return Contribution(target, "orders", order, lsn, order_values(row, ATTRIBUTION))


def _install(event_id: str) -> Contribution:
    event = {
        "event_id": event_id,
        "event_name": "App Installed",
        "campaign_id": "fb-23850001",
        "occurred_at": datetime(2026, 11, 20, 10, tzinfo=UTC),
    }
    contribution = from_event(event, ATTRIBUTION)
    assert contribution is not None
    return contribution


def test_a_restated_ad_day_replaces_its_contribution() -> None:
    state = RowState()
    assert apply(state, _ad("9", "100.00", fetched_at=1))
    assert apply(state, _ad("8", "50.00", fetched_at=1))
    assert apply(state, _ad("9", "120.00", fetched_at=2))  # restated
    assert not apply(state, _ad("9", "100.00", fetched_at=1))  # the old pull again
    row = figures(KEY, state.totals, "EUR", 0)
    assert row["spend"] == "170.000000"
    assert (row["impressions"], row["clicks"]) == (2000, 40)


def test_events_count_once_and_orders_update_in_place() -> None:
    state = RowState()
    for contribution in (_install("e1"), _install("e1"), _install("e2")):
        apply(state, contribution)
    apply(state, _ad("9", "100.00", fetched_at=1))
    apply(state, _order("o1", 10, "80.00"))
    apply(state, _order("o1", 20, "90.00"))  # updated: replaces, never adds
    apply(state, _order("o2", 15, "30.00"))
    apply(state, _order("o2", 25, "30.00", status="cancelled"))  # leaves the totals
    row = figures(KEY, state.totals, "EUR", 0)
    assert (row["installs"], row["orders"], row["revenue"]) == (2, 1, "90.000000")
    assert row["cpi"] == "50.0000"
    assert row["roas"] == "0.9000"
    assert row["cost_per_order"] == "100.0000"
    assert row["conversion_rate"] == "0.050000"  # 1 order / 20 clicks


def test_a_deleted_order_is_withdrawn_and_older_changes_cannot_return() -> None:
    state = RowState()
    apply(state, _order("o1", 10, "80.00"))
    apply(state, Contribution(KEY, "orders", "o1", 30, None))  # deleted
    assert not apply(state, _order("o1", 20, "85.00"))  # an older update arrives late
    assert figures(KEY, state.totals, "EUR", 0)["revenue"] == "0.000000"


def test_currencies_convert_and_ratios_are_null_without_denominator() -> None:
    state = RowState()
    apply(state, _ad("9", "100.00", fetched_at=1, currency="USD"))
    row = figures(KEY, state.totals, "EUR", 0)
    assert row["spend"] == "50.000000"
    assert (row["account_currency"], row["spend_account_currency"]) == ("USD", "100.00")
    assert (row["cpi"], row["roas"], row["cost_per_order"]) == (None, "0.0000", None)
    assert Decimal(row["cpc"]) == Decimal("2.5")


def test_unattributed_events_and_orders_do_not_count() -> None:
    assert (
        from_event(
            {"event_id": "x", "event_name": "App Installed", "campaign_id": None, "occurred_at": 0},
            ATTRIBUTION,
        )
        is None
    )
    assert order_key({"campaign_id": "nl-1", "created_at": datetime.now(UTC)}, ATTRIBUTION) is None
