"""The sinks' catalogues: a warehouse connection and a schema of the module's own, dropped
after it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from headwater.settings import Settings


@pytest.fixture(scope="module")
def warehouse(settings: Settings) -> Iterator[psycopg.Connection]:
    """A connection to the warehouse (autocommit: each query sees the sink's commits)."""
    assert settings.warehouse.dsn is not None
    with psycopg.connect(settings.warehouse.dsn.get_secret_value(), autocommit=True) as connection:
        connection.execute("SET TIME ZONE 'UTC'")  # year 1 in UTC is year 0 west of it
        yield connection


@pytest.fixture(scope="module")
def schema(request: pytest.FixtureRequest, warehouse: psycopg.Connection) -> Iterator[str]:
    """A warehouse schema for the module's tables (the module's ``WAREHOUSE_SCHEMA``, when
    its records name it), dropped afterwards with the mirror writer's bookkeeping of it."""
    name = getattr(request.module, "WAREHOUSE_SCHEMA", None) or f"badinput_{uuid.uuid4().hex[:8]}"
    yield name
    warehouse.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    warehouse.execute(f'DROP TABLE IF EXISTS headwater."deleted_{name}__orders"')
    if warehouse.execute("SELECT to_regclass('headwater.cdc_truncations')").fetchone() != (None,):
        warehouse.execute(
            "DELETE FROM headwater.cdc_truncations WHERE mirror = %s", (f"{name}.src_orders",)
        )
