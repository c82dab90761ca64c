"""What counts as the warehouse refusing the data (isolate it, dead-letter it) and what is an
outage (retry the batch)."""

from __future__ import annotations

import psycopg
import pytest

from sinks.base import is_refusal


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        (psycopg.errors.NumericValueOutOfRange("overflow"), True),
        (psycopg.errors.NotNullViolation("null"), True),
        (psycopg.errors.UniqueViolation("raced"), False),
        (psycopg.OperationalError("connection lost"), False),
        (psycopg.errors.LockNotAvailable("lock timeout"), False),
        (OverflowError("date value out of range"), True),
        (IndexError("list index out of range"), True),
        (RuntimeError("a bug"), False),
    ],
)
def test_refusals_are_told_from_outages(error: Exception, refused: bool) -> None:
    assert is_refusal(error) is refused
