"""What the instrumentation costs on the hot paths, per call, against the same path bare.

    .venv/bin/python bench/metrics_overhead.py [--calls 200000]

- the pollers' request wrapper (``producers.metrics.api_request``: a histogram observation
  and a counter per request) against an empty ``with`` block;
- Faust's Prometheus monitor (``stream_processors.faust_metrics``) against Faust's default
  monitor, for the sensor calls the worker makes per message (message in, stream event in
  and out, message out);
- one scrape of a processor-sized registry (``generate_latest``).

Prints microseconds per call and the ratio to the baseline. No services needed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faust.sensors.monitor import Monitor
from faust.types import TP
from prometheus_client import REGISTRY, generate_latest

from producers import metrics
from stream_processors.faust_metrics import prometheus_monitor


def per_call_us(calls: int, body: Callable[[], object]) -> float:
    """Microseconds per call of ``body`` (best of three runs)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(calls):
            body()
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


def api_request_us(calls: int) -> tuple[float, float]:
    def bare() -> None:
        with nullcontext():
            pass

    def wrapped() -> None:
        with metrics.api_request("bench", "insights"):
            pass

    return per_call_us(calls, bare), per_call_us(calls, wrapped)


def monitor_us(calls: int) -> tuple[float, float]:
    tp = TP("raw.clevertap.events", 0)
    stream: Any = mock.Mock(shortlabel="Stream: raw.clevertap.events", _on_message_in=None)
    event: Any = mock.Mock(message=mock.Mock(tp=tp, offset=1, stream_meta={}))
    message: Any = mock.Mock(tp=tp, offset=1, stream_meta={}, time_in=None)

    def one_message(monitor: Monitor) -> Callable[[], None]:
        def run() -> None:
            monitor.on_message_in(tp, 1, message)
            state = monitor.on_stream_event_in(tp, 1, stream, event)
            monitor.on_stream_event_out(tp, 1, stream, event, state)
            monitor.on_message_out(tp, 1, message)

        return run

    return (
        per_call_us(calls, one_message(Monitor())),
        per_call_us(calls, one_message(prometheus_monitor())),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200_000)
    calls = parser.parse_args().calls
    rows = [
        ("API request wrapper", *api_request_us(calls)),
        ("Faust monitor, per message", *monitor_us(calls // 4)),
    ]
    print(f"{'path':<30} {'baseline µs':>12} {'instrumented µs':>16} {'extra µs':>9} {'ratio':>6}")
    for name, base, instrumented in rows:
        print(
            f"{name:<30} {base:>12.2f} {instrumented:>16.2f} "
            f"{instrumented - base:>9.2f} {instrumented / base:>6.2f}"
        )
    scrape_ms = per_call_us(200, lambda: generate_latest(REGISTRY)) / 1000
    print(f"scrape of this process's registry: {scrape_ms:.2f} ms")


if __name__ == "__main__":
    main()
