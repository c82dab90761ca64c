"""Least privilege in the warehouse: one login role per sink, and a read-only analyst role.

``headwater warehouse setup`` runs :func:`set_up_roles` as the warehouse's admin. It

- creates the tables of every sink first (each writer's own ``prepare``), so that a sink
  running as its role needs no right to create: it finds its tables (``sinks/ddl.py``);
- makes each sink's role the owner of its own tables (``ad-performance`` owns
  ``ad_performance_daily``, ...), so it may write them and add the columns its record
  gains, and nothing else. The CDC sink makes mirrors as it discovers source tables: its
  role may create tables in the mirrors' schemas and in the bookkeeping schema, and owns
  the mirrors that exist;
- lets every sink role read and write the shared bookkeeping tables (consumed offsets,
  refused records) only in the rows of its own consumer groups (row-level security on the
  ``sink`` column: ``headwater-sink-<name>`` and the groups ``headwater-sink-<name>-...``
  of a second deployment; a replay's shadow positions, ``<group>__replay``, are the
  admin's, who runs replays);
- gives the analyst role (no login: grant it to people) SELECT on every data table, also
  those the sinks create later, and nothing else.

Run again, it changes nothing: a role whose password the caller kept keeps it (``rotate``
makes new ones; a role whose password is lost gets a new one), and the grants and policies
are made only when missing. The server receives SCRAM verifiers, never a password.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psycopg
from psycopg import sql

from headwater import scram
from headwater.errors import Terminal
from headwater.settings import Settings
from headwater.topology import SINKS, load
from sinks.base import BatchWriter
from sinks.cdc.tables import CONTROL_SCHEMA, TRUNCATIONS_TABLE
from sinks.offsets import SCHEMA as BOOKKEEPING_SCHEMA
from sinks.offsets import TABLE_NAME as OFFSETS_TABLE
from sinks.offsets import OffsetStore
from sinks.rejects import TABLE_NAME as REJECTS_TABLE
from sinks.rejects import RejectOutbox
from sinks.upsert import VersionedUpsertWriter

DEFAULT_PREFIX = "headwater_"
CDC_SINK = "cdc"


@dataclass(frozen=True)
class SinkRole:
    """A sink's login role, the groups whose bookkeeping rows it owns, and its tables."""

    sink: str
    role: str
    group_prefix: str
    tables: tuple[tuple[str, str], ...]


def role_name(sink: str, prefix: str = DEFAULT_PREFIX) -> str:
    """``headwater_sink_ad_performance`` for the sink ``ad-performance``."""
    return f"{prefix}sink_{sink.replace('-', '_')}"


def analyst_role(prefix: str = DEFAULT_PREFIX) -> str:
    """The read-only role analysts are granted."""
    return f"{prefix}analyst"


def sink_roles(settings: Settings, prefix: str = DEFAULT_PREFIX) -> list[SinkRole]:
    """One role per sink of the topology, with the tables its writer lands in."""
    roles = []
    for entry in SINKS:
        writer: BatchWriter = load(entry.writer)(settings)
        tables: tuple[tuple[str, str], ...] = ()
        if isinstance(writer, VersionedUpsertWriter):
            tables = ((writer.spec.schema, writer.spec.table),)
        elif entry.name != CDC_SINK:  # its role would own nothing and fail at its first batch
            raise Terminal(
                f"sink {entry.name}: no role plan for a {type(writer).__name__} "
                "(which tables does it write?)"
            )
        roles.append(
            SinkRole(
                entry.name, role_name(entry.name, prefix), f"headwater-sink-{writer.name}", tables
            )
        )
    _check_groups_apart(roles)
    return roles


def _check_groups_apart(roles: list[SinkRole]) -> None:
    """A role's rows are its group and the groups that start with ``<group>-``: no sink's
    group may be such a group of another (a sink ``app`` would see ``app-events``' rows)."""
    for role in roles:
        for other in roles:
            if other is not role and other.group_prefix.startswith(role.group_prefix + "-"):
                raise Terminal(
                    f"sinks {role.sink} and {other.sink}: the bookkeeping rows of "
                    f"{other.group_prefix} would be visible to {role.role}; rename one"
                )


def mirror_schemas(settings: Settings) -> list[str]:
    """The schemas the CDC sink creates mirrors in: those of the captured tables."""
    return sorted({table.split(".", 1)[0] for table in settings.cdc.tables})


