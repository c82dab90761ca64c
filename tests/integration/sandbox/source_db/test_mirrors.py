"""Comparing a mirror with its source applies the PII policy to the source in SQL (pgcrypto's
hmac), giving the processor's pseudonyms: what the e2e tiers rely on to say a mirror is right."""

from __future__ import annotations

import uuid

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from headwater.privacy.pseudonyms import Pseudonymizer
from headwater.settings import Settings
from sandbox.source_db.mirrors import MirrorPolicy, differences, source_in_warehouse

KEY = "s" * 40
ROWS = [
    (1, "Zoë@example.com", "Zoë Ångström", "+33 6 12 34 56 78", "Lyon"),
    (2, "ravi@example.com", "Ravi Rao", None, "Pune"),
]


def test_the_source_compares_equal_to_a_mirror_holding_pseudonyms(settings: Settings) -> None:
    assert settings.source.dsn is not None
    assert settings.warehouse.dsn is not None
    source_dsn, warehouse_dsn = (
        d.get_secret_value() for d in (settings.source.dsn, settings.warehouse.dsn)
    )
    schema = f"mirrors_{uuid.uuid4().hex[:8]}"
    pseudonymize = Pseudonymizer(KEY, "k1")
    policy = MirrorPolicy.of(Settings(processor={"pseudonymization_key": SecretStr(KEY)}))
    with (
        psycopg.connect(source_dsn, autocommit=True) as source,
        psycopg.connect(warehouse_dsn, autocommit=True) as warehouse,
    ):
        try:
            source.execute(f'CREATE SCHEMA "{schema}"')
            source.execute(
                f'CREATE TABLE "{schema}".customers (id bigint PRIMARY KEY, email text, '
                "full_name text, phone text, city text)"
            )
            source.cursor().executemany(
                f'INSERT INTO "{schema}".customers VALUES (%s, %s, %s, %s, %s)', ROWS
            )
            warehouse.execute(f'CREATE SCHEMA "{schema}"')
            warehouse.execute(
                f'CREATE TABLE "{schema}".src_customers (id bigint PRIMARY KEY, email text, '
                "phone text, city text, _lsn bigint)"
            )
            warehouse.cursor().executemany(
                f'INSERT INTO "{schema}".src_customers VALUES (%s, %s, %s, %s, 1)',
                [
                    (i, pseudonymize(email), phone and pseudonymize(phone), city)
                    for i, email, _, phone, city in ROWS
                ],
            )
            with source_in_warehouse(warehouse_dsn, source_dsn, schema, ["customers"]) as foreign:
                assert differences(warehouse, foreign, schema, "customers", policy) == 0
                warehouse.execute(
                    f'UPDATE "{schema}".src_customers SET email = %s WHERE id = 2',
                    ("ravi@example.com",),  # in clear: not what the policy leaves
                )
                assert differences(warehouse, foreign, schema, "customers", policy) == 2
        finally:
            source.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            warehouse.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_the_warehouse_reaches_a_source_dsn_naming_no_sslmode_verified(
    settings: Settings,
) -> None:
    assert settings.source.dsn is not None
    assert settings.warehouse.dsn is not None
    source_dsn = settings.source.dsn.get_secret_value()
    params = conninfo_to_dict(source_dsn)
    del params["sslmode"]  # the CA stays: verify-full is what an unnamed mode becomes
    bare_source = make_conninfo("", **params)
    warehouse_dsn = settings.warehouse.dsn.get_secret_value()
    schema = f"mirrors_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(source_dsn, autocommit=True) as source:
        try:
            source.execute(f'CREATE SCHEMA "{schema}"')
            source.execute(f'CREATE TABLE "{schema}".customers AS SELECT 1 AS id')
            with (
                source_in_warehouse(warehouse_dsn, bare_source, schema, ["customers"]) as foreign,
                psycopg.connect(warehouse_dsn) as warehouse,
            ):
                options = warehouse.execute(
                    "SELECT srvoptions FROM pg_foreign_server WHERE srvname = %s",
                    (f"src_{schema}",),
                ).fetchone()
                read = warehouse.execute(f'SELECT id FROM "{foreign}".customers').fetchall()
        finally:
            source.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert options is not None
    assert "sslmode=verify-full" in options[0]
    assert read == [(1,)]  # through the verified link
