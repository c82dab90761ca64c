"""``headwater reconcile``: how an account's day compares, and what it refuses before any call."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from control.reconcile import Comparison, Figures
from tests.support.services import headwater_with

DAY = date(2026, 11, 20)


def test_figures_equal_to_the_cent_match_and_the_line_says_so() -> None:
    stored = Figures(Decimal("12.344999"), 100, 7, Decimal("1.5"))
    served = Figures(Decimal("12.34"), 100, 7, Decimal("1.50"))
    comparison = Comparison("google_ads", "1234567890", DAY, stored, served)
    assert comparison.matches
    assert comparison.line() == (
        "google_ads 1234567890 2026-11-20: ok (warehouse vs API): spend 12.34 vs 12.34, "
        "impressions 100 vs 100, clicks 7 vs 7, conversions 1.50 vs 1.50"
    )


def test_a_cent_or_a_click_apart_differs_and_the_line_shows_each_difference() -> None:
    stored = Figures(Decimal("12.35"), 100, 7, Decimal(0))
    served = Figures(Decimal("12.34"), 100, 9, Decimal(0))
    comparison = Comparison("facebook_ads", "101", DAY, stored, served)
    assert not comparison.matches
    assert comparison.line() == (
        "facebook_ads 101 2026-11-20: DIFFERS (warehouse vs API): spend 12.35 vs 12.34 "
        "(diff +0.01), impressions 100 vs 100, clicks 7 vs 9 (diff -2), "
        "conversions 0.00 vs 0.00"
    )


def test_a_source_without_accounts_is_a_settings_error_before_any_call() -> None:
    done = headwater_with(
        "reconcile", "--date", "2026-11-20", "--source", "google_ads",
        env={"HEADWATER_GOOGLE_ADS__CUSTOMER_IDS": "[]"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith(
        "HEADWATER_GOOGLE_ADS__CUSTOMER_IDS: names no account to reconcile google_ads"
    )


def test_no_ad_account_at_all_is_a_settings_error() -> None:
    done = headwater_with("reconcile", "--date", "2026-11-20", env={})
    assert done.returncode == 2, done.stderr
    assert "names no ad account to reconcile" in done.stderr


def test_a_date_not_yyyy_mm_dd_is_a_usage_error() -> None:
    done = headwater_with("reconcile", "--date", "20/11/2026", env={})
    assert done.returncode == 2
    assert "--date" in done.stderr


def test_missing_credentials_are_reported_before_the_warehouse_is_contacted() -> None:
    done = headwater_with(
        "reconcile", "--date", "2026-11-20",
        env={
            "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS": "[\"act_101\"]",
            "HEADWATER_GOOGLE_ADS__CUSTOMER_IDS": "[\"1234567890\"]",
            "HEADWATER_FACEBOOK__ACCESS_TOKEN": "token",
            # nothing listens there: contacting it would be exit 75, not a settings error
            "HEADWATER_WAREHOUSE__DSN": "postgresql://u:p@127.0.0.1:9/wh?sslmode=disable",
        },
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "HEADWATER_GOOGLE_ADS__DEVELOPER_TOKEN: is required" in done.stderr
    assert done.stdout == ""


def test_no_warehouse_is_a_settings_error() -> None:
    done = headwater_with(
        "reconcile", "--date", "2026-11-20",
        env={"HEADWATER_FACEBOOK__AD_ACCOUNT_IDS": "[\"act_101\"]"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "HEADWATER_WAREHOUSE__DSN: is required" in done.stderr
