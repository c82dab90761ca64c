"""The integration stack in Docker containers, started with testcontainers.

``tests/integration/conftest.py`` uses :func:`docker_stack` when ``HEADWATER_TEST_STACK=docker``
and a Docker engine answers; otherwise the session runs on the native stack (``headwater stack
up``), which is the path CI proves. The containers mirror ``docker-compose.yml``: the same
images and tags, broker, worker and server settings, and network aliases (``kafka``,
``connect``, ``postgres``, ``prometheus``) on one private Docker network, so a Debezium
connector config names the source database ``postgres:5432`` exactly as with compose. Host
ports are chosen at random instead of compose's fixed ones, and nothing is kept in volumes.

Kafka has two listeners: ``EXTERNAL``, advertised to the host as ``<docker host>:<port>`` on a
host port picked before the container starts (the advertised address must be in the broker's
configuration when it boots), and ``INTERNAL`` (``kafka:29092``) for Kafka Connect.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import requests
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from psycopg import sql
from testcontainers.core.container import DockerContainer
from testcontainers.core.docker_client import DockerClient
from testcontainers.core.network import Network

KAFKA_IMAGE = "apache/kafka:4.3.0"
CONNECT_IMAGE = "quay.io/debezium/connect:3.6.1.Final"
POSTGRES_IMAGE = "postgres:15"
PROMETHEUS_IMAGE = "prom/prometheus:v3.5.0"

KAFKA_EXTERNAL_PORT = 19092
KAFKA_INTERNAL_PORT = 29092
KAFKA_CONTROLLER_PORT = 19093
CONNECT_PORT = 8083
POSTGRES_PORT = 5432
PROMETHEUS_PORT = 9090

CLUSTER_ID = "TszJKMZwQCK4oI1K_n7QSw"
DEBEZIUM_POSTGRES = "io.debezium.connector.postgresql.PostgresConnector"
SUPERUSER = "postgres"
DATABASES = ("app", "warehouse")
PROMETHEUS_CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"

READY_TIMEOUT_S = 240.0
POLL_INTERVAL_S = 0.5
PROBE_TIMEOUT_S = 5.0
LOG_TAIL_LINES = 40

Probe = Callable[[], str | None]
"""A readiness check: ``None`` when ready, otherwise why not (yet)."""


class DockerStackError(RuntimeError):
    """A container of the Docker test stack failed to start or to become ready."""


def _free_port() -> int:
    """A TCP port that is free on this host right now, for an explicit host binding."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        port: int = sock.getsockname()[1]
        return port


def _docker_host() -> str:
    """The address of the Docker host as testcontainers reaches it, known before any start."""
    client = DockerClient()
    try:
        return client.host()
    finally:
        client.client.close()


def _log_tail(container: DockerContainer) -> str:
    """The last lines of a container's output, to explain why it is not ready."""
    try:
        output = container.get_wrapped_container().logs(tail=LOG_TAIL_LINES)
    except requests.RequestException as error:  # docker's APIError is one too
        # Only a diagnosis: the failure it explains is raised either way.
        return f"(no logs: {error})"
    return output.decode(errors="replace") if isinstance(output, bytes) else str(output)


def _exited(container: DockerContainer) -> str | None:
    """Why a container is no longer running, or ``None`` while it runs."""
    wrapped = container.get_wrapped_container()
    wrapped.reload()
    if wrapped.status in ("exited", "dead"):
        return f"container {wrapped.short_id} is {wrapped.status}"
    return None


def _wait_until(what: str, container: DockerContainer, probe: Probe, timeout: float) -> None:
    """Poll ``probe`` until it reports ready; fail when the container dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        died = _exited(container)
        if died is not None:
            raise DockerStackError(
                f"{what} stopped before it was ready ({died}):\n{_log_tail(container)}"
            )
        reason = probe()
        if reason is None:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DockerStackError(
                f"{what} not ready after {timeout:.0f}s: {reason}\n{_log_tail(container)}"
            )
        time.sleep(min(POLL_INTERVAL_S, remaining))


def _http_address(container: DockerContainer, port: int) -> str:
    """``http://host:port`` of a container port as mapped on the Docker host."""
    return f"http://{container.get_container_host_ip()}:{container.get_exposed_port(port)}"


