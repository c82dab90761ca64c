"""The e2e tier: whole services as subprocesses against the real stack (fixtures in
``tests/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Order of the e2e files. The KPI test compares every KPI row with a reference over the
#: warehouse, so it runs before anything else feeds the shared KPI topics; the API test runs
#: last because it leaves >100,000 records that every later processor would have to read.
FIRST = "test_kpi_pipeline.py"
LAST = "test_api_pipeline.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)
    e2e = [item for item in items if here in Path(item.path).parents]
    rank = {FIRST: 0, LAST: 2}
    e2e.sort(key=lambda item: rank.get(Path(item.path).name, 1))
    items[:] = [item for item in items if item not in e2e] + e2e  # other tiers first
