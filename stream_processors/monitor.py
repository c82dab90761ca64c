"""Faust's own sensors (messages, offsets, rebalances, table operations) as Prometheus metrics.

Faust ships a Prometheus monitor; its metrics go to the default registry under the
``headwater_faust_`` prefix, so the processor's one ``/metrics`` endpoint serves them
beside Headwater's own. The metric objects are created once per process: a registry
refuses the same name twice, and tests build more than one app.
"""

from __future__ import annotations

from functools import cache

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import REGISTRY

PREFIX = "headwater_faust"


@cache
def _metrics() -> FaustMetrics:
    return FaustMetrics.create(REGISTRY, PREFIX)


def prometheus_monitor() -> PrometheusMonitor:
    """A monitor for one app, recording into the process-wide Faust metrics."""
    return PrometheusMonitor(metrics=_metrics())
