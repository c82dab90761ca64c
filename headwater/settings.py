"""One settings tree for every service: environment ``HEADWATER_*``, nested with ``__``.

A ``.env`` file in the working directory is read too (the environment wins); its variables
without the ``HEADWATER_`` prefix (Docker Compose's ``POSTGRES_PASSWORD``) are not ours and
are left alone. Lists take JSON or comma-separated values; maps take JSON.

Secrets are :class:`~pydantic.SecretStr` and may also be read from files in a secrets
directory (``HEADWATER_SECRETS_DIR``, where Docker and Kubernetes mount them), one file
per setting, named like the environment variable (``HEADWATER_WAREHOUSE__DSN``).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NestedSecretsSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from headwater.errors import ConfigurationError

ENV_PREFIX = "HEADWATER_"
NESTED_DELIMITER = "__"
SECRETS_DIR_VARIABLE = f"{ENV_PREFIX}SECRETS_DIR"
#: the dotenv file read from the working directory
DOTENV_FILE = ".env"

_HOST_PORT = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-_]+):(\d{1,5})$")


def _check_host_port(value: str) -> str:
    port = _HOST_PORT.match(value)
    if port is None or not 0 < int(port.group(1)) < 65536:
        raise ValueError(f"{value!r} is not host:port")
    return value


def _json_or_commas(value: Any) -> Any:
    """A list from the environment: JSON (``["a","b"]``) or comma-separated (``a,b``)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"is not a JSON list ({error.msg} at character {error.pos})") from None
    return [item.strip() for item in text.split(",") if item.strip()]


def _json_object(value: Any) -> Any:
    """A map from the environment: a JSON object."""
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(
            f'is not a JSON object like {{"key": "value"}} ({error.msg} at character {error.pos})'
        ) from None
    if not isinstance(parsed, dict):
        raise ValueError(
            f'is not a JSON object like {{"key": "value"}} (got {type(parsed).__name__})'
        )
    return parsed


#: a list setting: JSON or comma-separated
StrList = Annotated[list[str], NoDecode, BeforeValidator(_json_or_commas)]


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA timezone (like Europe/Berlin or UTC)") from None
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: librdkafka settings the typed Kafka settings own, or that would turn verification off
_OWNED_CLIENT_KEYS = {
    "bootstrap.servers": "BOOTSTRAP_SERVERS",
    "client.id": "CLIENT_ID",
    "security.protocol": "SECURITY_PROTOCOL",
    "sasl.mechanism": "SASL_MECHANISM",
    "sasl.mechanisms": "SASL_MECHANISM",
    "sasl.username": "SASL_USERNAME",
    "sasl.password": "SASL_PASSWORD",
    "ssl.ca.location": "SSL_CA_LOCATION",
    "ssl.certificate.location": "SSL_CERTIFICATE_LOCATION",
    "ssl.key.location": "SSL_KEY_LOCATION",
    "ssl.key.password": "SSL_KEY_PASSWORD",
}
_VERIFICATION_KEYS = (
    "ssl.endpoint.identification.algorithm",
    "enable.ssl.certificate.verification",
)

#: security protocols whose traffic is not encrypted (local development only)
UNENCRYPTED_PROTOCOLS = frozenset({"PLAINTEXT", "SASL_PLAINTEXT"})


def _readable_file(value: Path | None) -> Path | None:
    if value is not None and not (value.is_file() and os.access(value, os.R_OK)):
        raise ValueError(f"{str(value)!r} is not a readable file")
    return value


