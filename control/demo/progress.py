"""The live view: per stage records in, out, rejected and lag; warehouse rows; the backfill bar."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from control.demo.sources import DemoSource
from control.status.render import number
from control.status.scrape import MetricTotals
from control.supervisor import ChildState, ChildStatus
from headwater.http import series
from producers import metrics as poller_metrics
from sinks import metrics as sink_metrics
from stream_processors import metrics as processor_metrics

IN = series(processor_metrics.RECORDS_IN)
OUT = series(processor_metrics.RECORDS_OUT)
REJECTED = series(processor_metrics.RECORDS_REJECTED)
FILTERED = series(processor_metrics.RECORDS_FILTERED)
SINK_RECORDS = series(sink_metrics.RECORDS)
SINK_LAG = series(sink_metrics.CONSUMER_LAG)
FETCHED = series(poller_metrics.ROWS_FETCHED)
POLL_RUNS = series(poller_metrics.POLL_RUNS)
POLL_ERRORS = series(poller_metrics.ERRORS)

BAR_WIDTH = 30


def duration(seconds: float) -> str:
    """m:ss."""
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


@dataclass(frozen=True)
class Pipeline:
    """What the view follows: sources, sink consumer groups, accounts per polled source."""

    sources: list[DemoSource]
    sink_groups: dict[str, str]  # sink name -> consumer group (the metrics' sink label)
    accounts: dict[str, int]  # polled source -> accounts it polls


class Backfill:
    """Progress of the initial backfill: accounts polled once, their records processed, landed."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.done_after_s: float | None = None

    def parts(self, totals: MetricTotals) -> tuple[float, float, float]:
        """(accounts polled, records processed, records landed), each 0..1."""
        accounts = self.pipeline.accounts
        polled = sum(
            min(float(count), totals.value(POLL_RUNS, f"poll-{source}", outcome="ok"))
            for source, count in accounts.items()
        )
        apis = [s for s in self.pipeline.sources if s.name in accounts]
        fetched = sum(totals.value(FETCHED, f"poll-{s.name}") for s in apis)
        processed = sum(totals.value(IN, "processor", topic=t) for s in apis for t in s.inputs)
        outputs = {t for s in apis for t in s.outputs}
        normalized = sum(totals.value(OUT, "processor", topic=t) for t in outputs)
        landed = sum(
            totals.value(SINK_RECORDS, f"sink-{sink}")
            for sink in {s.sink for s in apis}
            if sink in self.pipeline.sink_groups
        )
        return (
            polled / sum(accounts.values()) if accounts else 1.0,
            min(1.0, processed / fetched) if fetched else 0.0,
            min(1.0, landed / normalized) if normalized else 0.0,
        )

    def line(self, totals: MetricTotals, elapsed_s: float) -> str:
        """The bar, or how long the backfill took once it is done."""
        if not self.pipeline.accounts:
            return "backfill   (no API source polled)"
        if self.done_after_s is not None:
            return f"backfill   done in {self.done_after_s:.0f}s; now keeping up"
        polled, processed, landed = self.parts(totals)
        if min(polled, processed, landed) >= 1.0:
            self.done_after_s = elapsed_s
            return f"backfill   done in {elapsed_s:.0f}s"
        fraction = (polled + processed + landed) / 3
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return (
            f"backfill   [{bar}] {fraction:4.0%}  accounts polled {polled:.0%}"
            f" · processed {processed:.0%} · landed {landed:.0%}"
        )


