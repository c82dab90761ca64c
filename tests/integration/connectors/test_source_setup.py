"""`headwater source setup` against the real source database."""

from __future__ import annotations

import psycopg
import pytest

from connectors.debezium_postgres import signal_table
from connectors.source_setup import missing_from_publication, setup_source
from headwater.errors import ConfigurationError
from tests.integration.connectors.conftest import CdcSandbox


def _privilege(box: CdcSandbox, table: str, privilege: str = "SELECT") -> bool:
    rows = box.sql(
        "SELECT has_table_privilege(%s, %s, %s)", (box.tag, f"{box.schema}.{table}", privilege)
    )
    return bool(rows[0][0])


def _published(box: CdcSandbox) -> set[str]:
    rows = box.sql(
        "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = %s",
        (box.tag,),
    )
    return {row[0] for row in rows}


def test_setup_creates_a_least_privileged_role_and_the_publication(sandbox: CdcSandbox) -> None:
    sandbox.sql("CREATE TABLE {schema}.secrets (id int PRIMARY KEY, token text)")
    settings = sandbox.settings("customers")
    signal = signal_table(settings.cdc)

    changes = setup_source(settings)

    assert f"created role {sandbox.tag} (LOGIN REPLICATION)" in changes
    assert f"created publication {sandbox.tag} for {sandbox.schema}.customers, {signal}" in changes
    role = sandbox.sql(
        "SELECT rolcanlogin, rolreplication, rolsuper, rolcreatedb, rolcreaterole"
        " FROM pg_roles WHERE rolname = %s",
        (sandbox.tag,),
    )
    assert role == [(True, True, False, False, False)]
    assert _privilege(sandbox, "customers")
    assert not _privilege(sandbox, "orders")
    assert not _privilege(sandbox, "secrets")
    assert not _privilege(sandbox, "customers", "INSERT")
    assert sandbox.sql("SELECT has_table_privilege(%s, %s, 'INSERT')", (sandbox.tag, signal)) == [
        (True,)
    ]
    assert _published(sandbox) == {f"{sandbox.schema}.customers", signal}
    assert missing_from_publication(settings) == []
    # The password was stored as a SCRAM verifier PostgreSQL accepts: the role can log in.
    with psycopg.connect(sandbox.admin_dsn, user=sandbox.tag, password=sandbox.password) as c:
        assert c.execute("SELECT current_user").fetchone() == (sandbox.tag,)

    assert setup_source(settings) == []  # idempotent


def test_setup_follows_the_captured_tables(sandbox: CdcSandbox) -> None:
    setup_source(sandbox.settings("customers"))

    both = setup_source(sandbox.settings("customers", "orders"))
    assert both == [
        f"granted SELECT on {sandbox.schema}.orders to {sandbox.tag}",
        f"publication {sandbox.tag}: added {sandbox.schema}.orders",
    ]
    assert _privilege(sandbox, "orders")

    only_orders = sandbox.settings("orders")
    changes = setup_source(only_orders)
    assert changes == [
        f"{sandbox.tag} lost SELECT on {sandbox.schema}.customers (no longer captured)",
        f"publication {sandbox.tag}: removed {sandbox.schema}.customers",
    ]
    assert not _privilege(sandbox, "customers")
    assert _published(sandbox) == {f"{sandbox.schema}.orders", signal_table(only_orders.cdc)}
    assert setup_source(only_orders) == []


def test_a_table_without_primary_key_gets_replica_identity_full(sandbox: CdcSandbox) -> None:
    sandbox.sql("CREATE TABLE {schema}.events (at timestamptz, name text)")
    settings = sandbox.settings("customers", "events")

    changes = setup_source(settings)

    assert (
        f"{sandbox.schema}.events has no primary key: set REPLICA IDENTITY FULL "
        "(updates and deletes carry the whole old row)"
    ) in changes
    identities = dict(
        sandbox.sql(
            "SELECT relname, relreplident FROM pg_class WHERE relnamespace = %s::regnamespace",
            (sandbox.schema,),
        )
    )
    assert identities["events"] == "f"
    assert identities["customers"] == "d"  # has a primary key: left alone
    # Published with a replica identity: the application can still update and delete.
    sandbox.sql("INSERT INTO {schema}.events VALUES (now(), 'x')")
    sandbox.sql("UPDATE {schema}.events SET name = 'y'")
    sandbox.sql("DELETE FROM {schema}.events")
    assert setup_source(settings) == []


def test_a_changed_password_is_updated_once(sandbox: CdcSandbox) -> None:
    setup_source(sandbox.settings("customers"))
    sandbox.password = "a-new-password-2"
    settings = sandbox.settings("customers")

    assert setup_source(settings) == [f"changed the password of role {sandbox.tag}"]
    assert setup_source(settings) == []
    with psycopg.connect(sandbox.admin_dsn, user=sandbox.tag, password="a-new-password-2") as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_the_role_gets_back_what_it_lost(sandbox: CdcSandbox) -> None:
    settings = sandbox.settings("customers")
    setup_source(settings)
    sandbox.sql(f"ALTER ROLE {sandbox.tag} NOREPLICATION")
    sandbox.sql(f"REVOKE SELECT ON {{schema}}.customers FROM {sandbox.tag}")

    assert setup_source(settings) == [
        f"gave role {sandbox.tag} REPLICATION",
        f"granted SELECT on {sandbox.schema}.customers to {sandbox.tag}",
    ]


def test_a_missing_password_or_table_names_the_setting(sandbox: CdcSandbox) -> None:
    with pytest.raises(ConfigurationError) as raised:
        setup_source(sandbox.settings("customers", password=None))
    assert raised.value.setting == "HEADWATER_CDC__PASSWORD"

    with pytest.raises(ConfigurationError, match=r"\.nope not found") as missing:
        setup_source(sandbox.settings("customers", "nope"))
    assert missing.value.setting == "HEADWATER_CDC__TABLES"
    assert sandbox.sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (sandbox.tag,)) == []


def test_the_cli_says_what_it_did_then_that_nothing_changed(sandbox: CdcSandbox) -> None:
    settings = sandbox.settings("customers", "orders")

    first = sandbox.cli(settings, "source", "setup")
    assert first.returncode == 0, first.stderr
    assert f"created role {sandbox.tag}" in first.stdout
    assert sandbox.password not in first.stdout + first.stderr

    second = sandbox.cli(settings, "source", "setup")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "source database already set up: nothing changed"
