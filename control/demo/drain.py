"""Has the pipeline caught up? How many records each consumer still has to go, from Kafka's and
the warehouse's offsets, once the producers stopped; and the drain that waits for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from control.demo.fence import FenceWatch
from control.demo.positions import Partition, Positions, behind
from control.demo.progress import duration
from control.demo.reconcile import Snapshot
from control.demo.sources import CDC_SOURCE, DemoSource

#: Without a fence: how long Debezium's topics must stay unchanged to count as done.
SOURCE_SETTLE_S = 6.0


@dataclass(frozen=True)
class Backlog:
    """Records still to consume, per consumer; and whether Debezium published the run's changes."""

    processor: int
    kpis: int
    sinks: dict[str, int]
    source_published: bool

    @property
    def empty(self) -> bool:
        """Everything consumed, and nothing more coming."""
        return (
            self.source_published
            and not self.processor
            and not self.kpis
            and not any(self.sinks.values())
        )

    def describe(self) -> str:
        """What is left, per consumer."""
        sinks = "".join(f" · sink {name} {count:,}" for name, count in self.sinks.items())
        source = "" if self.source_published else " · Debezium still publishing the run's changes"
        return f"processor {self.processor:,} · kpis {self.kpis:,}{sinks}{source}"

    def line(self, elapsed_s: float, timeout_s: float) -> str:
        """For the live view."""
        return (
            f"draining   {duration(elapsed_s)} (at most {duration(timeout_s)}), records to go:"
            f"\n           {self.describe()}"
        )


class CatchUp:
    """Measures the backlog of the processor (both stages) and of every sink."""

    def __init__(
        self,
        positions: Positions,
        sources: list[DemoSource],
        before: Snapshot,
        processor_group: str,
        kpi_inputs: list[str],
        sink_topics: dict[str, tuple[str, list[str]]],  # sink -> (group, topics)
        sink_positions: Callable[[str], dict[Partition, int]],  # group -> its stored offsets
        settle_s: float = SOURCE_SETTLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._positions = positions
        self._sources = sources
        self._before = before
        self._group = processor_group
        self._kpi_inputs = kpi_inputs
        self._sink_topics = sink_topics
        self._sink_positions = sink_positions
        self._settle_s = settle_s
        self._clock = clock
        self._source_ends: dict[Partition, int] | None = None
        self._source_changed_at = 0.0
        self._fence: FenceWatch | None = None

    def watch(self, fence: FenceWatch) -> None:
        """From now on, Debezium is done when the fence is on its topic."""
        self._fence = fence

    def backlog(self) -> Backlog:
        """How far behind every consumer is right now."""
        inputs = [topic for source in self._sources for topic in source.inputs]
        ends = self._positions.ends(inputs)
        committed = self._positions.committed(self._group, inputs)
        start = self._before.consumed
        processor = behind(ends, {tp: committed.get(tp, start.get(tp, 0)) for tp in ends})
        # The KPI stage only counts where it has committed: not every output is its input.
        kpi_committed = self._positions.committed(self._group, self._kpi_inputs)
        kpi_ends = self._positions.ends(self._kpi_inputs)
        kpis = behind({tp: e for tp, e in kpi_ends.items() if tp in kpi_committed}, kpi_committed)
        sinks = {
            sink: behind(self._positions.ends(topics), self._sink_positions(group))
            for sink, (group, topics) in self._sink_topics.items()
        }
        cdc = {t for s in self._sources if s.name == CDC_SOURCE for t in s.inputs}
        if self._fence is not None:
            return Backlog(processor, kpis, sinks, self._fence.seen())
        return Backlog(processor, kpis, sinks, self._source_quiet(ends, cdc))

    def _source_quiet(self, ends: dict[Partition, int], cdc: set[str]) -> bool:
        """Whether Debezium's topics have not grown for the settle time (without a fence).

        Debezium may still be reading the WAL the workload wrote: a pause of one refresh
        is not the end of it.
        """
        now = self._clock()
        cdc_ends = {tp: end for tp, end in ends.items() if tp[0] in cdc}
        if cdc_ends != self._source_ends:
            self._source_ends = cdc_ends
            self._source_changed_at = now
            return False
        return now - self._source_changed_at >= self._settle_s


@dataclass(frozen=True)
class Drained:
    """How the drain ended, and what was still to consume then."""

    backlog: Backlog | None  # the last measurement; None when it was cut short before one
    elapsed_s: float
    stopped_by: str | None = None  # None: every consumer caught up

    @property
    def caught_up(self) -> bool:
        """Whether every consumer consumed everything."""
        return self.stopped_by is None

    def line(self) -> str:
        """For the closing summary."""
        if self.caught_up:
            return f"drain: every consumer caught up in {duration(self.elapsed_s)}"
        left = "not measured" if self.backlog is None else self.backlog.describe()
        return (
            f"drain: stopped after {duration(self.elapsed_s)} ({self.stopped_by}),"
            f" records left: {left}"
        )


def drain(
    measure: Callable[[], Backlog],
    timeout_s: float,
    show: Callable[[Backlog, float], None],
    wait: Callable[[float], object],
    cut_short: Callable[[], str | None],
    interval_s: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
) -> Drained:
    """Measure (and show) the backlog until it is empty, ``timeout_s`` passed, or
    ``cut_short`` says why to stop waiting."""
    started = clock()
    backlog: Backlog | None = None
    while True:
        reason = cut_short()
        if reason is not None:
            return Drained(backlog, clock() - started, reason)
        backlog = measure()
        elapsed = clock() - started
        show(backlog, elapsed)
        if backlog.empty:
            return Drained(backlog, elapsed)
        if elapsed >= timeout_s:
            return Drained(backlog, elapsed, f"the drain timeout of {duration(timeout_s)}")
        wait(interval_s)
