"""Stage 2 of the KPIs: contributions folded into KPI rows, with the state in a changelog.

State per input partition: each row's totals, and each identity's latest entry. After a
batch's KPI rows were delivered, the changelog gets, per changed row, one *row record*
(key ``R`` + row: its totals and the entries changed since its last row record, at most
``SEGMENT`` of them) followed by one *entry record* per changed entry (key ``E`` + row,
kind, identity). A row record and the entries it carries are one Kafka record, so the
changelog never holds totals without the entries that made them, whatever point a crash
hits; entry records keep the entries once compaction drops older row records. Every
contribution processed rewrites its entry record, even when it changed nothing, so a
redone batch re-saves what a crash may have left only inside a row record. Restoring a
partition replays its changelog in order (row records set totals and entries, entry
records set entries) and queues the entries learnt from row records to be saved again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from headwater.avro import SCHEMA_HEADER, schema_id
from headwater.avro_binary import FlatRecordWriter
from headwater.settings import Settings
from headwater.topology import KPIS_DAILY
from schemas import avro_schema
from stream_processors.base import Incoming, StatefulStage
from stream_processors.kpis.contributions import Contribution, KpiKey, contributions_topic
from stream_processors.kpis.rows import Entry, Totals, figures, fold
from stream_processors.output import Output
from stream_processors.state import changelog_topic

STORE = "kpi_rows"
#: most entries one row record carries; a busier row in one batch gets several records
SEGMENT = 200
_ROW, _ENTRY = b"R", b"E"

EntryKey = tuple[str, str]  # kind, identity


@dataclass
class _Row:
    """A row's totals and the entries changed since its last saved row record."""

    totals: Totals
    dirty: dict[EntryKey, Entry] = field(default_factory=dict)
    #: row records waiting to be saved: (totals as they were, the entries they carry)
    segments: list[tuple[dict[str, Any], dict[EntryKey, Entry]]] = field(default_factory=list)
    changed: bool = False


@dataclass
class _Partition:
    rows: dict[bytes, _Row] = field(default_factory=dict)
    entries: dict[tuple[bytes, str, str], Entry] = field(default_factory=dict)
    touched: dict[bytes, None] = field(default_factory=dict)  # rows to save, in order


class KpiFold(StatefulStage):
    """Folds the contributions topic into ``metrics.campaigns.kpis_daily``: one update per
    changed row and batch, with the row's figures after the batch."""

    name = "kpi_fold"
    label = "kpis"

    def __init__(
        self, settings: Settings, source: str | None = None, output: str = KPIS_DAILY
    ) -> None:
        self.sources = (source or contributions_topic(settings.processor.app_id),)
        self.changelog = changelog_topic(settings.processor.app_id, STORE)
        self._output = output
        self._currency = settings.kpis.currency
        self._schema = avro_schema("metrics/campaign_kpis_daily")
        self._write = FlatRecordWriter(self._schema)
        self._headers = [(SCHEMA_HEADER, schema_id(self._schema))]
        self._partitions: dict[int, _Partition] = {}
        self._emit: dict[bytes, tuple[int, KpiKey]] = {}  # rows changed in this batch

    def process(self, record: Incoming) -> list[Output]:
        """The row's new figures when the contribution changed it."""
        if record.key is None or record.value is None:
            return []
        contribution = Contribution.decode(record.value)
        state = self._partitions.setdefault(record.partition, _Partition())
        row_key = record.key
        row = state.rows.get(row_key)
        identity = (contribution.kind, contribution.identity)
        current = state.entries.get((row_key, *identity))
        totals = row.totals.copy() if row is not None else Totals()
        entry = fold(totals, current, contribution)  # on a copy: a failure changes nothing
        if row is None:
            row = state.rows[row_key] = _Row(totals)
        state.touched[row_key] = None
        if entry is None:
            row.dirty.setdefault(identity, current)  # type: ignore[arg-type]
            return []
        row.totals = totals
        row.changed = True
        row.dirty[identity] = entry
        state.entries[(row_key, *identity)] = entry
        if len(row.dirty) >= SEGMENT:
            row.segments.append((totals.encode(), row.dirty))
            row.dirty = {}
        self._emit[row_key] = (record.partition, contribution.key)
        return []

    def finish(self) -> list[Output]:
        """The figures of every row the batch changed, once per row."""
        now = time.time_ns() // 1000
        outputs = []
        for row_key, (partition, key) in self._emit.items():
            row = self._partitions[partition].rows.get(row_key)
            if row is not None:
                kpi = figures(key, row.totals, self._currency, now)
                outputs.append(Output(self._output, row_key, self._write(kpi), self._headers))
        self._emit.clear()
        return outputs

    def changes(self) -> list[tuple[int, bytes, bytes | None]]:
        """Row records, then entry records, of every row touched since the last call."""
        saved: list[tuple[int, bytes, bytes | None]] = []
        for partition, state in self._partitions.items():
            entries: list[tuple[int, bytes, bytes | None]] = []
            for row_key in state.touched:
                row = state.rows[row_key]
                if row.changed and row.dirty:
                    row.segments.append((row.totals.encode(), row.dirty))
                elif row.dirty:  # unchanged totals: the entries alone need saving
                    entries += [
                        (partition, _entry_key(row_key, *identity), _entry_value(entry))
                        for identity, entry in row.dirty.items()
                    ]
                for totals, carried in row.segments:
                    saved.append((partition, _ROW + row_key, _row_record(totals, carried)))
                    entries += [
                        (partition, _entry_key(row_key, *identity), _entry_value(entry))
                        for identity, entry in carried.items()
                    ]
                row.segments, row.dirty, row.changed = [], {}, False
            saved += entries
            state.touched.clear()
        return saved

    def restore(self, partition: int, entries: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Replay a changelog partition; entries known only from row records are re-saved."""
        state = self._partitions[partition] = _Partition()
        unsaved: dict[tuple[bytes, str, str], Entry] = {}
        for key, value in entries:
            if value is None:
                continue
            if key.startswith(_ROW):
                row_key = key[len(_ROW) :]
                data = orjson.loads(value)
                state.rows[row_key] = _Row(Totals.decode(data["totals"]))
                for kind, identity, version, values in data["entries"]:
                    entry = (int(version), values)
                    state.entries[(row_key, kind, identity)] = entry
                    unsaved[(row_key, kind, identity)] = entry
            elif key.startswith(_ENTRY):
                row_key_text, kind, identity = orjson.loads(key[len(_ENTRY) :])
                version, values = orjson.loads(value)
                entry_key = (row_key_text.encode(), kind, identity)
                state.entries[entry_key] = (int(version), values)
                unsaved.pop(entry_key, None)
        for (row_key, kind, identity), entry in unsaved.items():
            row = state.rows.setdefault(row_key, _Row(Totals()))
            row.dirty[(kind, identity)] = entry
            state.touched[row_key] = None

    def release(self, partition: int) -> None:
        """Forget a partition's rows."""
        self._partitions.pop(partition, None)
        self._emit.clear()  # a batch is never cut by a rebalance: nothing is lost here


def _row_record(totals: dict[str, Any], carried: dict[EntryKey, Entry]) -> bytes:
    entries = [
        [kind, identity, version, values] for (kind, identity), (version, values) in carried.items()
    ]
    return orjson.dumps({"totals": totals, "entries": entries})


def _entry_value(entry: Entry) -> bytes:
    return orjson.dumps(entry)


def _entry_key(row_key: bytes, kind: str, identity: str) -> bytes:
    return _ENTRY + orjson.dumps([row_key.decode(), kind, identity])
