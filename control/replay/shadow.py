"""A sink's shadow table: where a replay lands for review before it reaches the live table.

``<table>__replay`` starts as a copy of the live table (structure, rows, owner and grants),
taken in one snapshot together with the sink's stored offsets; the replay then lands its
window into it. So it differs from the live table only by what the replay changed
(``diff.py``), and it is complete: its position (where the copy stood, or the end of the
window when that is later) is stored beside the sink's offsets, under ``<group>__replay``.

Swapping (the sink stopped) renames, in one transaction, the live table to
``<table>__previous`` (dropping an older one) and the shadow to the live name, and sets the
sink's stored offsets to the shadow's position: started again, the sink lands into the new
table whatever the old one received after the copy. The previous table is kept until the
next swap, for comparison or to go back by hand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import psycopg
from psycopg import sql

from control.replay.plan import Partition, ReplayRefused
from sinks.offsets import OffsetStore
from sinks.upsert import TableSpec

SHADOW_SUFFIX = "__replay"
PREVIOUS_SUFFIX = "__previous"
#: The table privileges ``aclexplode`` names: the only words a GRANT here is made of.
TABLE_PRIVILEGES = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}
)


def shadow_of(live: TableSpec) -> TableSpec:
    """The shadow table of a live one: ``<table>__replay`` in the same schema."""
    return dataclasses.replace(live, table=f"{live.table}{SHADOW_SUFFIX}")


def previous_of(live: TableSpec) -> TableSpec:
    """Where a swap keeps the table it replaced: ``<table>__previous``."""
    return dataclasses.replace(live, table=f"{live.table}{PREVIOUS_SUFFIX}")


def shadow_positions(group: str) -> OffsetStore:
    """Where the shadow of the sink ``group`` stands, stored beside the sink's offsets."""
    return OffsetStore(f"{group}{SHADOW_SUFFIX}")


def oid(connection: psycopg.Connection, table: TableSpec) -> int | None:
    """The table's oid; None when it does not exist."""
    found = connection.execute(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        (table.schema, table.table),
    ).fetchone()
    return None if found is None else int(found[0])


def seed(
    connection: psycopg.Connection, live: TableSpec, group: str, partitions: list[Partition]
) -> dict[Partition, int]:
    """(Re)create the shadow as a copy of the live table, and return the sink's stored
    offsets the copy matches (one snapshot). The connection must be outside a transaction;
    this commits."""
    connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot
    try:
        with connection.transaction():
            copied_at = OffsetStore(group).load(connection, partitions)
            shadow = shadow_of(live)
            connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(shadow.identifier))
            connection.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    shadow.identifier, live.identifier
                )
            )
            connection.execute(
                sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
                    shadow.identifier, live.identifier
                )
            )
            try:
                _copy_access(connection, live, shadow)
            except psycopg.errors.InsufficientPrivilege as error:
                raise ReplayRefused(
                    f"the shadow cannot get the owner and grants of {live.schema}.{live.table} "
                    f"(run the replay as its owner or a superuser): {error}"
                ) from error
            shadow_positions(group).reset(connection)  # complete only once the replay is
    finally:
        connection.isolation_level = None
    return copied_at


def _copy_access(connection: psycopg.Connection, live: TableSpec, shadow: TableSpec) -> None:
    """Give the shadow the live table's owner and grants, which LIKE does not copy: after a
    swap, the sink, the analysts and the dashboards keep their access."""
    where = oid(connection, live)
    owner = connection.execute(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s", (where,)
    ).fetchone()
    assert owner is not None  # the live table exists: it was just copied
    connection.execute(
        sql.SQL("ALTER TABLE {} OWNER TO {}").format(shadow.identifier, sql.Identifier(owner[0]))
    )
    grants = connection.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, "
        "a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a "
        "WHERE c.oid = %s AND a.grantee <> c.relowner",
        (where,),
    ).fetchall()
    for grantee, privilege, grantable in grants:
        if privilege not in TABLE_PRIVILEGES:
            raise ReplayRefused(
                f"{live.schema}.{live.table}: the catalog names an unknown privilege {privilege!r}"
            )
        connection.execute(
            sql.SQL("GRANT {} ON {} TO {}{}").format(
                sql.SQL(privilege),  # a privilege keyword (TABLE_PRIVILEGES)
                shadow.identifier,
                sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee),
                sql.SQL(" WITH GRANT OPTION" if grantable else ""),
            )
        )


def complete(connection: psycopg.Connection, group: str, position: Mapping[Partition, int]) -> None:
    """Store where the shadow stands, once its replay finished: it can be swapped now."""
    shadow_positions(group).save(connection, position)


def swap(
    connection: psycopg.Connection, live: TableSpec, group: str, partitions: list[Partition]
) -> dict[Partition, int]:
    """Make the shadow the live table and the live one ``<table>__previous``, with the
    sink's offsets set to the shadow's position, in one transaction; that position.

    Refused when there is no shadow, when its replay did not finish, or when views depend on
    the live table (renamed, it would take them along to the previous table)."""
    shadow, previous = shadow_of(live), previous_of(live)
    with connection.transaction():
        if oid(connection, shadow) is None:
            raise ReplayRefused(
                f"there is no {shadow.schema}.{shadow.table}: replay the sink --into-shadow first"
            )
        position = shadow_positions(group).load(connection, partitions)
        if not position:
            raise ReplayRefused(
                f"{shadow.schema}.{shadow.table} was not completed by a replay of {group} "
                "(it failed, or ran for another --group-id): replay --into-shadow again"
            )
        views = _dependent_views(connection, live)
        if views:
            raise ReplayRefused(
                f"views depend on {live.schema}.{live.table} ({', '.join(views)}): a swap "
                "would leave them on the previous table; drop them, swap, create them again"
            )
        connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(previous.identifier))
        _rename(connection, live, previous)
        _rename(connection, shadow, live)
        OffsetStore(group).save(connection, position)
        shadow_positions(group).reset(connection)
    return position


def _rename(connection: psycopg.Connection, table: TableSpec, to: TableSpec) -> None:
    """Rename the table and its primary key (whose name would otherwise keep the old one)."""
    connection.execute(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(table.identifier, sql.Identifier(to.table))
    )
    key = connection.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s AND contype = 'p'",
        (oid(connection, to),),
    ).fetchone()
    if key is not None and key[0] != f"{to.table}_pkey":
        connection.execute(
            sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                to.identifier, sql.Identifier(key[0]), sql.Identifier(f"{to.table}_pkey")
            )
        )


def _dependent_views(connection: psycopg.Connection, table: TableSpec) -> list[str]:
    rows = connection.execute(
        "SELECT DISTINCT v.oid::regclass::text FROM pg_depend d "
        "JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
        "WHERE d.refobjid = %s AND v.oid <> d.refobjid ORDER BY 1",
        (oid(connection, table),),
    ).fetchall()
    return [row[0] for row in rows]
