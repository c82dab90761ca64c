"""SCRAM-SHA-256 verifiers in PostgreSQL's format."""

from __future__ import annotations

import base64

import pytest

from headwater import scram


def test_a_verifier_matches_its_password_only() -> None:
    stored = scram.verifier("correct horse")
    assert stored.startswith("SCRAM-SHA-256$4096:")
    assert scram.matches(stored, "correct horse")
    assert not scram.matches(stored, "correct horsE")


def test_verifiers_are_salted() -> None:
    assert scram.verifier("same") != scram.verifier("same")


# What PostgreSQL 15 stored for CREATE ROLE ... PASSWORD 'pencil' (pg_authid.rolpassword).
POSTGRES_PENCIL = (
    "SCRAM-SHA-256$4096:O0I7AUKmjWSoy/9gxGnS7Q==$FttnJE44kdn/8UvYkHs2BF1t4Xt0dxxc3zecA5DzJFw="
    ":Rnc6a589c2rLkqm5euBilsuKVMFknRL6tVJ9W9bkGE4="
)


def test_postgres_own_verifier_is_reproduced_from_its_salt() -> None:
    salt = base64.b64decode("O0I7AUKmjWSoy/9gxGnS7Q==")
    assert scram.verifier("pencil", salt=salt) == POSTGRES_PENCIL
    assert scram.matches(POSTGRES_PENCIL, "pencil")
    assert not scram.matches(POSTGRES_PENCIL, "pencil ")


def test_malformed_or_other_methods_never_match() -> None:
    assert not scram.matches("md5abcdef", "x")
    assert not scram.matches("SCRAM-SHA-256$nonsense", "x")
    assert not scram.matches("", "x")


def test_non_ascii_passwords_are_left_to_the_server() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        scram.verifier("pässwort")
