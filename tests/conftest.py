"""Shared test fixtures: the stack (for the integration and e2e tiers), waiting on conditions
(never fixed sleeps) and unique names.

The stack fixture uses an already-running stack when its addresses are in the environment
(``eval "$(headwater stack env)"``), otherwise it starts the native stack and stops it at
the end (unless it was already up). With ``HEADWATER_TEST_STACK=docker`` and a Docker
engine, the same components start through testcontainers instead.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import pytest

from control.stack.base import State
from control.stack.launcher import Stack
from headwater.settings import KafkaSettings, Settings, load_settings

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T | None],
    timeout_s: float = 30.0,
    interval_s: float = 0.2,
    what: str = "",
    on_timeout: Callable[[], str] | None = None,
) -> T:
    """Poll until condition returns something truthy; fail the test with `what` on timeout.

    ``on_timeout`` adds diagnostics gathered at the moment of failure (e.g. log tails).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            details = f"\n{on_timeout()}" if on_timeout is not None else ""
            pytest.fail(f"timed out after {timeout_s}s waiting for {what or condition}{details}")
        time.sleep(interval_s)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name no other test (or earlier run) uses, for topics, tables and groups."""
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:32]
    return f"t_{stem}_{uuid.uuid4().hex[:8]}"


REQUIRED = ("HEADWATER_KAFKA__BOOTSTRAP_SERVERS", "HEADWATER_CONNECT__URL", "HEADWATER_SOURCE__DSN")


@contextmanager
def _native_stack(settings: Settings) -> Iterator[dict[str, str]]:
    stack = Stack(settings.stack, pipeline=settings)
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


@pytest.fixture(scope="session")
def own_connect(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Kafka Connect worker of the session's own on the stack's Kafka (its own topics)."""
    from tests.support.private_connect import private_connect

    with private_connect(settings, tmp_path_factory.mktemp("connect")) as worker:
        yield worker


KAFKA_PREFIX = "HEADWATER_KAFKA__"


def secure_kafka_env(principal: str) -> dict[str, str]:
    """The HEADWATER_KAFKA__* settings of the stack's SASL_SSL listener (TLS verified, SCRAM)
    as ``principal``: ``admin`` is a super user, the service principals (``poller``,
    ``processor``, ``sink``, ``connect``) have only their ACLs."""
    environment = Stack(load_settings().stack).secure_environment(principal)
    return {key: value for key, value in environment.items() if key.startswith(KAFKA_PREFIX)}


@pytest.fixture(scope="session")
def secure_kafka(stack_env: dict[str, str]) -> Callable[[str], KafkaSettings]:
    """Kafka settings for the stack's SASL_SSL listener as a principal (see secure_kafka_env)."""

    def as_principal(principal: str) -> KafkaSettings:
        return KafkaSettings.model_validate(
            {
                key.removeprefix(KAFKA_PREFIX).lower(): value
                for key, value in secure_kafka_env(principal).items()
            }
        )

    return as_principal
