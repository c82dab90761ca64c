"""Two scrapes of every service, queried as PromQL would query Prometheus."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from control.status.observe import Observation
from control.status.scrape import Labels

SeriesKey = tuple[str, str, Labels]  # (service, sample name, labels)


class Scrapes:
    """Every service's two scrapes, queried like PromQL's ``sum by (label)``."""

    def __init__(self, observations: Iterable[Observation]) -> None:
        self._after: dict[SeriesKey, float] = {}
        self._before: dict[SeriesKey, float] = {}
        self._window: dict[str, float] = {}
        for seen in observations:
            service = seen.target.service
            for name, labels, value in seen.after or ():
                self._after[(service, name, labels)] = value
            if seen.before is not None and seen.after is not None and seen.window_s > 0:
                self._window[service] = seen.window_s
                for name, labels, value in seen.before:
                    self._before[(service, name, labels)] = value

    @property
    def has_window(self) -> bool:
        """Whether some service answered both scrapes (so a missing counter means 0)."""
        return bool(self._window)

    def _matching(self, name: str, labels: dict[str, str]) -> Iterator[tuple[SeriesKey, float]]:
        wanted = set(labels.items())
        for key, value in self._after.items():
            if key[1] == name and wanted <= set(key[2]):
                yield key, value

    def _group(self, key: SeriesKey, by: str | None) -> str:
        return dict(key[2]).get(by, "") if by else ""

    def latest(self, name: str, by: str | None = None, **labels: str) -> dict[str, float]:
        """Latest values summed per value of one label (all under "" when by is None)."""
        totals: dict[str, float] = defaultdict(float)
        for key, value in self._matching(name, labels):
            totals[self._group(key, by)] += value
        return dict(totals)

    def highest(self, name: str, by: str | None = None, **labels: str) -> dict[str, float]:
        """Latest values, the highest per value of one label (for timestamps and flags)."""
        highest: dict[str, float] = {}
        for key, value in self._matching(name, labels):
            group = self._group(key, by)
            highest[group] = max(value, highest.get(group, value))
        return highest

    def increase(self, name: str, by: str | None = None, **labels: str) -> dict[str, float]:
        """Counter growth between the scrapes, summed (a reset counts from zero)."""
        return self._growth(name, by, labels, per_second=False)

    def rate(self, name: str, by: str | None = None, **labels: str) -> dict[str, float]:
        """Counter growth per second between the scrapes, summed."""
        return self._growth(name, by, labels, per_second=True)

    def _growth(
        self, name: str, by: str | None, labels: dict[str, str], per_second: bool
    ) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for key, value in self._matching(name, labels):
            window = self._window.get(key[0])
            if window is None:  # that service answered only one scrape
                continue
            before = self._before.get(key, 0.0)
            grown = value - before if value >= before else value
            totals[self._group(key, by)] += grown / window if per_second else grown
        return dict(totals)

    def series(self, name: str) -> dict[tuple[str, Labels], float]:
        """Latest value of every series of a sample name, by (service, labels)."""
        return {(key[0], key[2]): value for key, value in self._matching(name, {})}

    def label_values(self, prefix: str, label: str) -> list[str]:
        """Values a label takes on the samples whose names start with ``prefix``."""
        found = {
            value
            for (_, name, labels) in self._after
            if name.startswith(prefix)
            for key, value in labels
            if key == label
        }
        return sorted(found)

    def any(self, prefix: str) -> bool:
        """Whether some sample's name starts with ``prefix``."""
        return any(name.startswith(prefix) for (_, name, _) in self._after)


def bucket_quantile(q: float, buckets: dict[str, float]) -> float | None:
    """PromQL's ``histogram_quantile`` over cumulative bucket counts keyed by their ``le``."""
    bounds = sorted((float(le), count) for le, count in buckets.items())
    if not bounds or not math.isinf(bounds[-1][0]) or bounds[-1][1] <= 0:
        return None
    rank = q * bounds[-1][1]
    lower, below = 0.0, 0.0
    for index, (upper, count) in enumerate(bounds):
        if count >= rank:
            if math.isinf(upper):  # above the highest bound: that bound is all we know
                return lower if index else None
            if count <= below or upper <= 0:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return None


def quantiles(
    scrapes: Scrapes, histogram: str, qs: Sequence[float], **labels: str
) -> tuple[list[float | None], bool]:
    """Quantiles over the window's observations, or since start (True) when none are new."""
    window = scrapes.increase(f"{histogram}_bucket", "le", **labels)
    if window.get("+Inf", 0.0) > 0:
        return [bucket_quantile(q, window) for q in qs], False
    total = scrapes.latest(f"{histogram}_bucket", "le", **labels)
    return [bucket_quantile(q, total) for q in qs], True