def set_up_roles(
    connection: psycopg.Connection,
    settings: Settings,
    passwords: Mapping[str, str],
    prefix: str = DEFAULT_PREFIX,
    rotate: bool = False,
) -> dict[str, str]:
    """Create or update the roles and their grants; returns every sink role's password.

    ``passwords`` are those kept from the last run (kept unless ``rotate``).
    """
    roles = sink_roles(settings, prefix)
    _prepare_tables(connection, settings)
    kept: dict[str, str] = {}
    for role in roles:
        known = None if rotate else passwords.get(role.role)
        kept[role.role] = known or secrets.token_urlsafe(24)
        _ensure_login_role(connection, role.role, kept[role.role], set_password=known is None)
    analyst = analyst_role(prefix)
    _ensure_group_role(connection, analyst)
    for role in roles:
        _grant_own_tables(connection, role)
        _grant_bookkeeping(connection, role)
    cdc = next(role for role in roles if role.sink == CDC_SINK)
    _grant_mirror_schemas(connection, cdc, mirror_schemas(settings), analyst)
    _grant_analyst(connection, analyst, [r.role for r in roles], mirror_schemas(settings))
    return kept


def _prepare_tables(connection: psycopg.Connection, settings: Settings) -> None:
    OffsetStore.prepare(connection)
    RejectOutbox.prepare(connection)
    for entry in SINKS:
        writer: BatchWriter = load(entry.writer)(settings)
        writer.prepare(connection)


def _ensure_login_role(
    connection: psycopg.Connection, role: str, password: str, set_password: bool
) -> None:
    """Create the role, or set its password when asked; the server gets a SCRAM verifier,
    never the password (a statement log keeps nothing it could log in with)."""
    exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if exists and not set_password:
        return
    verb = "ALTER" if exists else "CREATE"
    connection.execute(
        sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(scram.verifier(password))
        )
    )


def _ensure_group_role(connection: psycopg.Connection, role: str) -> None:
    exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if not exists:
        connection.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))


def _grant_own_tables(connection: psycopg.Connection, role: SinkRole) -> None:
    for schema, table in role.tables:
        connection.execute(
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(schema), sql.Identifier(role.role)
            )
        )
        connection.execute(
            sql.SQL("ALTER TABLE {} OWNER TO {}").format(
                sql.Identifier(schema, table), sql.Identifier(role.role)
            )
        )


def _grant_bookkeeping(connection: psycopg.Connection, role: SinkRole) -> None:
    """Its own rows of the shared offsets and refused-records tables, nothing of others'."""
    connection.execute(
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
            sql.Identifier(BOOKKEEPING_SCHEMA), sql.Identifier(role.role)
        )
    )
    own_rows = sql.SQL("sink = {group} OR starts_with(sink, {prefix})").format(
        group=sql.Literal(role.group_prefix), prefix=sql.Literal(role.group_prefix + "-")
    )
    for table in (OFFSETS_TABLE, REJECTS_TABLE):
        identifier = sql.Identifier(BOOKKEEPING_SCHEMA, table)
        connection.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
                identifier, sql.Identifier(role.role)
            )
        )
        connection.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(identifier))
        name = f"{role.role}_own_rows"
        exists = connection.execute(
            "SELECT 1 FROM pg_policies WHERE schemaname = %s AND tablename = %s "
            "AND policyname = %s",
            (BOOKKEEPING_SCHEMA, table, name),
        ).fetchone()
        if exists:
            continue
        policy = sql.Identifier(name)
        connection.execute(
            sql.SQL("CREATE POLICY {} ON {} TO {} USING ({}) WITH CHECK ({})").format(
                policy, identifier, sql.Identifier(role.role), own_rows, own_rows
            )
        )


def _grant_mirror_schemas(
    connection: psycopg.Connection, cdc: SinkRole, schemas: Iterable[str], analyst: str
) -> None:
    """The CDC sink creates mirrors and their deleted-keys tables as it meets source tables."""
    role = sql.Identifier(cdc.role)
    for schema in {*schemas, CONTROL_SCHEMA}:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        connection.execute(
            sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(sql.Identifier(schema), role)
        )
    connection.execute(
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
            sql.Identifier(CONTROL_SCHEMA, TRUNCATIONS_TABLE), role
        )
    )
    mirrors = connection.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND ("
        "(n.nspname = ANY(%s) AND c.relname LIKE 'src\\_%%') "
        "OR (n.nspname = %s AND c.relname LIKE 'deleted\\_%%'))",
        (list(schemas), CONTROL_SCHEMA),
    ).fetchall()
    for schema, table in mirrors:
        connection.execute(
            sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(schema, table), role)
        )


def _grant_analyst(
    connection: psycopg.Connection, analyst: str, owners: list[str], schemas: list[str]
) -> None:
    """SELECT on the data tables, now and later (those the sinks create), nothing else."""
    reader = sql.Identifier(analyst)
    for schema in sorted({"public", *schemas}):
        name = sql.Identifier(schema)
        # PostgreSQL before 15 let everyone create in public: nobody but the admin may here
        connection.execute(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(name))
        connection.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(name, reader))
        connection.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(name, reader)
        )
        for owner in owners:
            connection.execute(
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {}"
                ).format(sql.Identifier(owner), name, reader)
            )
