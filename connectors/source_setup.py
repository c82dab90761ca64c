"""Prepare the source database for Debezium: role, grants, signaling table, publication.

Runs with the admin DSN (``HEADWATER_SOURCE__DSN``), in one transaction, and is idempotent:
it compares what exists with what the settings want and changes only the difference,
returning one line per change (none on a second run).

- The replication role (``HEADWATER_CDC__USER``) is ``LOGIN REPLICATION`` and owns
  nothing. It gets USAGE on the captured tables' schemas, SELECT on the captured tables
  only (and loses it on tables no longer captured), and INSERT on its signaling table,
  where Debezium writes the incremental snapshot watermarks. Its password is sent as a
  SCRAM verifier, never in clear, and changed only when it differs.
- On Amazon RDS the admin is not a superuser and cannot grant the REPLICATION attribute:
  the role is made a member of ``rds_replication`` instead (done when that role exists
  and the admin is not a superuser; not exercised by the tests, which run PostgreSQL).
- The publication is ``FOR TABLE`` the captured tables and the signaling table, and is
  re-pointed with ``ALTER PUBLICATION ... SET TABLE`` when the list changes.
- A captured table without a primary key gets ``REPLICA IDENTITY FULL`` (set before the
  table joins the publication: a published table without a replica identity rejects
  UPDATE and DELETE).
"""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

from connectors.base import SourceNotReady
from connectors.debezium_postgres import SIGNAL_SCHEMA, signal_table, source_dsn
from headwater import scram
from headwater.errors import ConfigurationError
from headwater.postgres import connect, verified
from headwater.settings import Settings

_LOCK = "headwater source setup"
_PUBLISH = "insert, update, delete, truncate"


def setup_source(settings: Settings) -> list[str]:
    """Create or update role, grants, signaling table and publication; say what changed."""
    cdc = settings.cdc
    if cdc.password is None:
        raise ConfigurationError("HEADWATER_CDC__PASSWORD", "is not set")
    password = cdc.password.get_secret_value()
    dsn = source_dsn(settings)
    signal = signal_table(cdc)
    with connect(dsn, settings.source) as connection:
        connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK,))
        _check_tables_exist(connection, cdc.tables)
        changes: list[str] = []
        changes += _ensure_role(connection, cdc.user, password, dsn)
        changes += _ensure_signal_table(connection, signal)
        changes += _ensure_replica_identity(connection, cdc.tables)
        changes += _ensure_grants(connection, cdc.user, cdc.tables, signal)
        changes += _ensure_publication(connection, cdc.publication, [*cdc.tables, signal])
    return changes


def missing_from_publication(settings: Settings) -> list[str]:
    """The captured tables (and signaling table) the publication does not include."""
    wanted = [*settings.cdc.tables, signal_table(settings.cdc)]
    with connect(source_dsn(settings), settings.source) as connection:
        published = _published(connection, settings.cdc.publication)
    return [table for table in wanted if table not in (published or set())]


def check_source_ready(settings: Settings) -> None:
    """Raise :class:`SourceNotReady` unless the publication covers every captured table."""
    missing = missing_from_publication(settings)
    if missing:
        raise SourceNotReady(
            f"publication {settings.cdc.publication} lacks {', '.join(missing)}: "
            "run `headwater source setup` first"
        )


def tables_without_primary_key(settings: Settings, tables: list[str]) -> list[str]:
    """Those of ``tables`` that have no primary key (incremental snapshots need one)."""
    with connect(source_dsn(settings), settings.source) as connection:
        return [table for table in tables if not _has_primary_key(connection, table)]


def _has_primary_key(connection: psycopg.Connection[tuple[object, ...]], table: str) -> bool:
    row = connection.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = to_regclass(%s) AND indisprimary)",
        (table,),
    ).fetchone()
    return row == (True,)


def _identifier(qualified: str) -> sql.Identifier:
    schema, table = qualified.split(".", 1)
    return sql.Identifier(schema, table)


def _check_tables_exist(
    connection: psycopg.Connection[tuple[object, ...]], tables: list[str]
) -> None:
    missing = [
        table
        for table in tables
        if connection.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,)
    ]
    if missing:
        raise ConfigurationError(
            "HEADWATER_CDC__TABLES", f"{', '.join(missing)} not found in the source database"
        )


