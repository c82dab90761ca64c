"""Mirrors against their source tables, and checksums of mirrors.

The comparison lives in :mod:`sandbox.source_db.mirrors`, which the benchmarks use too.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from sandbox.source_db.mirrors import differences, source_in_warehouse

__all__ = ["differences", "mirror_checksum", "source_in_warehouse"]


def mirror_checksum(connection: psycopg.Connection, schema: str, table: str) -> tuple[int, str]:
    """Row count and an md5 over every mirror row, version and sync time included."""
    mirror = sql.Identifier(schema, f"src_{table}")
    row = connection.execute(
        sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
            "FROM {} AS t"
        ).format(mirror)
    ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])
