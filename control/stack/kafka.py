"""Apache Kafka in KRaft mode (one combined broker/controller) and Kafka Connect with Debezium."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from confluent_kafka import KafkaException

from connectors.secrets import worker_properties
from control.stack.base import Component, Port, StackError, write_if_changed
from control.stack.process import ManagedProcess, log_tail
from control.stack.toolchain import check_java, check_maven, fetch_jars, pom
from headwater.kafka.clients import make_admin
from headwater.settings import KafkaSettings, StackSettings

DEBEZIUM_POSTGRES = "io.debezium.connector.postgresql.PostgresConnector"
CONNECT_GROUP = "headwater-connect"

LOG4J2 = """\
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = console
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.connectrt.name = org.apache.kafka.connect.runtime
logger.connectrt.level = INFO
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
"""


def _properties(values: dict[str, object]) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())


class Jars:
    """The Kafka runtime classpath and the Debezium plugin folder, fetched by Maven."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.kafka = settings.jars_dir / "kafka"
        self.plugins = settings.jars_dir / "plugins"

    def fetch(self) -> bool:
        """Fetch whatever is missing; True when something was downloaded."""
        maven = check_maven(self.settings.maven)
        repo = self.settings.maven_repo
        fetched = fetch_jars(maven, pom("kafka"), self.kafka, repo)
        fetched |= fetch_jars(
            maven,
            pom("debezium"),
            self.plugins / "debezium-connector-postgres",
            repo,
            exclude_groups="org.apache.kafka",
        )
        return fetched

    @property
    def classpath(self) -> str:
        """The JVM classpath for the broker and the Connect worker."""
        return f"{self.kafka}/*"


def _java_argv(
    settings: StackSettings, jars: Jars, heap: str, log4j: Path, main: str, *args: str
) -> list[str]:
    return [
        check_java(settings.java),
        "-Xms128m",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        jars.classpath,
        main,
        *args,
    ]


class KafkaBroker(Component):
    """A single-node KRaft cluster: broker and controller in one JVM."""

    name = "kafka"

    def __init__(self, settings: StackSettings, jars: Jars) -> None:
        super().__init__(settings)
        self.jars = jars
        self.process = ManagedProcess(self.name, self.home, str(self.home))
        self.config = self.home / "server.properties"
        self.data = self.home / "data"

    @property
    def endpoint(self) -> str:
        return f"{self.settings.host}:{self.settings.kafka_port}"

    def ports(self) -> list[Port]:
        return [
            Port("HEADWATER_STACK__KAFKA_PORT", self.settings.kafka_port),
            Port("HEADWATER_STACK__KAFKA_CONTROLLER_PORT", self.settings.kafka_controller_port),
        ]

    def prepare(self) -> None:
        s = self.settings
        broker = f"{s.host}:{s.kafka_port}"
        controller = f"{s.host}:{s.kafka_controller_port}"
        write_if_changed(self.home / "log4j2.properties", LOG4J2)
        write_if_changed(
            self.config,
            _properties(
                {
                    "process.roles": "broker,controller",
                    "node.id": 1,
                    "controller.quorum.voters": f"1@{controller}",
                    "listeners": f"PLAINTEXT://{broker},CONTROLLER://{controller}",
                    "advertised.listeners": f"PLAINTEXT://{broker}",
                    "controller.listener.names": "CONTROLLER",
                    "inter.broker.listener.name": "PLAINTEXT",
                    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "log.dirs": self.data,
                    "num.partitions": 3,
                    "auto.create.topics.enable": "false",
                    "offsets.topic.replication.factor": 1,
                    "transaction.state.log.replication.factor": 1,
                    "transaction.state.log.min.isr": 1,
                    "share.coordinator.state.topic.replication.factor": 1,
                    "share.coordinator.state.topic.min.isr": 1,
                    "group.initial.rebalance.delay.ms": 0,
                    "log.retention.hours": 168,
                }
            ),
        )
        if not (self.data / "meta.properties").exists():
            self._format_storage()

    def _format_storage(self) -> None:
        argv = _java_argv(
            self.settings,
            self.jars,
            "256m",
            self.home / "log4j2.properties",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            new_cluster_id(),
            "-c",
            str(self.config),
            "--ignore-formatted",
        )
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")

    def running(self) -> bool:
        return self.process.running()

    def ready(self) -> bool:
        kafka = KafkaSettings(bootstrap_servers=self.endpoint, client_id="headwater-stack")
        try:
            metadata = make_admin(kafka, log_level=0).list_topics(timeout=2)
        except KafkaException:
            return False
        return bool(metadata.brokers)

    def start(self) -> None:
        self.process.start(
            _java_argv(
                self.settings,
                self.jars,
                self.settings.kafka_heap,
                self.home / "log4j2.properties",
                "kafka.Kafka",
                str(self.config),
            )
        )

    def stop(self) -> None:
        self.process.stop()

    @property
    def log_file(self) -> Path:
        return self.process.log_file