def _ensure_role(
    connection: psycopg.Connection[tuple[object, ...]], role: str, password: str, dsn: str
) -> list[str]:
    row = connection.execute(
        "SELECT rolcanlogin, rolreplication FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    rds = _rds_without_superuser(connection)
    name = sql.Identifier(role)
    changes = []
    if row is None:
        attributes = sql.SQL("LOGIN") if rds else sql.SQL("LOGIN REPLICATION")
        connection.execute(
            sql.SQL("CREATE ROLE {} WITH {} PASSWORD {}").format(
                name, attributes, _password_literal(password)
            )
        )
        changes.append(
            f"created role {role} ({'LOGIN, rds_replication' if rds else 'LOGIN REPLICATION'})"
        )
    else:
        can_login, replication = row
        missing = [
            attribute
            for attribute, present in (("LOGIN", can_login), ("REPLICATION", replication or rds))
            if not present
        ]
        if missing:
            connection.execute(
                sql.SQL("ALTER ROLE {} WITH {}").format(name, sql.SQL(" ".join(missing)))
            )
            changes.append(f"gave role {role} {' '.join(missing)}")
        if not _password_is(connection, role, password, dsn):
            connection.execute(
                sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(name, _password_literal(password))
            )
            changes.append(f"changed the password of role {role}")
    if rds:
        member = connection.execute(
            "SELECT pg_has_role(%s, 'rds_replication', 'MEMBER')", (role,)
        ).fetchone()
        if member != (True,):
            connection.execute(sql.SQL("GRANT rds_replication TO {}").format(name))
            changes.append(f"granted rds_replication to role {role}")
    return changes


def _rds_without_superuser(connection: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = connection.execute(
        "SELECT NOT rolsuper AND to_regrole('rds_replication') IS NOT NULL"
        " FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    return row == (True,)


def _password_literal(password: str) -> sql.Composable:
    # A client-side SCRAM verifier keeps the password out of statement logs; PostgreSQL
    # applies SASLprep to non-ASCII passwords, so those are left for the server to hash.
    return sql.Literal(scram.verifier(password) if password.isascii() else password)


def _password_is(
    connection: psycopg.Connection[tuple[object, ...]], role: str, password: str, dsn: str
) -> bool:
    """Whether the role's password is ``password``: by its verifier, else by logging in."""
    try:
        with connection.transaction():
            row = connection.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)
            ).fetchone()
    except psycopg.errors.InsufficientPrivilege:  # not a superuser (RDS): try to log in
        row = None
    else:
        stored = str(row[0]) if row is not None and row[0] is not None else ""
        if stored.startswith("md5"):
            digest = hashlib.md5((password + role).encode(), usedforsecurity=False).hexdigest()
            return stored == f"md5{digest}"
        return scram.matches(stored, password)
    try:
        psycopg.connect(verified(dsn), user=role, password=password, connect_timeout=10).close()
    except psycopg.OperationalError:
        return False
    return True


def _ensure_signal_table(
    connection: psycopg.Connection[tuple[object, ...]], signal: str
) -> list[str]:
    changes = []
    schema = signal.split(".", 1)[0]
    if connection.execute("SELECT to_regnamespace(%s)", (schema,)).fetchone() == (None,):
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        changes.append(f"created schema {schema}")
    if connection.execute("SELECT to_regclass(%s)", (signal,)).fetchone() == (None,):
        connection.execute(
            sql.SQL("CREATE TABLE {} (id text PRIMARY KEY, type text NOT NULL, data text)").format(
                _identifier(signal)
            )
        )
        changes.append(f"created signaling table {signal}")
    return changes


def _ensure_replica_identity(
    connection: psycopg.Connection[tuple[object, ...]], tables: list[str]
) -> list[str]:
    changes = []
    for table in tables:
        row = connection.execute(
            "SELECT c.relreplident,"
            " EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)"
            " FROM pg_class c WHERE c.oid = to_regclass(%s)",
            (table,),
        ).fetchone()
        assert row is not None  # checked by _check_tables_exist
        identity, has_primary_key = str(row[0]), bool(row[1])
        if not has_primary_key and identity != "f":
            connection.execute(
                sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(_identifier(table))
            )
            changes.append(
                f"{table} has no primary key: set REPLICA IDENTITY FULL "
                "(updates and deletes carry the whole old row)"
            )
        elif has_primary_key and identity == "n":
            connection.execute(
                sql.SQL("ALTER TABLE {} REPLICA IDENTITY DEFAULT").format(_identifier(table))
            )
            changes.append(f"{table} had REPLICA IDENTITY NOTHING: set DEFAULT (its primary key)")
    return changes


def _ensure_grants(
    connection: psycopg.Connection[tuple[object, ...]],
    role: str,
    tables: list[str],
    signal: str,
) -> list[str]:
    changes = []
    name = sql.Identifier(role)
    schemas = sorted({table.split(".", 1)[0] for table in tables} | {SIGNAL_SCHEMA})
    for schema in schemas:
        if connection.execute(
            "SELECT has_schema_privilege(%s, %s, 'USAGE')", (role, schema)
        ).fetchone() != (True,):
            connection.execute(
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), name)
            )
            changes.append(f"granted USAGE on schema {schema} to {role}")
    for table, privilege in [*((table, "SELECT") for table in tables), (signal, "INSERT")]:
        if connection.execute(
            "SELECT has_table_privilege(%s, %s, %s)", (role, table, privilege)
        ).fetchone() != (True,):
            connection.execute(
                sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                    sql.SQL(privilege), _identifier(table), name
                )
            )
            changes.append(f"granted {privilege} on {table} to {role}")
    granted = connection.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a"
        " WHERE a.grantee = to_regrole(%s) AND a.privilege_type = 'SELECT'"
        " ORDER BY 1",
        (role,),
    ).fetchall()
    for stale_table in (str(row[0]) for row in granted):
        if stale_table not in tables:
            connection.execute(
                sql.SQL("REVOKE SELECT ON TABLE {} FROM {}").format(_identifier(stale_table), name)
            )
            changes.append(f"{role} lost SELECT on {stale_table} (no longer captured)")
    usage = connection.execute(
        "SELECT n.nspname FROM pg_namespace n, aclexplode(n.nspacl) a"
        " WHERE a.grantee = to_regrole(%s) AND a.privilege_type = 'USAGE' ORDER BY 1",
        (role,),
    ).fetchall()
    for stale_schema in (str(row[0]) for row in usage):
        if stale_schema not in schemas:
            connection.execute(
                sql.SQL("REVOKE USAGE ON SCHEMA {} FROM {}").format(
                    sql.Identifier(stale_schema), name
                )
            )
            changes.append(f"{role} lost USAGE on schema {stale_schema} (no longer captured)")
    return changes


