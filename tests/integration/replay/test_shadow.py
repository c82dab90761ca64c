"""``headwater replay sink --into-shadow``, ``replay diff`` and ``replay swap`` on the real
broker and warehouse, the sink running as it would: the shadow is made beside the live table
without touching it, the diff says exactly what differs, the swap is refused while the sink
runs and without a complete shadow, and after it the sink lands into the new table what the
old one received after the copy: nothing is lost, and the readers keep their grants."""

from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg

from tests.conftest import wait_for
from tests.support.own_ads_flow import Ad, OwnAdsFlow, as_decimal, now


def test_a_shadow_is_reviewed_and_swapped_in_without_losing_a_row(own_ads: OwnAdsFlow) -> None:
    group = f"{own_ads.norm}-sink"
    reader = f"analyst_{uuid.uuid4().hex[:10]}"
    fetched = now() - timedelta(minutes=5)
    own_ads.produce_norm([own_ads.normalized(Ad(n, f"{n}0.00", fetched)) for n in (1, 2, 3)])
    shadow_args = ("replay", "sink", "ad-performance", "--group-id", group, "--from", "1h",
                   "--into-shadow")  # fmt: skip
    swap_args = ("replay", "swap", "ad-performance", "--group-id", group)
    sink = own_ads.sink(group)
    with psycopg.connect(own_ads.dsn, autocommit=True) as warehouse:
        warehouse.execute(f'CREATE ROLE "{reader}" NOLOGIN')
        try:
            wait_for(lambda: len(own_ads.rows()) == 3, timeout_s=60, what="the three rows")
            warehouse.execute(f'GRANT SELECT ON public.ad_performance_daily TO "{reader}"')

            missing = own_ads.headwater("replay", "diff", "ad-performance")
            assert missing.code == 2
            assert "no public.ad_performance_daily__replay" in missing.err

            # the sink runs on: a shadow of unchanged records holds what the table holds
            made = own_ads.headwater(*shadow_args)
            assert made.code == 0, made.err
            same = own_ads.headwater("replay", "diff", "ad-performance")
            assert same.code == 0, same.out
            assert "identical" in same.out

            with psycopg.connect(own_ads.dsn) as connection:  # ad 2 goes wrong in the table
                connection.execute(
                    "UPDATE public.ad_performance_daily SET spend = 0 WHERE ad_id = '2'"
                )
            made = own_ads.headwater(*shadow_args)
            assert made.code == 0, made.err
            shadow = own_ads.rows("ad_performance_daily__replay")
            assert {ad: spend for ad, (spend, _) in shadow.items()} == {
                1: as_decimal("10"), 2: as_decimal("20"), 3: as_decimal("30")
            }  # fmt: skip
            differs = own_ads.headwater("replay", "diff", "ad-performance")
            assert differs.code == 1
            assert "  changed                 1 (spend 1)" in differs.out
            assert "  unchanged               2" in differs.out
            assert "2026-11-20): spend 0.000000 -> 20.000000" in differs.out

            busy = own_ads.headwater(*swap_args)
            assert busy.code == 2
            assert f"consumer group {group} is active" in busy.err

            # after the copy, the live table receives ad 4: the swap must not lose it
            own_ads.produce_norm([own_ads.normalized(Ad(4, "40.00", fetched))])
            wait_for(lambda: 4 in own_ads.rows(), timeout_s=60, what="ad 4 in the live table")
        finally:
            sink.close()

        swapped = own_ads.headwater(*swap_args)
        assert swapped.code == 0, swapped.err
        assert set(own_ads.rows()) == {1, 2, 3}  # the shadow, as it was copied
        assert set(own_ads.rows("ad_performance_daily__previous")) == {1, 2, 3, 4}
        granted = warehouse.execute(
            "SELECT has_table_privilege(%s, 'public.ad_performance_daily', 'SELECT')", (reader,)
        ).fetchone()
        assert granted == (True,)

        again = own_ads.headwater(*swap_args)
        assert again.code == 2
        assert "there is no public.ad_performance_daily__replay" in again.err

        resumed = own_ads.sink(group)  # from the shadow's position: ad 4 lands again
        try:
            wait_for(lambda: 4 in own_ads.rows(), timeout_s=60, what="ad 4 in the new table")
        finally:
            resumed.close()
        assert {ad: spend for ad, (spend, _) in own_ads.rows().items()} == {
            1: as_decimal("10"), 2: as_decimal("20"), 3: as_decimal("30"), 4: as_decimal("40")
        }  # fmt: skip
        warehouse.execute("DROP TABLE public.ad_performance_daily__previous")
        warehouse.execute(f'DROP OWNED BY "{reader}"')
        warehouse.execute(f'DROP ROLE "{reader}"')


def test_the_cdc_mirrors_have_no_shadow(own_ads: OwnAdsFlow) -> None:
    refused = own_ads.headwater(
        "replay", "sink", "cdc", "--from", "1h", "--into-shadow", "--dry-run"
    )
    assert refused.code == 2
    assert "sink cdc writes many tables" in refused.err


def test_a_swap_is_refused_while_views_read_the_live_table(own_ads: OwnAdsFlow) -> None:
    group = f"{own_ads.norm}-sink"
    own_ads.produce_norm([own_ads.normalized(Ad(1, "10.00", now()))])
    own_ads.land_all(group)
    with psycopg.connect(own_ads.dsn) as connection:
        connection.execute(
            "CREATE VIEW public.spend_by_day AS SELECT date, sum(spend) AS spend "
            "FROM public.ad_performance_daily GROUP BY date"
        )
    made = own_ads.headwater(
        "replay", "sink", "ad-performance", "--group-id", group, "--from", "1h", "--into-shadow"
    )
    assert made.code == 0, made.err

    refused = own_ads.headwater("replay", "swap", "ad-performance", "--group-id", group)
    assert refused.code == 2
    assert "views depend on public.ad_performance_daily (spend_by_day)" in refused.err
    assert set(own_ads.rows("ad_performance_daily__replay")) == {1}  # nothing was renamed
