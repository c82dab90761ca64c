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
from control.stack.kafka_users import ADMIN, MECHANISM, KafkaUsers
from control.stack.process import ManagedProcess, log_tail
from control.stack.tls import StackTls
from control.stack.toolchain import check_java, check_maven, fetch_jars, pom
from headwater.kafka.acls import CONNECT, CONNECT_GROUP
from headwater.kafka.clients import make_admin
from headwater.settings import KafkaSettings, Settings, StackSettings

DEBEZIUM_POSTGRES = "io.debezium.connector.postgresql.PostgresConnector"
#: Connect's own clients, which take the worker's security settings with these prefixes
CLIENTS = ("producer", "consumer", "admin")

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

    def __init__(self, settings: StackSettings, jars: Jars, tls: StackTls) -> None:
        super().__init__(settings)
        self.jars = jars
        self.tls = tls
        self.users = KafkaUsers(self.home / "principals.json")
        self.process = ManagedProcess(self.name, self.home, str(self.home))
        self.config = self.home / "server.properties"
        self.data = self.home / "data"

    @property
    def endpoint(self) -> str:
        return f"{self.settings.host}:{self.settings.kafka_port}"

    @property
    def tls_endpoint(self) -> str:
        """The SASL_SSL listener (SCRAM-SHA-512 over TLS, ACLs enforced)."""
        return f"{self.settings.host}:{self.settings.kafka_tls_port}"

    def ports(self) -> list[Port]:
        return [
            Port("HEADWATER_STACK__KAFKA_PORT", self.settings.kafka_port),
            Port("HEADWATER_STACK__KAFKA_CONTROLLER_PORT", self.settings.kafka_controller_port),
            Port("HEADWATER_STACK__KAFKA_TLS_PORT", self.settings.kafka_tls_port),
        ]

    def plaintext_settings(self) -> KafkaSettings:
        """The loopback PLAINTEXT listener, whose ANONYMOUS principal is a super user."""
        return KafkaSettings(
            bootstrap_servers=self.endpoint,
            client_id="headwater-stack",
            security_protocol="PLAINTEXT",
        )

    def prepare(self) -> None:
        write_if_changed(self.home / "log4j2.properties", LOG4J2)
        self._write_keystore()
        write_if_changed(self.config, self._server_properties())
        if not (self.data / "meta.properties").exists():
            self._format_storage()

    def outdated(self) -> bool:
        return self.config.exists() and self.config.read_text() != self._server_properties()

    def _server_properties(self) -> str:
        s = self.settings
        broker = f"{s.host}:{s.kafka_port}"
        controller = f"{s.host}:{s.kafka_controller_port}"
        return _properties(
            {
                "process.roles": "broker,controller",
                "node.id": 1,
                "controller.quorum.voters": f"1@{controller}",
                "listeners": (
                    f"PLAINTEXT://{broker},SASL_SSL://{self.tls_endpoint},CONTROLLER://{controller}"
                ),
                "advertised.listeners": f"PLAINTEXT://{broker},SASL_SSL://{self.tls_endpoint}",
                "controller.listener.names": "CONTROLLER",
                "inter.broker.listener.name": "PLAINTEXT",
                "listener.security.protocol.map": (
                    "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
                ),
                "sasl.enabled.mechanisms": MECHANISM,
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                ),
                "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
                "listener.name.sasl_ssl.ssl.keystore.location": self.keystore,
                # the loopback listeners' ANONYMOUS is a super user: local development
                # and the controller only; every SCRAM principal gets its ACLs
                "authorizer.class.name": (
                    "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
                ),
                "allow.everyone.if.no.acl.found": "false",
                "super.users": f"User:ANONYMOUS;User:{ADMIN}",
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
        )

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

    @property
    def keystore(self) -> Path:
        """The server's key and certificate chain in one PEM file (mode 600), as Kafka reads it."""
        return self.home / "keystore.pem"

    def _write_keystore(self) -> None:
        self.keystore.parent.mkdir(parents=True, exist_ok=True)
        self.keystore.touch(mode=0o600, exist_ok=True)
        self.keystore.chmod(0o600)
        write_if_changed(
            self.keystore, self.tls.server_key.read_text() + self.tls.server_cert.read_text()
        )

    def secure(self, pipeline: Settings) -> None:
        """Make the SCRAM users and their ACLs (idempotent; upgrades an older stack)."""
        self.users.apply(make_admin(self.plaintext_settings(), log_level=0), pipeline)

    def running(self) -> bool:
        return self.process.running()

    def ready(self) -> bool:
        try:
            metadata = make_admin(self.plaintext_settings(), log_level=0).list_topics(timeout=2)
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

    def __init__(self, settings: StackSettings, jars: Jars, broker: KafkaBroker) -> None:
        super().__init__(settings)
        self.jars = jars
        self.broker = broker
        self.process = ManagedProcess(self.name, self.home, str(self.home))
        self.config = self.home / "connect-distributed.properties"
        self.secrets = self.home / "secrets"

    @property
    def endpoint(self) -> str:
        return f"http://{self.settings.host}:{self.settings.connect_port}"

    def ports(self) -> list[Port]:
        return [Port("HEADWATER_STACK__CONNECT_PORT", self.settings.connect_port)]

    def prepare(self) -> None:
        write_if_changed(self.home / "log4j2.properties", LOG4J2)
        self.secrets.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.touch(mode=0o600, exist_ok=True)
        self.config.chmod(0o600)  # it holds the connect principal's password
        write_if_changed(self.config, self._worker_properties())

    def outdated(self) -> bool:
        return self.config.exists() and self.config.read_text() != self._worker_properties()

    def _worker_properties(self) -> str:
        s = self.settings
        converter = "org.apache.kafka.connect.json.JsonConverter"
        return _properties(
            {
                **self._client_security(),
                "bootstrap.servers": self.broker.tls_endpoint,
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
        )

    def _client_security(self) -> dict[str, object]:
        """The worker's and its clients' SASL_SSL settings as the ``connect`` principal."""
        password = self.broker.users.password(CONNECT)
        own = {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": MECHANISM,
            "sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{CONNECT}" password="{password}";'
            ),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": self.broker.tls.ca_cert,
        }
        prefixed = {f"{client}.{key}": value for client in CLIENTS for key, value in own.items()}
        return own | prefixed

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
