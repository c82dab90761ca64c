"""The services' /metrics, scraped and kept as running totals across restarts."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, str, Labels]  # (child, sample name, labels)


def scrape(url: str, timeout_s: float = 2.0) -> list[tuple[str, Labels, float]] | None:
    """Every sample a /metrics endpoint serves; None when it does not answer.

    An answer that is not in Prometheus' text format counts as no answer.
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:
            body = reply.read()
    except (OSError, urllib.error.URLError, http.client.HTTPException):
        return None
    try:
        return samples_from_text(body.decode())
    except ValueError:  # something answered, but not in Prometheus' text format (or not UTF-8)
        return None


def samples_from_text(text: str) -> list[tuple[str, Labels, float]]:
    """Every sample of a Prometheus text exposition, without the ``_created`` ones.

    Raises ValueError when ``text`` is not in that format.
    """
    return [
        (sample.name, tuple(sorted(sample.labels.items())), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    ]


class MetricTotals:
    """Counters summed over the children's lives, and the latest value of gauges.

    A counter that goes down means its process restarted: what it had counted before is
    kept, so totals never go backwards.
    """

    def __init__(self) -> None:
        self._last: dict[SeriesKey, float] = {}
        self._carried: dict[SeriesKey, float] = defaultdict(float)

    def update(self, child: str, samples: Iterable[tuple[str, Labels, float]]) -> None:
        """Take one scrape of a child."""
        for name, labels, value in samples:
            key = (child, name, labels)
            last = self._last.get(key)
            if name.endswith("_total") and last is not None and value < last:
                self._carried[key] += last
            self._last[key] = value

    def value(self, name: str, child: str | None = None, **labels: str) -> float:
        """Sum of the matching series (counters with what earlier lives counted)."""
        return sum(self.values_by(name, None, child, **labels).values())

    def values_by(
        self, name: str, label: str | None, child: str | None = None, **labels: str
    ) -> dict[str, float]:
        """Matching series summed per value of one label (all under "" when label is None)."""
        totals: dict[str, float] = defaultdict(float)
        wanted = set(labels.items())
        for key, last in self._last.items():
            series_child, series_name, series_labels = key
            if series_name != name or (child is not None and series_child != child):
                continue
            if not wanted <= set(series_labels):
                continue
            group = dict(series_labels).get(label, "") if label else ""
            totals[group] += last + self._carried.get(key, 0.0)
        return dict(totals)
