"""Headwater's PostgreSQL connections verify their server unless the DSN explicitly says less."""

from __future__ import annotations

import logging

import pytest
from psycopg.conninfo import conninfo_to_dict

from headwater.postgres import verified


def test_a_dsn_without_sslmode_verifies_the_server() -> None:
    params = conninfo_to_dict(verified("postgresql://u:p@db.example.com:5432/app"))
    assert params["sslmode"] == "verify-full"
    assert (params["host"], params["dbname"], params["password"]) == ("db.example.com", "app", "p")


def test_a_dsn_that_names_verify_full_is_kept_as_it_is() -> None:
    dsn = "postgresql://u@db.example.com/app?sslmode=verify-full&sslrootcert=/ca.pem"
    assert verified(dsn) == dsn


@pytest.mark.parametrize(
    ("mode", "said"),
    [("disable", "may be plaintext"), ("require", "not verified"), ("prefer", "plaintext")],
)
def test_a_weaker_mode_is_the_dsns_choice_and_is_warned_once_per_host(
    caplog: pytest.LogCaptureFixture, mode: str, said: str
) -> None:
    dsn = f"postgresql://u@{mode}.example.com/app?sslmode={mode}"
    with caplog.at_level(logging.WARNING, logger="headwater.postgres"):
        assert verified(dsn) == dsn
        verified(dsn)
    warnings = [r.getMessage() for r in caplog.records if r.name == "headwater.postgres"]
    assert len(warnings) == 1
    assert f"sslmode={mode}" in warnings[0]
    assert said in warnings[0]
    assert f"{mode}.example.com" in warnings[0]