class KafkaConnect(Component):
    """A distributed Kafka Connect worker with the Debezium PostgreSQL plugin."""

    name = "connect"

    def __init__(self, settings: StackSettings, jars: Jars) -> None:
        super().__init__(settings)
        self.jars = jars
        self.process = ManagedProcess(self.name, self.home, str(self.home))
        self.config = self.home / "connect-distributed.properties"
        self.secrets = self.home / "secrets"

    @property
    def endpoint(self) -> str:
        return f"http://{self.settings.host}:{self.settings.connect_port}"

    def ports(self) -> list[Port]:
        return [Port("HEADWATER_STACK__CONNECT_PORT", self.settings.connect_port)]

    def prepare(self) -> None:
        s = self.settings
        write_if_changed(self.home / "log4j2.properties", LOG4J2)
        self.secrets.mkdir(parents=True, exist_ok=True, mode=0o700)
        converter = "org.apache.kafka.connect.json.JsonConverter"
        write_if_changed(
            self.config,
            _properties(
                {
                    "bootstrap.servers": f"{s.host}:{s.kafka_port}",
                    "group.id": CONNECT_GROUP,
                    "key.converter": converter,
                    "value.converter": converter,
                    "key.converter.schemas.enable": "true",
                    "value.converter.schemas.enable": "true",
                    "config.storage.topic": f"{CONNECT_GROUP}-configs",
                    "offset.storage.topic": f"{CONNECT_GROUP}-offsets",
                    "status.storage.topic": f"{CONNECT_GROUP}-status",
                    "config.storage.replication.factor": 1,
                    "offset.storage.replication.factor": 1,
                    "status.storage.replication.factor": 1,
                    "offset.flush.interval.ms": 1000,
                    "listeners": self.endpoint,
                    "rest.advertised.host.name": s.host,
                    "rest.advertised.port": s.connect_port,
                    "plugin.path": self.jars.plugins,
                    "plugin.discovery": "hybrid_warn",
                    "topic.creation.enable": "true",
                    # Connectors set their own producer settings (producer.override.*).
                    "connector.client.config.override.policy": "All",
                    # Connector passwords are ${dir:...} references to files in there.
                    **worker_properties(self.secrets),
                }
            ),
        )

    def running(self) -> bool:
        return self.process.running()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/connector-plugins", timeout=3) as reply:
                plugins = json.load(reply)
        except (OSError, urllib.error.URLError, ValueError):
            return False
        return any(plugin.get("class") == DEBEZIUM_POSTGRES for plugin in plugins)

    def start(self) -> None:
        self.process.start(
            _java_argv(
                self.settings,
                self.jars,
                self.settings.connect_heap,
                self.home / "log4j2.properties",
                "org.apache.kafka.connect.cli.ConnectDistributed",
                str(self.config),
            )
        )

    def stop(self) -> None:
        self.process.stop()

    @property
    def log_file(self) -> Path:
        return self.process.log_file


__all__ = ["DEBEZIUM_POSTGRES", "Jars", "KafkaBroker", "KafkaConnect", "log_tail"]


def new_cluster_id() -> str:
    """A random KRaft cluster id: 22 URL-safe base64 characters, never starting with "-".

    The storage tool's argument parser reads an id starting with "-" as an option (and one
    random id in 64 does), as Kafka's own ``Uuid.randomUuid`` avoids too.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id
