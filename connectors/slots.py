"""The connector's logical replication slot: look at it, wait for it, drop it."""

from __future__ import annotations

import time

import psycopg

from connectors.base import ConnectorError
from headwater.errors import Transient
from headwater.postgres import connect


class SlotStillActive(ConnectorError, Transient):
    """The replication slot is still held by a walsender (the connector has not let go)."""


def slot_active(dsn: str, slot: str) -> bool | None:
    """Whether a walsender holds the slot; None when there is no such slot."""
    with connect(dsn) as connection:
        row = connection.execute(
            "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)
        ).fetchone()
    return None if row is None else bool(row[0])


def wait_released(dsn: str, slot: str, timeout_s: float = 60.0, interval_s: float = 0.5) -> bool:
    """Wait until no walsender holds the slot; False when there is no such slot.

    Raises :class:`SlotStillActive` when it is still held at the deadline.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        active = slot_active(dsn, slot)
        if active is None:
            return False
        if not active:
            return True
        if time.monotonic() >= deadline:
            raise SlotStillActive(f"replication slot {slot} is still active after {timeout_s:.0f}s")
        time.sleep(interval_s)


def drop_slot(dsn: str, slot: str, timeout_s: float = 60.0, interval_s: float = 0.5) -> bool:
    """Drop the slot as soon as no walsender holds it; False when there was none."""
    deadline = time.monotonic() + timeout_s
    while True:
        if not wait_released(dsn, slot, max(0.0, deadline - time.monotonic()), interval_s):
            return False
        try:
            with connect(dsn, autocommit=True) as connection:
                connection.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            return True
        except psycopg.errors.UndefinedObject:  # dropped by someone else meanwhile
            return False
        except psycopg.errors.ObjectInUse:  # re-acquired between the check and the drop
            if time.monotonic() >= deadline:
                raise SlotStillActive(f"replication slot {slot} is in use") from None
            time.sleep(interval_s)
