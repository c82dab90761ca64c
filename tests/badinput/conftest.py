"""The bad-input tier: per source and stage, a catalogue of malformed inputs, each of which
ends as a dead letter with its reason or as a clear error, while the good records around it
all land. Real Kafka and PostgreSQL (the stack fixtures of ``tests/conftest.py``); the
pollers talk to a scripted HTTP server of the test's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.badinput)
