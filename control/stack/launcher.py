"""Brings the whole native stack up, reports on it and takes it down again."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from control.stack.base import Component, StackError, State
from control.stack.kafka import Jars, KafkaBroker, KafkaConnect
from control.stack.kafka_users import ADMIN, MECHANISM
from control.stack.postgres import PostgresCluster
from control.stack.prometheus import PrometheusServer
from control.stack.tls import StackTls
from control.stack.toolchain import check_java
from headwater.settings import Settings, StackSettings


@dataclass(frozen=True)
class ComponentStatus:
    """One line of ``stack status``."""

    name: str
    state: State
    endpoint: str


class Stack:
    """Kafka, Kafka Connect + Debezium, PostgreSQL and Prometheus, owned by one state folder."""

    def __init__(
        self,
        settings: StackSettings,
        say: Callable[[str], None] = print,
        pipeline: Settings | None = None,
    ) -> None:
        self.settings = settings
        self.say = say
        #: the pipeline's settings, whose topic and group names the services' ACLs follow
        self.pipeline = pipeline or Settings(stack=settings)
        self.tls = StackTls(settings.state_dir.resolve() / "tls")
        self.jars = Jars(settings)
        self.postgres = PostgresCluster(settings, self.tls)
        self.kafka = KafkaBroker(settings, self.jars, self.tls)
        self.connect = KafkaConnect(settings, self.jars, self.kafka)
        self.prometheus = PrometheusServer(settings)
        self.timings: dict[str, float] = {}

    @property
    def components(self) -> list[Component]:
        """In start order; stopped in reverse."""
        return [self.postgres, self.kafka, self.prometheus, self.connect]

    @property
    def state_dir(self) -> Path:
        """The folder that holds configs, data, logs and pids."""
        return self.settings.state_dir.resolve()

    def up(self) -> list[ComponentStatus]:
        """Start what is not running, repair what is half-started, wait until all answer."""
        check_java(self.settings.java)
        for component in self.components:
            if not component.running():
                component.check_ports_free()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o755)
        self.tls.ensure(("localhost", self.settings.host))
        with self._timed("jars"):
            if self.jars.fetch():
                self.say(f"fetched Kafka, Connect and Debezium jars into {self.jars.kafka.parent}")
        for component in self.components:
            self._bring_up(component, wait=component is not self.connect)
            if component is self.postgres:
                self.postgres.create_databases()
            if component is self.kafka:
                self.kafka.secure(self.pipeline)
        with self._timed("connect ready"):
            self._wait_ready(self.connect)
        return self.status()

    def _bring_up(self, component: Component, wait: bool) -> None:
        with self._timed(component.name):
            state = component.state()
            if state is not State.DOWN and component.outdated():
                self.say(f"{component.name} runs an older configuration: restarting it")
                component.stop()
                state = State.DOWN
            if state is State.STARTING and not self._becomes_ready(component, 30.0):
                self.say(f"{component.name} is running but not answering: restarting it")
                component.stop()
                state = State.DOWN
            if component.state() is State.DOWN:
                component.check_ports_free()
                component.prepare()
                component.start()
            if wait:
                self._wait_ready(component)

    def _becomes_ready(self, component: Component, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if component.ready():
                return True
            if not component.running():
                return False
            time.sleep(0.5)
        return component.ready()

    def _wait_ready(self, component: Component) -> None:
        if not self._becomes_ready(component, self.settings.ready_timeout_s):
            state = "is running but not answering" if component.running() else "exited"
            raise StackError(
                f"{component.name} did not become ready within "
                f"{self.settings.ready_timeout_s:.0f}s ({state}); {component.log_file} ends:\n"
                f"{component.log_tail()}"
            )

    @contextmanager
    def _timed(self, step: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.timings[step] = time.monotonic() - started

    def down(self) -> list[ComponentStatus]:
        """Stop every process this stack started, last started first."""
        for component in reversed(self.components):
            if component.running():
                self.say(f"stopping {component.name}")
                component.stop()
        return self.status()

    def status(self) -> list[ComponentStatus]:
        """Which components are up, starting or down, and where they listen."""
        return [ComponentStatus(c.name, c.state(), c.endpoint) for c in self.components]

    def environment(self) -> dict[str, str]:
        """The HEADWATER_* settings a shell or a test needs to use this stack."""
        return {
            "HEADWATER_KAFKA__BOOTSTRAP_SERVERS": self.kafka.endpoint,
            # the loopback listener: unencrypted, unauthenticated, local development only
            "HEADWATER_KAFKA__SECURITY_PROTOCOL": "PLAINTEXT",
            "HEADWATER_CONNECT__URL": self.connect.endpoint,
            "HEADWATER_CONNECT__SECRETS_DIR": str(self.connect.secrets),
            "HEADWATER_SOURCE__DSN": self.postgres.dsn("app"),
            "HEADWATER_WAREHOUSE__DSN": self.postgres.dsn("warehouse"),
            "HEADWATER_PROMETHEUS__URL": self.prometheus.endpoint,
        }

    def secure_environment(self, principal: str = ADMIN) -> dict[str, str]:
        """:meth:`environment` on the SASL_SSL listener as ``principal`` (its password!)."""
        return self.environment() | {
            "HEADWATER_KAFKA__BOOTSTRAP_SERVERS": self.kafka.tls_endpoint,
            "HEADWATER_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
            "HEADWATER_KAFKA__SASL_MECHANISM": MECHANISM,
            "HEADWATER_KAFKA__SASL_USERNAME": principal,
            "HEADWATER_KAFKA__SASL_PASSWORD": self.kafka.users.password(principal),
            "HEADWATER_KAFKA__SSL_CA_LOCATION": str(self.tls.ca_cert),
        }

    def export_lines(self, environment: dict[str, str] | None = None) -> str:
        """``export`` lines for ``eval "$(headwater stack env)"``."""
        return "".join(
            f"export {key}={shlex.quote(value)}\n"
            for key, value in (environment or self.environment()).items()
        )