class KafkaSettings(_Section):
    """How to reach Kafka, how to prove who we are, and the defaults for topics we create.

    Traffic is encrypted and the broker verified unless ``security_protocol`` says
    otherwise: ``PLAINTEXT`` is for the local stack's loopback listener only, and every
    service warns once when it uses it.
    """

    bootstrap_servers: str = Field(
        default="127.0.0.1:19092", description="Kafka brokers, comma-separated host:port"
    )
    client_id: str = Field(default="headwater", description="client.id sent to Kafka")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="SSL",
        description="Kafka security.protocol; PLAINTEXT only for local development "
        "(`headwater stack env` sets it)",
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="Kafka sasl.mechanism (SCRAM-SHA-512 on the stack)"
    )
    sasl_username: str | None = Field(default=None, description="Kafka SASL user")
    sasl_password: SecretStr | None = Field(default=None, description="Kafka SASL password")
    ssl_ca_location: Path | None = Field(
        default=None, description="PEM file of the CAs that sign the brokers (default: system's)"
    )
    ssl_certificate_location: Path | None = Field(
        default=None, description="PEM client certificate, for mutual TLS"
    )
    ssl_key_location: Path | None = Field(
        default=None, description="PEM private key of the client certificate"
    )
    ssl_key_password: SecretStr | None = Field(
        default=None, description="password of an encrypted client key"
    )
    client_config: Annotated[dict[str, SecretStr], NoDecode, BeforeValidator(_json_object)] = Field(
        default={},
        description="JSON map of further librdkafka settings for the confluent-kafka clients "
        '(e.g. {"socket.keepalive.enable": "true"}); not the ones set above; values hidden, '
        "as they may hold a keystore or OAuth secret",
    )
    default_partitions: int = Field(
        default=3, ge=1, description="partitions of topics Headwater creates"
    )
    replication_factor: int = Field(
        default=1, ge=1, description="replication factor of topics Headwater creates"
    )
    session_timeout_s: float = Field(
        default=10.0,
        ge=6,
        le=300,
        description="how long a consumer that stopped answering keeps its partitions "
        "(a killed service's work moves on after this)",
    )

    @field_validator("bootstrap_servers")
    @classmethod
    def _bootstrap_is_host_port_list(cls, value: str) -> str:
        servers = [server.strip() for server in value.split(",")]
        if not value.strip() or not all(servers):
            raise ValueError(f"{value!r} is not a comma-separated list of host:port")
        for server in servers:
            _check_host_port(server)
        return ",".join(servers)

    @field_validator("ssl_ca_location", "ssl_certificate_location", "ssl_key_location")
    @classmethod
    def _names_readable_file(cls, value: Path | None) -> Path | None:
        return _readable_file(value)

    @field_validator("client_config")
    @classmethod
    def _not_owned(cls, config: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key in config:
            if key in _OWNED_CLIENT_KEYS:
                setting = f"{ENV_PREFIX}KAFKA{NESTED_DELIMITER}{_OWNED_CLIENT_KEYS[key]}"
                raise ValueError(f"{key!r} is set by {setting}, not here")
            if key in _VERIFICATION_KEYS:
                raise ValueError(f"{key!r} may not be changed: the broker is always verified")
        return config

    @model_validator(mode="after")
    def _complete(self) -> KafkaSettings:
        prefix = f"{ENV_PREFIX}KAFKA{NESTED_DELIMITER}"
        if self.security_protocol.startswith("SASL_"):
            needed = {
                "SASL_MECHANISM": self.sasl_mechanism,
                "SASL_USERNAME": self.sasl_username,
                "SASL_PASSWORD": self.sasl_password,
            }
            missing = [prefix + name for name, value in needed.items() if not value]
            if missing:
                raise ValueError(f"{self.security_protocol} needs {', '.join(missing)}")
        if (self.ssl_certificate_location is None) != (self.ssl_key_location is None):
            raise ValueError(
                f"mutual TLS needs both {prefix}SSL_CERTIFICATE_LOCATION and "
                f"{prefix}SSL_KEY_LOCATION"
            )
        return self

    @property
    def encrypted(self) -> bool:
        """Whether the traffic to the brokers is TLS."""
        return self.security_protocol not in UNENCRYPTED_PROTOCOLS


class ConnectSettings(_Section):
    """Kafka Connect's REST endpoint."""

    url: str = Field(default="http://127.0.0.1:18083", description="Kafka Connect's REST URL")
    secrets_dir: Path | None = Field(
        default=None,
        description="folder the Connect workers read secret files from (their `dir` config "
        "provider); connector configs name files there, never the secrets",
    )
    write_secrets: bool = Field(
        default=True,
        description="`connectors apply` writes the secret files into SECRETS_DIR (Connect on "
        "this host); false when they are mounted on the workers",
    )

    @field_validator("url")
    @classmethod
    def _is_http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")


class DatabaseSettings(_Section):
    """A PostgreSQL database, by libpq connection URI."""

    dsn: SecretStr | None = Field(
        default=None, description="postgresql:// URI (`headwater stack env` prints the local one)"
    )
    connect_timeout_s: int = Field(default=10, ge=1, description="seconds to wait for a connection")
    statement_timeout_s: float = Field(
        default=300.0, gt=0, description="longest statement before the server cancels it"
    )
    lock_timeout_s: float = Field(
        default=30.0, gt=0, description="longest wait for a lock before the server gives up"
    )

    @field_validator("dsn")
    @classmethod
    def _is_postgres_uri(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(r"^postgres(ql)?://", value.get_secret_value()):
            raise ValueError("is not a postgresql:// connection URI")
        return value


_QUALIFIED_TABLE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_QUALIFIED_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
#: The shortest pseudonymisation key accepted, in bytes (HMAC-SHA256's block is 64).
MIN_KEY_BYTES = 32


class CdcSettings(_Section):
    """Change data capture from the source database with Debezium."""

    tables: StrList = Field(
        default=["public.customers", "public.orders"],
        description="captured tables, a JSON list of schema.table",
    )
    connector_name: str = Field(default="headwater-cdc", description="Kafka Connect connector")
    topic_prefix: str = Field(
        default="cdc.app", description="Debezium topic.prefix: topics are PREFIX.schema.table"
    )
    slot_name: str = Field(default="headwater_cdc", description="logical replication slot")
    publication: str = Field(default="headwater_cdc", description="publication of the tables")
    user: str = Field(default="headwater_cdc", description="least-privileged replication role")
    password: SecretStr | None = Field(default=None, description="the replication role's password")
    database_host: str | None = Field(
        default=None, description="source host as Connect sees it (default: from SOURCE__DSN)"
    )
    database_port: int | None = Field(
        default=None, description="source port as Connect sees it (default: from SOURCE__DSN)"
    )
    heartbeat_interval_ms: int = Field(default=10_000, ge=0, description="Debezium heartbeat")
    topic_partitions: int = Field(default=3, ge=1, description="partitions of cdc.* topics")

    @field_validator("tables")
    @classmethod
    def _qualified_names(cls, tables: list[str]) -> list[str]:
        for table in tables:
            if not _QUALIFIED_TABLE.match(table):
                raise ValueError(f"{table!r} is not schema.table (lower-case identifiers)")
        if not tables:
            raise ValueError("needs at least one table")
        return tables

    def topic(self, table: str) -> str:
        """The Debezium topic of a captured schema.table."""
        return f"{self.topic_prefix}.{table}"


class ProcessorSettings(_Section):
    """The Faust stream processor."""

    app_id: str = Field(default="headwater-processor", description="Faust app id (group)")
    partitions: int = Field(default=3, ge=1, description="partitions of norm.* topics")
    pseudonymization_key: SecretStr | None = Field(
        default=None,
        description="key of the HMAC that pseudonymises user identities and personal "
        f"columns (at least {MIN_KEY_BYTES} bytes)",
    )
    pseudonymization_key_id: str = Field(
        default="k1",
        description="id of that key, written in front of every pseudonym (`<id>:<hmac>`); "
        "a new key gets a new id",
    )

    @field_validator("pseudonymization_key")
    @classmethod
    def _key_is_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_KEY_BYTES:
            raise ValueError(
                f"is shorter than {MIN_KEY_BYTES} bytes: use e.g. "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        return value

    @field_validator("pseudonymization_key_id")
    @classmethod
    def _key_id_is_a_name(cls, value: str) -> str:
        return _check_key_id(value)


def _check_key_id(value: str) -> str:
    if not _KEY_ID.match(value):
        raise ValueError(f"{value!r} is not a key id (1-16 of A-Z a-z 0-9 _ -)")
    return value


class PrivacySettings(_Section):
    """What happens to personal data: CDC column policy, raw retention, retired keys."""

    cdc_columns: Annotated[
        dict[str, Literal["drop", "hash", "keep"]], NoDecode, BeforeValidator(_json_object)
    ] = Field(
        default={},
        description="JSON map schema.table.column -> drop, hash or keep, over the defaults "
        "of docs/privacy.md",
    )
    personal_tables: StrList = Field(
        default=["public.customers"],
        description="captured schema.table holding personal data: their cdc.* topics get "
        "the short retention (tables named in cdc_columns count too)",
    )
    raw_personal_retention_hours: int = Field(
        default=72,
        ge=1,
        description="retention of the raw topics that hold personal data "
        "(raw.clevertap.*, cdc.* of tables with personal columns)",
    )
    retired_keys: Annotated[dict[str, SecretStr], NoDecode, BeforeValidator(_json_object)] = Field(
        default={},
        description="JSON map key id -> retired pseudonymisation key, kept so that "
        "`headwater forget` finds pseudonyms made before a rotation",
    )

    @field_validator("cdc_columns")
    @classmethod
    def _qualified_columns(cls, columns: dict[str, str]) -> dict[str, str]:
        for name in columns:
            if not _QUALIFIED_COLUMN.match(name):
                raise ValueError(f"{name!r} is not schema.table.column (lower-case identifiers)")
        return columns

    @field_validator("retired_keys")
    @classmethod
    def _retired_key_ids(cls, keys: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key_id in keys:
            _check_key_id(key_id)
        return keys

    @property
    def raw_personal_retention_ms(self) -> int:
        """The retention of raw topics holding personal data, as Kafka's retention.ms."""
        return self.raw_personal_retention_hours * 3600 * 1000


class KpiSettings(_Section):
    """Campaign KPIs: reporting currency, attribution and which events count."""

    currency: str = Field(default="EUR", description="reporting currency of spend and revenue")
    rates: Annotated[dict[str, str], NoDecode, BeforeValidator(_json_object)] = Field(
        default={"EUR": "1", "USD": "0.92", "GBP": "1.17", "JPY": "0.0061", "INR": "0.011"},
        description="JSON map: units of the reporting currency per unit of each currency",
    )
    orders_table: str = Field(default="public.orders", description="CDC table of the orders")
    install_event: str = Field(default="App Installed", description="event counted as install")
    signup_event: str = Field(default="Sign Up", description="event counted as sign-up")
    purchase_event: str = Field(default="Charged", description="event counted as purchase")
    campaign_prefixes: Annotated[dict[str, str], NoDecode, BeforeValidator(_json_object)] = Field(
        default={"fb": "facebook", "gads": "google_ads"},
        description="JSON map: attribution campaign_id prefix -> ad platform",
    )
    uncounted_statuses: StrList = Field(
        default=["cancelled", "refunded"], description="order statuses that leave the totals"
    )

    @field_validator("rates")
    @classmethod
    def _positive_rates(cls, rates: dict[str, str]) -> dict[str, str]:
        for code, rate in rates.items():
            try:
                number = Decimal(rate)
            except InvalidOperation:
                raise ValueError(f"{code}: {rate!r} is not a number") from None
            if not number.is_finite() or number <= 0:
                raise ValueError(f"{code}: {rate!r} is not a positive number")
        return rates


class SinkSettings(_Section):
    """The warehouse sinks."""

    batch_size: int = Field(default=5_000, ge=1, description="records per warehouse batch")
    batch_interval_s: float = Field(
        default=1.0, gt=0, description="longest wait before a partial batch is written"
    )
    cdc_topics: str = Field(
        default=r"^norm\.cdc\..*", description="regex of the topics the CDC mirror sink reads"
    )
    ddl_lock_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="longest wait of a mirror's CREATE/ALTER for its table lock (then retried)",
    )


class FacebookSettings(_Section):
    """Facebook Marketing API (Graph API) Insights."""

    graph_url: str = Field(default="https://graph.facebook.com", description="Graph API base URL")
    api_version: str = Field(default="v23.0", description="Graph API version")
    access_token: SecretStr | None = Field(default=None, description="system-user access token")
    ad_account_ids: StrList = Field(
        default=[], description="ad account ids (act_...), comma-separated or JSON"
    )
    lookback_days: int = Field(
        default=28, ge=1, description="days before today re-pulled on every run (restatements)"
    )
    conversion_action_types: StrList = Field(
        default=["purchase"], description="action types counted as conversions"
    )


class GoogleAdsSettings(_Section):
    """Google Ads API (REST, GAQL searchStream)."""

    api_url: str = Field(default="https://googleads.googleapis.com", description="API base URL")
    api_version: str = Field(default="v21", description="Google Ads API version")
    token_url: str = Field(
        default="https://oauth2.googleapis.com/token", description="OAuth token endpoint"
    )
    developer_token: SecretStr | None = Field(default=None, description="developer token")
    client_id: str | None = Field(default=None, description="OAuth client id")
    client_secret: SecretStr | None = Field(default=None, description="OAuth client secret")
    refresh_token: SecretStr | None = Field(default=None, description="OAuth refresh token")
    login_customer_id: str | None = Field(default=None, description="manager account id")
    customer_ids: StrList = Field(
        default=[], description="customer ids without dashes, comma-separated or JSON"
    )
    lookback_days: int = Field(
        default=30, ge=1, description="days before today re-pulled on every run (restatements)"
    )
    max_retry_delay_s: float = Field(
        default=60.0, ge=0, description="longer RESOURCE_EXHAUSTED retryDelay: alert, not sleep"
    )


class CleverTapSettings(_Section):
    """CleverTap Server API events export."""

    api_url: str = Field(
        default="https://in1.api.clevertap.com", description="regional API base URL"
    )
    account_id: str | None = Field(default=None, description="X-CleverTap-Account-Id")
    passcode: SecretStr | None = Field(default=None, description="X-CleverTap-Passcode")
    events: StrList = Field(
        default=["App Installed", "Sign Up", "Charged"], description="event names to export"
    )
    lookback_days: int = Field(
        default=2, ge=1, description="days before today re-pulled on every run (late events)"
    )
    batch_size: int = Field(default=5000, ge=1, le=5000, description="records per export page")
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        default="UTC", description="the account's timezone (IANA name), in which `ts` is given"
    )


class PollerSettings(_Section):
    """Schedule and history of the API pollers."""

    interval_s: float = Field(default=300.0, gt=0, description="seconds between poll runs")
    stale_after_s: float | None = Field(
        default=None,
        gt=0,
        description="age of the last successful run that makes a source stale "
        "(alert; default 3 x interval_s)",
    )
    backfill_days: int = Field(
        default=30, ge=0, description="history pulled on the first run of a new account"
    )
    state_topic: str = Field(
        default="headwater.poller_state", description="compacted topic of poller cursors"
    )
    ca_file: Path | None = Field(
        default=None,
        description="CA bundle (PEM) the API clients verify servers against "
        "(default: REQUESTS_CA_BUNDLE, else certifi's public CAs)",
    )
    plain_http: bool = Field(
        default=False,
        description="allow http:// API URLs (local development only; the poller warns)",
    )

    @property
    def stale_after(self) -> float:
        """Seconds after the last success when the source counts as stale."""
        return self.stale_after_s if self.stale_after_s is not None else 3 * self.interval_s


class SandboxSettings(_Section):
    """The local stand-ins for the SaaS APIs (`headwater sandbox serve`)."""

    host: str = Field(default="127.0.0.1", description="interface the sandbox APIs bind")
    facebook_port: int = Field(default=18801, ge=0, le=65535, description="Graph API stand-in")
    google_ads_port: int = Field(default=18802, ge=0, le=65535, description="Google Ads stand-in")
    clevertap_port: int = Field(default=18803, ge=0, le=65535, description="CleverTap stand-in")
    seed: int = Field(default=42, description="seed of the generated data")
    cert_file: Path | None = Field(
        default=None, description="certificate chain (PEM) to serve HTTPS with (default: HTTP)"
    )
    key_file: Path | None = Field(default=None, description="the certificate's private key (PEM)")


class PrometheusSettings(_Section):
    """The Prometheus server that scrapes the services."""

    url: str = Field(
        default="http://127.0.0.1:19090", description="Prometheus HTTP URL (for status and tests)"
    )


class HttpSettings(_Section):
    """Where a service serves /metrics, /healthz and /readyz."""

    host: str = Field(
        default="127.0.0.1", description="interface the /metrics, /healthz, /readyz server binds"
    )
    port: int = Field(
        default=9400,
        ge=0,
        le=65535,
        description="port of the /metrics, /healthz, /readyz server (0: any free port); "
        "default: 9400 plus the service's offset (processor 9400, sink cdc 9401, "
        "ad-performance 9402, app-events 9403, kpis 9404, poll facebook_ads 9405, "
        "google_ads 9406, clevertap 9407, connectors monitor 9408)",
    )


class LogSettings(_Section):
    """Structured logging."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="log level"
    )
    format: Literal["json", "text"] = Field(
        default="json", description="json lines or text for a terminal"
    )


class StackSettings(_Section):
    """The native local stack started by ``headwater stack up``."""

    state_dir: Path = Field(
        default=Path(".stack"), description="configs, data, logs and pids of the local stack"
    )
    lib_dir: Path | None = Field(
        default=None,
        description="where fetched jars go (default STATE_DIR/lib); share it between stacks",
    )
    host: str = Field(default="127.0.0.1", description="loopback address the stack listens on")
    kafka_port: int = Field(default=19092, ge=1, le=65535, description="Kafka client listener")
    kafka_controller_port: int = Field(
        default=19093, ge=1, le=65535, description="KRaft controller listener"
    )
    kafka_tls_port: int = Field(
        default=19094, ge=1, le=65535, description="Kafka SASL_SSL listener (SCRAM-SHA-512, ACLs)"
    )
    connect_port: int = Field(default=18083, ge=1, le=65535, description="Kafka Connect REST")
    postgres_port: int = Field(
        default=15432, ge=1, le=65535, description="PostgreSQL (databases app and warehouse)"
    )
    prometheus_port: int = Field(
        default=19090, ge=1, le=65535, description="Prometheus web and API"
    )
    java: str = Field(default="java", description="Java 17+ executable")
    maven: str = Field(default="mvn", description="Maven executable")
    maven_repo: Path | None = Field(
        default=None, description="Maven local repository (default ~/.m2/repository)"
    )
    postgres_bin_dir: Path = Field(
        default=Path("/usr/lib/postgresql/15/bin"), description="PostgreSQL server binaries"
    )
    kafka_heap: str = Field(default="768m", description="broker JVM -Xmx")
    connect_heap: str = Field(default="768m", description="Connect worker JVM -Xmx")
    install_packages: bool = Field(
        default=True, description="apt-get install PostgreSQL/Prometheus when missing (as root)"
    )
    ready_timeout_s: float = Field(
        default=240.0, gt=0, description="how long `stack up` waits for each component"
    )

    @property
    def jars_dir(self) -> Path:
        """Where the Maven-fetched jars live (shared between stacks when set)."""
        return (self.lib_dir or self.state_dir / "lib").resolve()


class Settings(BaseSettings):
    """Every setting of every Headwater service."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        secrets_nested_delimiter=NESTED_DELIMITER,
        secrets_dir_missing="ok",
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    kafka: KafkaSettings = KafkaSettings()
    connect: ConnectSettings = ConnectSettings()
    source: DatabaseSettings = DatabaseSettings()
    warehouse: DatabaseSettings = DatabaseSettings()
    prometheus: PrometheusSettings = PrometheusSettings()
    cdc: CdcSettings = CdcSettings()
    processor: ProcessorSettings = ProcessorSettings()
    privacy: PrivacySettings = PrivacySettings()
    sink: SinkSettings = SinkSettings()
    kpis: KpiSettings = KpiSettings()
    facebook: FacebookSettings = FacebookSettings()
    google_ads: GoogleAdsSettings = GoogleAdsSettings()
    clevertap: CleverTapSettings = CleverTapSettings()
    poller: PollerSettings = PollerSettings()
    sandbox: SandboxSettings = SandboxSettings()
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
    stack: StackSettings = StackSettings()
    test_stack: Literal["native", "docker"] = Field(
        default="native", description="stack the integration tests start when none is given"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then ``.env``, then one file per secret (nested with ``__``)."""
        return (
            init_settings,
            env_settings,
            _HeadwaterDotEnv(settings_cls),
            NestedSecretsSettingsSource(file_secret_settings),
        )

    def secrets(self) -> list[str]:
        """Every secret value set, for the log scrubber."""
        return [value for value in _secret_values(self) if value]


class _HeadwaterDotEnv(DotEnvSettingsSource):
    """``.env`` in the working directory, its ``HEADWATER_*`` variables only: the same file
    may hold Docker Compose's own (``POSTGRES_PASSWORD``)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls, env_file=DOTENV_FILE, env_file_encoding="utf-8")

    def _read_env_files(self) -> Mapping[str, str | None]:
        return {  # the secrets folder is no field: load_settings hands it over
            name: value
            for name, value in super()._read_env_files().items()
            if name.upper().startswith(ENV_PREFIX) and name.upper() != SECRETS_DIR_VARIABLE
        }


def dotenv_variables(path: Path = Path(DOTENV_FILE)) -> dict[str, str]:
    """The ``HEADWATER_*`` variables of a ``.env`` file (none when there is no file)."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {
        name: value
        for name, value in dotenv_values(path).items()
        if value is not None and name.upper().startswith(ENV_PREFIX)
    }


def secret_variables(settings: Settings, sections: Iterable[str]) -> dict[str, str]:
    """The ``HEADWATER_<SECTION>__<FIELD>`` variables of the secrets set in ``sections``.

    How ``headwater run`` hands a service the secrets it needs, and only those. A section the
    tree does not hold (a source added outside Headwater, with settings of its own) has no
    secret here: its variables reach its service through the environment, as any other.
    """
    variables: dict[str, str] = {}
    for section in sections:
        if section not in type(settings).model_fields:
            continue
        model = getattr(settings, section)
        for name, field in type(model).model_fields.items():
            value = getattr(model, name)
            if "SecretStr" not in str(field.annotation) or value is None:
                continue
            variable = f"{ENV_PREFIX}{section}{NESTED_DELIMITER}{name}".upper()
            revealed = _revealed(value)
            variables[variable] = revealed if isinstance(revealed, str) else json.dumps(revealed)
    return variables


def _revealed(value: object) -> object:
    """The value with every SecretStr in it replaced by its secret (containers as JSON)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {str(key): _revealed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(item) for item in value]
    return value


def secret_variable_names(model: type[BaseModel] = Settings, prefix: str = ENV_PREFIX) -> set[str]:
    """Every environment variable that names a secret setting, and the secrets folder's."""
    names = {SECRETS_DIR_VARIABLE}
    for name, field in model.model_fields.items():
        variable = f"{prefix}{name}".upper()
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= secret_variable_names(annotation, f"{variable}{NESTED_DELIMITER}")
        elif "SecretStr" in str(annotation):
            names.add(variable)
    return names


def without_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without any secret setting (nor the secrets folder that could hold one)."""
    secret = secret_variable_names()
    return {key: value for key, value in environ.items() if key.upper() not in secret}


def _secret_values(model: BaseModel) -> Iterator[str]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            yield value.get_secret_value()
        elif isinstance(value, dict):
            yield from (v.get_secret_value() for v in value.values() if isinstance(v, SecretStr))
        elif isinstance(value, BaseModel):
            yield from _secret_values(value)


def known_variables(model: type[BaseModel] = Settings, prefix: str = ENV_PREFIX) -> set[str]:
    """Every environment variable name the settings tree accepts."""
    names = {SECRETS_DIR_VARIABLE}
    for name, field in model.model_fields.items():
        variable = f"{prefix}{name}".upper()
        names.add(variable)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= known_variables(annotation, f"{variable}{NESTED_DELIMITER}")
    return names


#: variables the README or the compose file once used, and what took their place
_RENAMED = {
    f"{ENV_PREFIX}PG_PASSWORD": "compose's PostgreSQL password is POSTGRES_PASSWORD now",
}


def _check_unknown(environ: Mapping[str, str]) -> None:
    known = known_variables()
    for variable in sorted(environ):
        upper = variable.upper()
        if upper.startswith(ENV_PREFIX) and upper not in known:
            names = {name.removeprefix(ENV_PREFIX): name for name in known}
            close = difflib.get_close_matches(upper.removeprefix(ENV_PREFIX), names, 1, 0.8)
            hint = _RENAMED.get(upper) or (
                f"did you mean {names[close[0]]}?"
                if close
                else f"the {ENV_PREFIX} prefix is reserved for Headwater's settings"
            )
            raise ConfigurationError(variable, f"is not a Headwater setting ({hint})")


def _variable_for(location: tuple[int | str, ...]) -> tuple[str, str]:
    """The variable of an error's location (its field path), and where in its value the error
    lies: a list's item or a map's key (``item 2: ``, ``'USD': ``), or nothing."""
    path: list[str] = []
    model: Any = Settings
    for depth, part in enumerate(location):
        fields = getattr(model, "model_fields", {})
        if str(part) not in fields:
            inside = [f"item {p + 1}" if isinstance(p, int) else repr(p) for p in location[depth:]]
            break
        path.append(str(part))
        model = fields[str(part)].annotation
    else:
        inside = []
    variable = ENV_PREFIX + NESTED_DELIMITER.join(path).upper()
    return variable, "".join(f"{place}: " for place in inside)


def _undecodable(error: SettingsError) -> ConfigurationError:
    """A section given whole (``HEADWATER_KAFKA='{...}'``) that is not JSON, by its variable."""
    section = re.search(r'field "(\w+)"', str(error))
    variable = ENV_PREFIX + section.group(1).upper() if section else "settings"
    return ConfigurationError(variable, "is not a JSON object (or set its fields one by one)")


def load_settings() -> Settings:
    """Read the settings, turning any problem into one ConfigurationError naming the setting."""
    visible = dotenv_variables() | dict(os.environ)
    _check_unknown(visible)
    try:
        return Settings(_secrets_dir=visible.get(SECRETS_DIR_VARIABLE))
    except SettingsError as error:  # a value the sources could not even decode
        raise _undecodable(error) from None
    except ValidationError as error:
        first = error.errors()[0]
        variable, inside = _variable_for(tuple(first["loc"]))
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(variable, inside + message) from None
