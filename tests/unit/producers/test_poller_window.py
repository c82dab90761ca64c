from datetime import date

import pytest

from headwater.settings import PollerSettings, Settings
from producers.base import Window
from producers.poller import Poller
from tests.support.fake_source import FakeSource

TODAY = date(2026, 11, 25)


class NoProducer:
    """The window logic never produces."""


def _poller(backfill_days: int = 10, lookback: int = 3) -> Poller:
    settings = Settings(poller=PollerSettings(backfill_days=backfill_days))
    source = FakeSource(default_lookback_days=lookback)
    return Poller(source, settings, producer=NoProducer(), today=lambda: TODAY)  # type: ignore[arg-type]


def test_first_run_backfills() -> None:
    assert _poller().window_for("a1") == Window(date(2026, 11, 15), TODAY)


def test_first_run_covers_the_lookback_even_with_a_short_backfill() -> None:
    assert _poller(backfill_days=0, lookback=3).window_for("a1") == Window(
        date(2026, 11, 22), TODAY
    )


def test_every_run_re_pulls_the_lookback() -> None:
    poller = _poller(lookback=3)
    poller.cursors._cursors["a1"] = TODAY
    assert poller.window_for("a1") == Window(date(2026, 11, 22), TODAY)


def test_after_downtime_it_resumes_from_the_cursor() -> None:
    poller = _poller(lookback=3)
    poller.cursors._cursors["a1"] = date(2026, 10, 1)
    assert poller.window_for("a1") == Window(date(2026, 10, 2), TODAY)


def test_windows_split_into_chunks() -> None:
    chunks = list(Window(date(2026, 1, 1), date(2026, 1, 10)).chunks(4))
    assert [(c.since.day, c.until.day) for c in chunks] == [(1, 4), (5, 8), (9, 10)]


def test_a_window_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends"):
        Window(date(2026, 1, 2), date(2026, 1, 1))