def stage_lines(pipeline: Pipeline, totals: MetricTotals) -> list[str]:
    """One row per stage: pollers, the processor per source, the KPI stage, the sinks."""
    rows: list[tuple[str, float | None, float | None, float | None, float | None, float | None]]
    rows = []
    for polled in pipeline.accounts:
        fetched = totals.value(FETCHED, f"poll-{polled}")
        errors = totals.value(POLL_ERRORS, f"poll-{polled}")
        rows.append((f"poll {polled}", None, fetched, errors or None, None, None))
    by_outputs: dict[tuple[str, ...], list[DemoSource]] = {}
    for source in pipeline.sources:
        by_outputs.setdefault(source.outputs, []).append(source)
    for outputs, members in by_outputs.items():
        inputs = [topic for member in members for topic in member.inputs]

        def over(name: str, topics: Sequence[str]) -> float:
            return sum(totals.value(name, "processor", topic=topic) for topic in topics)

        rows.append(
            (
                "normalize " + " + ".join(member.name for member in members),
                over(IN, inputs),
                over(OUT, outputs),
                over(REJECTED, inputs),
                over(FILTERED, inputs),
                None,
            )
        )
    if totals.value(IN, "processor", stage="kpis"):
        rows.append(
            (
                "kpis (in stream)",
                totals.value(IN, "processor", stage="kpis"),
                totals.value(OUT, "processor", stage="kpis"),
                totals.value(REJECTED, "processor", stage="kpis"),
                totals.value(FILTERED, "processor", stage="kpis"),
                None,
            )
        )
    for sink, consumer_group in pipeline.sink_groups.items():
        child = f"sink-{sink}"
        outcomes = totals.values_by(SINK_RECORDS, "outcome", child)
        rows.append(
            (
                f"sink {sink}",
                sum(outcomes.values()),
                outcomes.get("applied", 0.0),
                outcomes.get("rejected", 0.0),
                outcomes.get("filtered", 0.0),
                totals.value(SINK_LAG, child, sink=consumer_group),
            )
        )
    header = f"{'stage':<34}{'in':>12}{'out':>12}{'rejected':>10}{'filtered':>10}{'lag':>10}"
    lines = [header]
    for name, in_, out, rejected, filtered, lag in rows:
        lines.append(
            f"{name[:33]:<34}{number(in_):>12}{number(out):>12}{number(rejected):>10}"
            f"{number(filtered):>10}{number(lag):>10}"
        )
    return lines


def warehouse_line(counts: dict[str, int | None]) -> str:
    """Rows per warehouse table, three tables a line."""
    shown = [
        f"{table} {number(count) if count is not None else '(not yet)'}"
        for table, count in counts.items()
    ]
    rows = [" · ".join(shown[i : i + 3]) for i in range(0, len(shown), 3)]
    return "warehouse  " + "\n           ".join(rows)


def services_line(statuses: Sequence[ChildStatus]) -> str:
    """How many services run, restarts, and any that are down or given up."""
    running = sum(1 for s in statuses if s.state is ChildState.RUNNING)
    restarts = sum(s.restarts for s in statuses)
    line = f"services   {running} of {len(statuses)} running · restarts {restarts}"
    for status in statuses:
        if status.state is ChildState.FAILED:
            line += (
                f"\n           GAVE UP on {status.name}: {status.reason} (log {status.log_path})"
            )
        elif status.state is ChildState.BACKOFF:
            line += f"\n           {status.name}: {status.reason}"
    return line


class Screen:
    """Draws the view in place on a terminal; elsewhere prints every ``every``-th frame."""

    def __init__(self, stream: TextIO = sys.stdout, every: int = 5) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._every = every
        self._frames = 0
        self._drawn = 0

    def draw(self, lines: list[str], force: bool = False) -> None:
        """Show one frame."""
        self._frames += 1
        text = "\n".join(lines)
        if self._tty:
            if self._drawn:
                self._stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._stream.write(text + "\n")
            width = max(1, shutil.get_terminal_size().columns)
            self._drawn = sum(max(1, -(-len(row) // width)) for row in text.split("\n"))
        elif force or self._frames % self._every == 1:
            self._stream.write(text + "\n\n")
        self._stream.flush()

    def keep(self) -> None:
        """Leave what is drawn on screen; the next frame starts below it."""
        self._drawn = 0
