"""Has the pipeline caught up? How many records each consumer still has to go, from Kafka's and
the warehouse's offsets, once the producers stopped."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.demo.positions import Partition, Positions, behind, sink_offsets
from headwater.demo.reconcile import Snapshot
from headwater.demo.sources import CDC_SOURCE, DemoSource


@dataclass(frozen=True)
class Backlog:
    """Records still to consume, per consumer; and whether Debezium has gone quiet."""

    processor: int
    kpis: int
    sinks: dict[str, int]
    source_quiet: bool

    @property
    def empty(self) -> bool:
        """Everything consumed, and nothing more coming."""
        return (
            self.source_quiet
            and not self.processor
            and not self.kpis
            and not any(self.sinks.values())
        )

    def line(self) -> str:
        """For the live view."""
        sinks = " · ".join(f"{name} {count:,}" for name, count in self.sinks.items())
        quiet = "" if self.source_quiet else " · Debezium still writing"
        return (
            f"draining   records behind: processor {self.processor:,} · kpis {self.kpis:,}"
            f"\n           sinks: {sinks}{quiet}"
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
        warehouse_dsn: str,
    ) -> None:
        self._positions = positions
        self._sources = sources
        self._before = before
        self._group = processor_group
        self._kpi_inputs = kpi_inputs
        self._sink_topics = sink_topics
        self._dsn = warehouse_dsn
        self._last_source_ends: dict[Partition, int] | None = None

    def backlog(self) -> Backlog:
        """How far behind every consumer is right now."""
        inputs = [topic for source in self._sources for topic in source.inputs]
        ends = self._positions.ends(inputs)
        committed = self._positions.committed(self._group, inputs)
        start = self._before.consumed
        processor = behind(ends, {tp: committed.get(tp, start.get(tp, 0)) for tp in ends})
        # The KPI stage only counts where it has committed: it may not run at all.
        kpi_committed = self._positions.committed(self._group, self._kpi_inputs)
        kpi_ends = self._positions.ends(self._kpi_inputs)
        kpis = behind({tp: e for tp, e in kpi_ends.items() if tp in kpi_committed}, kpi_committed)
        sinks = {
            sink: behind(self._positions.ends(topics), sink_offsets(self._dsn, group))
            for sink, (group, topics) in self._sink_topics.items()
        }
        cdc = {t for s in self._sources if s.name == CDC_SOURCE for t in s.inputs}
        cdc_ends = {tp: end for tp, end in ends.items() if tp[0] in cdc}
        quiet = cdc_ends == self._last_source_ends
        self._last_source_ends = cdc_ends
        return Backlog(processor, kpis, sinks, quiet)
