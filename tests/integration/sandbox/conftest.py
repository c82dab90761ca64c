"""Fixtures of the source-database sandbox's tests: the DSN and a throwaway schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from control.cli.sandbox import source_dsn as dsn_of
from headwater.settings import Settings
from sandbox.source_db import drop_schema


@pytest.fixture
def source_dsn(settings: Settings) -> str:
    """The test stack's source database."""
    return dsn_of(settings)


@pytest.fixture
def database(source_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection for the tests' own queries (fresh statistics each time)."""
    with psycopg.connect(source_dsn, autocommit=True) as connection:
        yield connection


@pytest.fixture
def schema(source_dsn: str, unique_name: str) -> Iterator[str]:
    """A schema name no other test uses, dropped with everything in it at the end."""
    yield unique_name
    with psycopg.connect(source_dsn) as connection:
        drop_schema(connection, unique_name)
