"""The e2e tier: whole services as subprocesses against the real stack (fixtures in
``tests/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Runs last: it leaves >100,000 records on the shared topics, which every later processor
#: started from the beginning would have to read first.
LAST = "test_api_pipeline.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: Path(item.path).name == LAST)
