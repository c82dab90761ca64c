"""The KPI stages: contributions from ads, events and orders, folded into KPI rows.

Stage 1 turns each upstream record into a contribution and re-keys it by its KPI row on
``<app id>-kpi-contributions`` (orders remember their row, so an order that moves to another
campaign or day is withdrawn from the old row: ``orders.py``). Stage 2 keeps, per KPI row,
the latest contribution per identity and running totals, and emits the row's figures to
``metrics.campaigns.kpis_daily`` whenever they change (``fold.py``). Every step is
idempotent, so a batch redone after a crash or a failed delivery never double-counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.avro import DECODE_ERRORS, UndecodableRecord, record_reader
from headwater.settings import Settings
from headwater.topology import NORM_ADS, NORM_EVENTS, norm_cdc_topic
from stream_processors.base import Incoming, Stage
from stream_processors.kpis.contributions import (
    Attribution,
    Contribution,
    contributions_topic,
    from_ad_row,
    from_event,
)
from stream_processors.kpis.fold import KpiFold
from stream_processors.kpis.orders import OrderContributions, contribution_output
from stream_processors.output import Output

STAGE = "kpis"


def orders_topic(settings: Settings) -> str:
    """The normalized CDC topic of the orders table."""
    schema, table = settings.kpis.orders_table.split(".", 1)
    return norm_cdc_topic(schema, table)


class RecordContributions(Stage):
    """Turns each record of a normalized Avro topic, read with the schema it was written with,
    into its contribution (or none)."""

    label = STAGE

    def __init__(
        self,
        name: str,
        source: str,
        record: str,
        contribution: Callable[[dict[str, Any]], Contribution | None],
        contributions: str,
    ) -> None:
        self.name = name
        self.sources = (source,)
        self._read = record_reader(record)
        self._contribution = contribution
        self._contributions = contributions

    def process(self, record: Incoming) -> list[Output]:
        """The record's contribution, keyed by its KPI row."""
        if record.value is None:
            return []
        try:
            row = self._read(record.value, record.headers)
        except UndecodableRecord:
            raise  # its reason says which schema
        except DECODE_ERRORS as error:  # what fastavro raises for bytes that are no such record
            name = self._read.schema["name"]
            raise UndecodableRecord(f"not a {name}: {type(error).__name__}: {error}") from error
        contribution = self._contribution(row)
        if contribution is None:
            return []
        return [contribution_output(self._contributions, contribution)]


def stages(settings: Settings) -> list[Stage]:
    """The KPI stages of the processor."""
    attribution = Attribution(settings.kpis)
    contributions = contributions_topic(settings.processor.app_id)
    return [
        RecordContributions(
            "kpi_ads",
            NORM_ADS,
            "norm/ad_performance_daily",
            lambda row: from_ad_row(row, attribution),
            contributions,
        ),
        RecordContributions(
            "kpi_events",
            NORM_EVENTS,
            "norm/app_event",
            lambda event: from_event(event, attribution),
            contributions,
        ),
        OrderContributions(settings, orders_topic(settings), contributions),
        KpiFold(settings),
    ]
