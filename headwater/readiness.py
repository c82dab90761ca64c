"""Readiness checks the services share (Kafka's is ``headwater.kafka.clients.kafka_reachable``)."""

from __future__ import annotations

import psycopg

from headwater.postgres import verified


def database_reachable(dsn: str, timeout_s: int = 2) -> bool:
    """Whether the PostgreSQL database at ``dsn`` accepts a connection and answers a query."""
    try:
        with psycopg.connect(verified(dsn), connect_timeout=timeout_s) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True
