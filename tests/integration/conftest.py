"""The integration tier: real Kafka, Kafka Connect + Debezium, PostgreSQL and Prometheus.

The stack fixtures (``stack_env``, ``settings``) live in ``tests/conftest.py``, shared with
the e2e tier.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)
