from datetime import UTC, datetime, timedelta

import pytest

from control.replay.plan import PartitionPlan, check_window
from headwater.errors import ConfigurationError
from headwater.kafka.ranges import OffsetRange

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_a_window_is_read_and_then_what_follows_it_up_to_the_end() -> None:
    plan = PartitionPlan("raw.facebook_ads.insights", 1, start=40, end=70, committed=90, high=100)
    assert (plan.records, plan.later) == (30, 30)
    assert plan.window == OffsetRange("raw.facebook_ads.insights", 1, 40, 70)
    assert plan.after == OffsetRange("raw.facebook_ads.insights", 1, 70, 100)


def test_a_rewind_reads_to_the_end_and_nothing_after() -> None:
    plan = PartitionPlan("norm.ads.performance_daily", 0, start=5, end=9, committed=None, high=9)
    assert (plan.records, plan.later, plan.after.size) == (4, 0, 0)


@pytest.mark.parametrize("until", [NOW - timedelta(hours=2), NOW - timedelta(hours=1)])
def test_an_until_not_after_from_is_refused(until: datetime) -> None:
    with pytest.raises(ConfigurationError, match=r"--until: .* is not after --from"):
        check_window(NOW - timedelta(hours=1), until, NOW)


def test_a_from_in_the_future_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"--from: .* is in the future"):
        check_window(NOW + timedelta(minutes=1), None, NOW)


def test_an_until_in_the_future_is_accepted() -> None:
    check_window(NOW - timedelta(hours=1), NOW + timedelta(days=1), NOW)  # then: to the end