def _kafka(network: Network, host: str, host_port: int) -> DockerContainer:
    """The KRaft broker+controller of docker-compose.yml, advertising ``host:host_port``."""
    return (
        DockerContainer(KAFKA_IMAGE)
        .with_network(network)
        .with_network_aliases("kafka")
        .with_kwargs(hostname="kafka")
        .with_bind_ports(KAFKA_EXTERNAL_PORT, host_port)
        .with_envs(
            CLUSTER_ID=CLUSTER_ID,
            KAFKA_NODE_ID="1",
            KAFKA_PROCESS_ROLES="broker,controller",
            KAFKA_CONTROLLER_QUORUM_VOTERS=f"1@kafka:{KAFKA_CONTROLLER_PORT}",
            KAFKA_LISTENERS=(
                f"EXTERNAL://:{KAFKA_EXTERNAL_PORT},INTERNAL://:{KAFKA_INTERNAL_PORT},"
                f"CONTROLLER://:{KAFKA_CONTROLLER_PORT}"
            ),
            KAFKA_ADVERTISED_LISTENERS=(
                f"EXTERNAL://{host}:{host_port},INTERNAL://kafka:{KAFKA_INTERNAL_PORT}"
            ),
            KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=(
                "EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            KAFKA_INTER_BROKER_LISTENER_NAME="INTERNAL",
            KAFKA_CONTROLLER_LISTENER_NAMES="CONTROLLER",
            KAFKA_LOG_DIRS="/var/lib/kafka/data",
            KAFKA_NUM_PARTITIONS="3",
            KAFKA_AUTO_CREATE_TOPICS_ENABLE="false",
            KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="1",
            KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR="1",
            KAFKA_TRANSACTION_STATE_LOG_MIN_ISR="1",
            KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR="1",
            KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR="1",
            KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS="0",
            KAFKA_LOG_RETENTION_HOURS="168",
            KAFKA_HEAP_OPTS="-Xms128m -Xmx768m",
        )
    )


def _connect(network: Network) -> DockerContainer:
    """The Kafka Connect worker with Debezium of docker-compose.yml, on ``kafka:29092``."""
    converter = "org.apache.kafka.connect.json.JsonConverter"
    return (
        DockerContainer(CONNECT_IMAGE)
        .with_network(network)
        .with_network_aliases("connect")
        .with_kwargs(hostname="connect")
        .with_exposed_ports(CONNECT_PORT)
        .with_envs(
            BOOTSTRAP_SERVERS=f"kafka:{KAFKA_INTERNAL_PORT}",
            GROUP_ID="headwater-connect",
            CONFIG_STORAGE_TOPIC="headwater-connect-configs",
            OFFSET_STORAGE_TOPIC="headwater-connect-offsets",
            STATUS_STORAGE_TOPIC="headwater-connect-status",
            KEY_CONVERTER=converter,
            VALUE_CONVERTER=converter,
            OFFSET_FLUSH_INTERVAL_MS="1000",
            ADVERTISED_HOST_NAME="connect",
            ADVERTISED_PORT=str(CONNECT_PORT),
            HEAP_OPTS="-Xms128m -Xmx768m",
            CONNECT_KEY_CONVERTER_SCHEMAS_ENABLE="true",
            CONNECT_VALUE_CONVERTER_SCHEMAS_ENABLE="true",
            CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR="1",
            CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR="1",
            CONNECT_STATUS_STORAGE_REPLICATION_FACTOR="1",
            CONNECT_TOPIC_CREATION_ENABLE="true",
            CONNECT_CONNECTOR_CLIENT_CONFIG_OVERRIDE_POLICY="All",
            CONNECT_PLUGIN_DISCOVERY="hybrid_warn",
            CONNECT_LISTENERS=f"http://0.0.0.0:{CONNECT_PORT}",
        )
    )


def _postgres(network: Network, password: str) -> DockerContainer:
    """PostgreSQL 15 with logical decoding, as in docker-compose.yml."""
    return (
        DockerContainer(POSTGRES_IMAGE)
        .with_network(network)
        .with_network_aliases("postgres")
        .with_kwargs(hostname="postgres")
        .with_exposed_ports(POSTGRES_PORT)
        .with_envs(POSTGRES_USER=SUPERUSER, POSTGRES_PASSWORD=password)
        .with_command(
            "postgres -c wal_level=logical -c max_wal_senders=10 -c max_replication_slots=10"
            " -c max_connections=200"
        )
    )


def _prometheus(network: Network) -> DockerContainer:
    """Prometheus with deploy/prometheus mounted at /etc/prometheus, as in docker-compose.yml."""
    return (
        DockerContainer(PROMETHEUS_IMAGE)
        .with_network(network)
        .with_network_aliases("prometheus")
        .with_kwargs(hostname="prometheus", extra_hosts={"host.docker.internal": "host-gateway"})
        .with_exposed_ports(PROMETHEUS_PORT)
        .with_volume_mapping(str(PROMETHEUS_CONFIG_DIR), "/etc/prometheus", "ro")
        .with_command(
            "--config.file=/etc/prometheus/prometheus.docker.yml"
            " --storage.tsdb.path=/prometheus --web.enable-lifecycle"
        )
    )


def _kafka_probe(bootstrap_servers: str) -> Probe:
    """Ready when the broker answers a metadata request through its host listener."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0})

    def probe() -> str | None:
        try:
            metadata = admin.list_topics(timeout=PROBE_TIMEOUT_S)
        except KafkaException as error:
            return f"metadata request failed: {error}"
        return None if metadata.brokers else "metadata lists no broker"

    return probe


def _connect_probe(url: str) -> Probe:
    """Ready when the worker lists the Debezium PostgreSQL plugin and has joined its group."""

    def probe() -> str | None:
        try:
            plugins = requests.get(f"{url}/connector-plugins", timeout=PROBE_TIMEOUT_S)
            if plugins.status_code != 200:
                return f"GET /connector-plugins answered {plugins.status_code}"
            if DEBEZIUM_POSTGRES not in {plugin.get("class") for plugin in plugins.json()}:
                return f"GET /connector-plugins does not list {DEBEZIUM_POSTGRES}"
            # Served by the herder: 200 only once the worker works through kafka:29092.
            connectors = requests.get(f"{url}/connectors", timeout=PROBE_TIMEOUT_S)
        except (requests.RequestException, ValueError) as error:
            return f"Connect REST request failed: {error}"
        if connectors.status_code != 200:
            return f"GET /connectors answered {connectors.status_code}"
        return None

    return probe


def _postgres_probe(dsn: str) -> Probe:
    """Ready when the server accepts a TCP connection and answers a query."""

    def probe() -> str | None:
        try:
            with psycopg.connect(dsn, connect_timeout=int(PROBE_TIMEOUT_S)) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as error:
            return f"not accepting connections: {error}"
        return None

    return probe


def _prometheus_probe(url: str) -> Probe:
    """Ready when ``/-/ready`` answers 200."""

    def probe() -> str | None:
        try:
            reply = requests.get(f"{url}/-/ready", timeout=PROBE_TIMEOUT_S)
        except requests.RequestException as error:
            return f"GET /-/ready failed: {error}"
        return None if reply.status_code == 200 else f"GET /-/ready answered {reply.status_code}"

    return probe


def _dsn(container: DockerContainer, password: str, database: str) -> str:
    """A libpq URI for the superuser on one database of the PostgreSQL container, which
    serves no TLS: plaintext, explicitly, as local development may."""
    host = container.get_container_host_ip()
    port = container.get_exposed_port(POSTGRES_PORT)
    credentials = f"{SUPERUSER}:{quote(password, safe='')}"
    return f"postgresql://{credentials}@{host}:{port}/{database}?sslmode=disable"


def _create_databases(dsn: str) -> None:
    """Create the source and warehouse databases (what deploy/postgres/init does for compose)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for database in DATABASES:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _start(cleanup: ExitStack, container: DockerContainer) -> DockerContainer:
    """Start a container, its removal registered first so a failed start leaves nothing behind."""
    cleanup.callback(container.stop)
    return container.start()


@contextmanager
def docker_stack() -> Iterator[dict[str, str]]:
    """Start Kafka, Kafka Connect + Debezium, PostgreSQL and Prometheus with testcontainers; yield the HEADWATER_* environment."""  # noqa: E501
    password = os.environ.get("POSTGRES_PASSWORD") or secrets.token_urlsafe(18)
    cleanup = ExitStack()
    try:
        network = Network().create()
        cleanup.callback(network.remove)

        postgres = _start(cleanup, _postgres(network, password))
        kafka_host, kafka_port = _docker_host(), _free_port()
        kafka = _start(cleanup, _kafka(network, kafka_host, kafka_port))
        prometheus = _start(cleanup, _prometheus(network))

        bootstrap_servers = f"{kafka_host}:{kafka_port}"
        _wait_until("Kafka", kafka, _kafka_probe(bootstrap_servers), READY_TIMEOUT_S)
        admin_dsn = _dsn(postgres, password, "postgres")
        _wait_until("PostgreSQL", postgres, _postgres_probe(admin_dsn), READY_TIMEOUT_S)
        _create_databases(admin_dsn)

        connect = _start(cleanup, _connect(network))
        connect_url = _http_address(connect, CONNECT_PORT)
        _wait_until("Kafka Connect", connect, _connect_probe(connect_url), READY_TIMEOUT_S)
        prometheus_url = _http_address(prometheus, PROMETHEUS_PORT)
        _wait_until("Prometheus", prometheus, _prometheus_probe(prometheus_url), READY_TIMEOUT_S)

        yield {
            "HEADWATER_KAFKA__BOOTSTRAP_SERVERS": bootstrap_servers,
            "HEADWATER_KAFKA__SECURITY_PROTOCOL": "PLAINTEXT",  # docker-compose.yml's listener
            "HEADWATER_CONNECT__URL": connect_url,
            "HEADWATER_SOURCE__DSN": _dsn(postgres, password, "app"),
            "HEADWATER_WAREHOUSE__DSN": _dsn(postgres, password, "warehouse"),
            "HEADWATER_PROMETHEUS__URL": prometheus_url,
        }
    finally:
        # Last started, first stopped; the network goes last. Every step runs even when one
        # fails, and the failures are raised, not swallowed.
        cleanup.close()
