"""The fault tier: a stack of its own, since its faults restart Kafka, Connect and PostgreSQL.

The stack starts in a folder of its own under the main test stack's state folder (PostgreSQL,
run as its own user, must reach it) on free ports, with the main stack's jars (nothing is
fetched again), and is stopped and removed at the end of the module.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from control.stack.launcher import Stack
from headwater.settings import Settings, load_settings
from tests.support.services import free_ports, settings_from


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="module")
def fault_stack(stack_env: dict[str, str]) -> Iterator[Stack]:
    """A running stack nobody else uses."""
    main = load_settings().stack
    home = main.state_dir.resolve() / "fault-stacks" / uuid.uuid4().hex[:8]
    home.mkdir(parents=True)
    home.parent.chmod(0o755)
    kafka, controller, kafka_tls, connect, postgres, prometheus = free_ports(6)
    settings = main.model_copy(
        update={
            "state_dir": home,
            "lib_dir": main.jars_dir,
            "kafka_port": kafka,
            "kafka_controller_port": controller,
            "kafka_tls_port": kafka_tls,
            "connect_port": connect,
            "postgres_port": postgres,
            "prometheus_port": prometheus,
        }
    )
    stack = Stack(settings)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def fault_settings(fault_stack: Stack) -> Settings:
    """Settings pointing at the fault tier's stack."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    return settings_from(
        environment
        | fault_stack.environment()
        | {"HEADWATER_STACK__STATE_DIR": str(fault_stack.state_dir)}
    )
