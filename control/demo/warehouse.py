"""What the demo reads from the warehouse: row counts, and the best campaigns by ROAS."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from headwater.postgres import connect
from sinks.ads import AD_PERFORMANCE_DAILY
from sinks.events import APP_EVENTS
from sinks.kpis import CAMPAIGN_KPIS_DAILY

KPI_TABLE = (CAMPAIGN_KPIS_DAILY.schema, CAMPAIGN_KPIS_DAILY.table)


def counted_tables(source_schema: str) -> list[tuple[str, str]]:
    """(schema, table) of every table the demo fills, in pipeline order."""
    return [
        (source_schema, "src_customers"),
        (source_schema, "src_orders"),
        (AD_PERFORMANCE_DAILY.schema, AD_PERFORMANCE_DAILY.table),
        (APP_EVENTS.schema, APP_EVENTS.table),
        KPI_TABLE,
    ]


@dataclass(frozen=True)
class CampaignRoas:
    """One campaign over every day in the table."""

    platform: str
    campaign_id: str
    currency: str
    spend: Decimal
    revenue: Decimal
    orders: int
    installs: int
    roas: Decimal | None


class Warehouse:
    """A connection kept open for the demo's repeated reads (reopened after an error)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._connection: psycopg.Connection[Any] | None = None

    def close(self) -> None:
        """Close the connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed:
            self._connection = connect(self._dsn, autocommit=True)
        return self._connection

    def exists(self, schema: str, table: str) -> bool:
        """Whether the table exists."""
        row = self._connect().execute("SELECT to_regclass(%s)", (f'"{schema}"."{table}"',))
        found = row.fetchone()
        return found is not None and found[0] is not None

    def row_counts(self, tables: list[tuple[str, str]]) -> dict[str, int | None]:
        """Rows per table (None: the table does not exist yet, or the warehouse is down)."""
        counts: dict[str, int | None] = {}
        for schema, table in tables:
            try:
                counts[table] = self._count(schema, table) if self.exists(schema, table) else None
            except psycopg.Error:
                self.close()
                counts[table] = None
        return counts

    def _count(self, schema: str, table: str) -> int:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        row = self._connect().execute(query).fetchone()
        return int(row[0]) if row else 0

    def top_campaigns_by_roas(self, limit: int = 10) -> list[CampaignRoas] | None:
        """Campaigns with spend, best revenue / spend first; None without the KPI table."""
        if not self.exists(*KPI_TABLE):
            return None
        query = sql.SQL(
            "SELECT platform, campaign_id, min(currency), sum(spend), sum(revenue), "
            "sum(orders), sum(installs) FROM {} GROUP BY platform, campaign_id "
            "HAVING sum(spend) > 0 ORDER BY sum(revenue) / sum(spend) DESC, campaign_id "
            "LIMIT %s"
        ).format(sql.Identifier(*KPI_TABLE))
        rows = self._connect().execute(query, (limit,)).fetchall()
        return [
            CampaignRoas(
                platform=str(platform),
                campaign_id=str(campaign),
                currency=str(currency),
                spend=Decimal(spend),
                revenue=Decimal(revenue),
                orders=int(orders),
                installs=int(installs),
                roas=(Decimal(revenue) / Decimal(spend)).quantize(Decimal("0.0001"))
                if spend
                else None,
            )
            for platform, campaign, currency, spend, revenue, orders, installs in rows
        ]
