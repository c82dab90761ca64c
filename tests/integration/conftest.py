"""The integration tier: real Kafka, Kafka Connect + Debezium, PostgreSQL and Prometheus.

The session uses an already-running stack when its addresses are in the environment
(``eval "$(headwater stack env)"``), otherwise it starts the native stack and stops it at
the end (unless it was already up). With ``HEADWATER_TEST_STACK=docker`` and a Docker
engine, the same components start through testcontainers instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from headwater.settings import Settings, load_settings
from headwater.stack.base import State
from headwater.stack.launcher import Stack

REQUIRED = ("HEADWATER_KAFKA__BOOTSTRAP_SERVERS", "HEADWATER_CONNECT__URL", "HEADWATER_SOURCE__DSN")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)


@contextmanager
def _native_stack(settings: Settings) -> Iterator[dict[str, str]]:
    stack = Stack(settings.stack)
    already_up = all(status.state is State.UP for status in stack.status())
    stack.up()
    try:
        yield stack.environment()
    finally:
        if not already_up:
            stack.down()


def _docker_stack() -> AbstractContextManager[dict[str, str]]:
    from tests.integration.docker_stack import docker_stack

    return docker_stack()


@pytest.fixture(scope="session")
def stack_env() -> Iterator[dict[str, str]]:
    """The HEADWATER_* addresses of a running stack, started here when none is given."""
    if all(os.environ.get(name) for name in REQUIRED):
        yield {k: v for k, v in os.environ.items() if k.startswith("HEADWATER_")}
        return
    settings = load_settings()
    source = _docker_stack() if settings.test_stack == "docker" else _native_stack(settings)
    saved = dict(os.environ)
    with source as environment:
        os.environ.update(environment)
        try:
            yield environment
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture(scope="session")
def settings(stack_env: dict[str, str]) -> Settings:
    """Settings pointing at the test stack."""
    return load_settings()
