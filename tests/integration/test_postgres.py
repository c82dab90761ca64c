"""PostgreSQL: logical decoding is on, and the source and warehouse databases exist."""

from __future__ import annotations

import psycopg

from headwater.settings import Settings


def _dsn(settings: Settings, which: str) -> str:
    database = getattr(settings, which)
    assert database.dsn is not None, f"HEADWATER_{which.upper()}__DSN is not set"
    return str(database.dsn.get_secret_value())


def test_wal_level_is_logical(settings: Settings) -> None:
    with psycopg.connect(_dsn(settings, "source")) as connection:
        row = connection.execute("SHOW wal_level").fetchone()
    assert row == ("logical",)


def test_source_and_warehouse_are_separate_databases(settings: Settings, unique_name: str) -> None:
    with psycopg.connect(_dsn(settings, "source")) as source:
        assert source.execute("SELECT current_database()").fetchone() == ("app",)
        source.execute(f"CREATE TABLE {unique_name} (id int PRIMARY KEY)")
        source.execute(f"INSERT INTO {unique_name} VALUES (1), (2)")
        source.commit()
    with psycopg.connect(_dsn(settings, "warehouse")) as warehouse:
        assert warehouse.execute("SELECT current_database()").fetchone() == ("warehouse",)
        found = warehouse.execute("SELECT to_regclass(%s)", (unique_name,)).fetchone()
        assert found == (None,)
    with psycopg.connect(_dsn(settings, "source")) as source:
        assert source.execute(f"SELECT count(*) FROM {unique_name}").fetchone() == (2,)
        source.execute(f"DROP TABLE {unique_name}")


def test_replication_slots_can_be_made(settings: Settings, unique_name: str) -> None:
    with psycopg.connect(_dsn(settings, "source"), autocommit=True) as connection:
        connection.execute(
            "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (unique_name,)
        )
        try:
            row = connection.execute(
                "SELECT plugin, slot_type FROM pg_replication_slots WHERE slot_name = %s",
                (unique_name,),
            ).fetchone()
            assert row == ("pgoutput", "logical")
        finally:
            connection.execute("SELECT pg_drop_replication_slot(%s)", (unique_name,))