def _published(
    connection: psycopg.Connection[tuple[object, ...]], publication: str
) -> set[str] | None:
    """The tables of a publication, or None when it does not exist."""
    if (
        connection.execute(
            "SELECT 1 FROM pg_publication WHERE pubname = %s", (publication,)
        ).fetchone()
        is None
    ):
        return None
    rows = connection.execute(
        "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = %s",
        (publication,),
    ).fetchall()
    return {str(table) for (table,) in rows}


def _ensure_publication(
    connection: psycopg.Connection[tuple[object, ...]], publication: str, tables: list[str]
) -> list[str]:
    name = sql.Identifier(publication)
    table_list = sql.SQL(", ").join(_identifier(table) for table in tables)
    published = _published(connection, publication)
    if published is None:
        connection.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(name, table_list))
        return [f"created publication {publication} for {', '.join(tables)}"]
    row = connection.execute(
        "SELECT puballtables, pubinsert AND pubupdate AND pubdelete AND pubtruncate"
        " FROM pg_publication WHERE pubname = %s",
        (publication,),
    ).fetchone()
    assert row is not None
    all_tables, publishes_everything = bool(row[0]), bool(row[1])
    if all_tables:
        raise SourceNotReady(
            f"publication {publication} is FOR ALL TABLES; name another one in "
            "HEADWATER_CDC__PUBLICATION or drop it"
        )
    changes = []
    if published != set(tables):
        connection.execute(sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(name, table_list))
        added = sorted(set(tables) - published)
        removed = sorted(published - set(tables))
        said = [f"added {', '.join(added)}"] if added else []
        said += [f"removed {', '.join(removed)}"] if removed else []
        changes.append(f"publication {publication}: {'; '.join(said)}")
    if not publishes_everything:
        connection.execute(
            sql.SQL("ALTER PUBLICATION {} SET (publish = {})").format(name, sql.Literal(_PUBLISH))
        )
        changes.append(f"publication {publication} now publishes {_PUBLISH}")
    return changes
