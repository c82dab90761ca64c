"""Stage 1 for orders: each order change becomes contributions to the row it counts in.

An order remembers its KPI row (state per input partition, saved to a changelog: key the
order's key, value the row's key, none once it counts nowhere), so an order that moves to
another campaign or day is withdrawn from the old row. The contributions of a batch are
delivered before the changelog is written, so a crash in between redoes the batch with the
old rows remembered: the withdrawal and the new share are sent again, and the fold stage
ignores what it already has (same identity, same version).
"""

from __future__ import annotations

from collections.abc import Iterable

from headwater.avro import DECODE_ERRORS, UndecodableRecord
from headwater.cdc_row import decode_change
from headwater.settings import Settings
from stream_processors.base import Incoming, StatefulStage
from stream_processors.kpis.contributions import (
    ORDERS,
    Attribution,
    Contribution,
    KpiKey,
    order_key,
    order_values,
)
from stream_processors.output import Output
from stream_processors.state import changelog_topic

STORE = "kpi_order_rows"


def contribution_output(topic: str, contribution: Contribution) -> Output:
    """A contribution keyed by its KPI row, for the contributions topic."""
    return Output(topic, contribution.key.encode(), contribution.encode())


class OrderContributions(StatefulStage):
    """Turns the orders' normalized CDC topic into order contributions."""

    name = "kpi_orders"
    label = "kpis"

    def __init__(self, settings: Settings, orders_topic: str, contributions: str) -> None:
        self.sources = (orders_topic,)
        self._contributions = contributions
        self.changelog = changelog_topic(settings.processor.app_id, STORE)
        self._attribution = Attribution(settings.kpis)
        self._rows: dict[int, dict[bytes, bytes | None]] = {}
        self._dirty: dict[int, dict[bytes, bytes | None]] = {}

    def process(self, record: Incoming) -> list[Output]:
        """The withdrawal from the order's previous row and its share of the new one."""
        key, value = record.key, record.value
        if value is None or key is None:
            return []  # our tombstone after a DELETE record
        try:
            change = decode_change(value, record.headers)
        except UndecodableRecord:
            raise  # its reason says which schema
        except DECODE_ERRORS as error:  # what fastavro raises for bytes that are no CdcRow
            raise UndecodableRecord(f"not a CdcRow: {type(error).__name__}: {error}") from error
        if change.op == "TRUNCATE":
            return []
        rows = self._rows.setdefault(record.partition, {})
        identity = f"{change.schema}.{change.table}|{key.decode()}"  # ids repeat across tables
        previous = rows.get(key)
        previous_key = KpiKey.decode(previous) if previous else None
        target = None if change.op == "DELETE" else order_key(change.values, self._attribution)
        outputs: list[Output] = []
        if previous_key is not None and previous_key != target:
            withdraw = Contribution(previous_key, ORDERS, identity, change.lsn, None)
            outputs.append(contribution_output(self._contributions, withdraw))
        if target is not None:
            share = order_values(change.values, self._attribution)
            outputs.append(
                contribution_output(
                    self._contributions, Contribution(target, ORDERS, identity, change.lsn, share)
                )
            )
        remembered = target.encode() if target is not None else None
        rows[key] = remembered
        self._dirty.setdefault(record.partition, {})[key] = remembered
        return outputs

    def changes(self) -> list[tuple[int, bytes, bytes | None]]:
        """The orders whose row changed since the last call."""
        saved = [
            (partition, key, row)
            for partition, rows in self._dirty.items()
            for key, row in rows.items()
        ]
        self._dirty.clear()
        return saved

    def restore(self, partition: int, entries: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Replay a changelog partition."""
        rows = self._rows[partition] = {}
        for key, row in entries:
            rows[key] = row

    def release(self, partition: int) -> None:
        """Forget a partition's orders."""
        self._rows.pop(partition, None)
        self._dirty.pop(partition, None)
