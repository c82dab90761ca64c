"""The application database that stands in for RDS: the schema and its seeded rows.

:func:`prepare_source` creates the ``customers`` and ``orders`` tables in a schema
(idempotent) and seeds them when empty; :mod:`sandbox.workload` then changes them.
"""

from __future__ import annotations

from sandbox.source_db.schema import (
    COLUMNS,
    TABLES,
    Column,
    Table,
    create_schema,
    drop_schema,
    schema_ddl,
    tables_exist,
)
from sandbox.source_db.seed import SEED_EPOCH, SeedResult, prepare_source, seed_rows, seed_tables

__all__ = [
    "COLUMNS",
    "SEED_EPOCH",
    "TABLES",
    "Column",
    "SeedResult",
    "Table",
    "create_schema",
    "drop_schema",
    "prepare_source",
    "schema_ddl",
    "seed_rows",
    "seed_tables",
    "tables_exist",
]
