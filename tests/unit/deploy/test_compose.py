"""docker-compose.yml: valid by the compose specification, and the same system as the native
stack and ``headwater run``: images and versions, ports, databases, commands, settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from connectors.debezium_postgres import password_file
from connectors.secrets import worker_properties
from control.pipeline import DEFAULT_BASE_PORT, HEADWATER, pipeline_children
from control.stack import postgres as native_postgres
from control.stack.prometheus import RULES_DIR
from headwater.settings import (
    CdcSettings,
    Settings,
    StackSettings,
    known_variables,
    secret_variable_names,
)
from headwater.topology import API_SOURCES, port_offsets, secret_sections
from sandbox import apis
from sandbox.clevertap import SANDBOX_ACCOUNT_ID, SANDBOX_PASSCODE
from tests.integration import docker_stack

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
SANDBOX_ENV = ROOT / "deploy" / "compose" / "sandbox.env"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.docker.yml"
MAVEN = ROOT / "control" / "stack" / "maven"
POM = "{http://maven.apache.org/POM/4.0.0}"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def interpolated(value: str) -> str:
    """A compose value with ``${VAR:-default}`` replaced by its default (``$$`` by ``$``)."""
    while re.search(r"\$\{(\w+):-([^${}]*)\}", value):
        value = re.sub(r"\$\{(\w+):-([^${}]*)\}", r"\2", value)
    return value.replace("$$", "$")


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    return {
        key: None if v is None else interpolated(str(v))
        for key, v in service.get("environment", {}).items()
    }


def headwater_services(services: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, service in services.items():
        if str(service.get("image", "")).startswith("headwater:"):
            yield name, service


def pom_version(name: str, tag: str) -> str:
    root = ET.parse(MAVEN / f"{name}.pom.xml").getroot()  # noqa: S314 - our own file
    found = root.find(f".//{POM}{tag}")
    assert found is not None
    assert found.text
    return found.text


def test_the_compose_specification_accepts_it() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    assert checker.exists(), "check-jsonschema is missing: `make install` installs it (test extra)"
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_validator_refuses_what_compose_refuses(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  a:\n    image: x\n    restart_policy: always\n")
    checker = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "restart_policy" in done.stdout + done.stderr


def test_the_infrastructure_runs_the_native_stacks_versions(services: dict[str, Any]) -> None:
    assert services["kafka"]["image"] == f"apache/kafka:{pom_version('kafka', 'kafka.version')}"
    dependency = ET.parse(MAVEN / "debezium.pom.xml").getroot().find(f".//{POM}dependency")  # noqa: S314
    assert dependency is not None
    debezium = dependency.findtext(f"{POM}version") or ""
    assert services["connect"]["image"] == f"quay.io/debezium/connect:{debezium}"
    major = StackSettings().postgres_bin_dir.parent.name
    assert services["postgres"]["image"] == f"postgres:{major}"
    # the Docker test stack (tests/integration/docker_stack.py) mirrors the same images
    for service, image in (
        ("kafka", docker_stack.KAFKA_IMAGE),
        ("connect", docker_stack.CONNECT_IMAGE),
        ("postgres", docker_stack.POSTGRES_IMAGE),
        ("prometheus", docker_stack.PROMETHEUS_IMAGE),
    ):
        assert services[service]["image"] == image, service


def test_the_infrastructure_listens_on_the_native_stacks_ports(services: dict[str, Any]) -> None:
    stack = StackSettings()
    expected = {
        "kafka": stack.kafka_port,
        "connect": stack.connect_port,
        "postgres": stack.postgres_port,
        "prometheus": stack.prometheus_port,
    }
    for service, port in expected.items():
        published = [str(p).split(":") for p in services[service]["ports"]]
        assert [stack.host, str(port)] in [p[:2] for p in published], service


def test_postgres_is_the_native_servers_settings_and_databases(services: dict[str, Any]) -> None:
    command = services["postgres"]["command"]
    settings = dict(arg.split("=", 1) for arg in command if "=" in arg)
    for key in ("wal_level", "max_wal_senders", "max_replication_slots", "max_connections"):
        assert settings[key] == native_postgres.SERVER_SETTINGS[key], key
    init = (ROOT / "deploy" / "postgres" / "init" / "01-databases.sql").read_text()
    assert tuple(re.findall(r"^CREATE DATABASE (\w+);", init, re.M)) == native_postgres.DATABASES


def test_prometheus_reads_the_native_rules_and_grafana_its_provisioning(
    services: dict[str, Any],
) -> None:
    mounts = [str(volume).split(":")[:2] for volume in services["prometheus"]["volumes"]]
    assert ["./deploy/prometheus", "/etc/prometheus"] in mounts
    assert RULES_DIR == ROOT / "deploy" / "prometheus" / "rules"
    config = yaml.safe_load(PROMETHEUS.read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    grafana = [str(volume).split(":")[:2] for volume in services["grafana"]["volumes"]]
    assert ["./deploy/grafana/provisioning", "/etc/grafana/provisioning"] in grafana
    assert ["./deploy/grafana/dashboards", "/var/lib/grafana/dashboards"] in grafana
    source = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert source["url"] == "http://prometheus:9090"


def sandbox_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings of the compose services in the sandbox: every service configured."""
    for key, value in env_file(SANDBOX_ENV).items():
        if key.startswith("HEADWATER_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("HEADWATER_WAREHOUSE__DSN", "postgresql://postgres@postgres/warehouse")
    monkeypatch.setenv("HEADWATER_SOURCE__DSN", "postgresql://postgres@postgres/app")
    monkeypatch.setenv("HEADWATER_CDC__PASSWORD", "x")
    monkeypatch.setenv("HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY", "k" * 32)
    return Settings()


def test_every_service_of_headwater_run_is_a_compose_service_with_its_command_and_port(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    children = pipeline_children(sandbox_settings(monkeypatch))
    assert {child.name for child in children} == set(port_offsets())
    for child in children:
        service = services[child.name]
        assert tuple(service["command"]) == child.argv[len(HEADWATER) :], child.name
        assert environment(service)["HEADWATER_HTTP__PORT"] == str(child.port), child.name
        assert service["restart"] == "unless-stopped"
        assert "/healthz" in " ".join(service["healthcheck"]["test"]), child.name
        assert service["depends_on"], child.name
    assert {name for name, _ in headwater_services(services)} >= set(port_offsets())


def test_ports_follow_the_topology(services: dict[str, Any]) -> None:
    for name, offset in port_offsets().items():
        assert environment(services[name])["HEADWATER_HTTP__PORT"] == str(
            DEFAULT_BASE_PORT + offset
        )
    config = yaml.safe_load(PROMETHEUS.read_text())
    (headwater,) = [job for job in config["scrape_configs"] if job["job_name"] == "headwater"]
    scraped = {sd["names"][0]: sd["port"] for sd in headwater["dns_sd_configs"]}
    assert scraped == {name: DEFAULT_BASE_PORT + offset for name, offset in port_offsets().items()}


def test_pollers_run_only_in_their_sources_profile(services: dict[str, Any]) -> None:
    for source in API_SOURCES:
        assert services[source.service]["profiles"] == [source.name]
    enabled = env_file(SANDBOX_ENV)["COMPOSE_PROFILES"].split(",")
    every = {profile for service in services.values() for profile in service.get("profiles", [])}
    assert set(enabled) == every


def test_every_headwater_variable_is_a_setting(services: dict[str, Any]) -> None:
    known = known_variables()
    variables = {key for service in services.values() for key in environment(service)}
    variables |= set(env_file(SANDBOX_ENV))
    unknown = {v for v in variables if v.startswith("HEADWATER_") and v not in known}
    assert not unknown, f"not Headwater settings: {sorted(unknown)}"


def test_a_service_is_given_only_the_secrets_headwater_run_gives_it(
    services: dict[str, Any],
) -> None:
    secret = secret_variable_names()
    sections = secret_sections()
    for name, allowed_sections in sections.items():
        given = {key for key in environment(services[name]) if key in secret}
        allowed = {
            v for v in secret for s in allowed_sections if v.startswith(f"HEADWATER_{s.upper()}__")
        }
        assert given <= allowed, f"{name} is given {sorted(given - allowed)}"


def test_the_settings_load_and_point_at_the_compose_network(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, service in headwater_services(services):
        with monkeypatch.context() as patched:
            # only what compose gives the container (not this process's HEADWATER_* settings)
            for key in [key for key in os.environ if key.upper().startswith("HEADWATER_")]:
                patched.delenv(key)
            patched.chdir(tmp_path)  # and no .env of the checkout
            for key, value in environment(service).items():
                if value is not None:
                    patched.setenv(key, value)
            settings = Settings()
        if settings.warehouse.dsn is not None:
            dsn = urlsplit(settings.warehouse.dsn.get_secret_value())
            assert (dsn.hostname, dsn.port, dsn.path) == ("postgres", 5432, "/warehouse"), name
        if settings.source.dsn is not None:
            dsn = urlsplit(settings.source.dsn.get_secret_value())
            assert (dsn.hostname, dsn.port, dsn.path) == ("postgres", 5432, "/app"), name
        if "HEADWATER_KAFKA__BOOTSTRAP_SERVERS" in environment(service):
            assert settings.kafka.bootstrap_servers == "kafka:29092", name


def test_connect_reads_the_connector_password_where_connectors_apply_names_it(
    services: dict[str, Any],
) -> None:
    connect = services["connect"]
    apply = environment(services["connectors-apply"])
    folder = str(apply["HEADWATER_CONNECT__SECRETS_DIR"])
    assert apply["HEADWATER_CONNECT__WRITE_SECRETS"] == "false"
    assert connect["tmpfs"] == [folder]
    assert f"{folder}/{password_file(CdcSettings())}" in connect["entrypoint"][-1]
    worker = {
        "CONNECT_" + key.upper().replace(".", "_"): value
        for key, value in worker_properties(Path(folder)).items()
    }
    assert worker.items() <= environment(connect).items()
    assert environment(connect)["CDC_PASSWORD"] == apply["HEADWATER_CDC__PASSWORD"]


def test_setup_runs_what_headwater_run_runs_first(services: dict[str, Any]) -> None:
    assert services["source-setup"]["command"] == ["source", "setup"]
    assert services["connectors-apply"]["command"] == ["connectors", "apply"]
    assert services["connectors-apply"]["depends_on"]["source-setup"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["warehouse-setup"]["command"][:2] == ["warehouse", "setup"]
    for sink in ("sink-cdc", "sink-ad-performance", "sink-app-events", "sink-kpis"):
        condition = services[sink]["depends_on"]["warehouse-setup"]["condition"]
        assert condition == "service_completed_successfully"


def test_the_sandbox_profile_points_the_pollers_at_the_stand_ins() -> None:
    env = env_file(SANDBOX_ENV)
    assert env["HEADWATER_FACEBOOK__ACCESS_TOKEN"] == apis.FACEBOOK_TOKEN
    assert env["HEADWATER_FACEBOOK__AD_ACCOUNT_IDS"] == str(apis.FACEBOOK_ACCOUNTS).replace(
        "'", '"'
    ).replace(" ", "")
    assert env["HEADWATER_GOOGLE_ADS__CUSTOMER_IDS"] == str(apis.GOOGLE_CUSTOMERS).replace(
        "'", '"'
    ).replace(" ", "")
    for key, value in apis.GOOGLE_CREDENTIALS.items():
        assert env[f"HEADWATER_GOOGLE_ADS__{key}"] == value
    assert env["HEADWATER_CLEVERTAP__ACCOUNT_ID"] == SANDBOX_ACCOUNT_ID
    assert env["HEADWATER_CLEVERTAP__PASSCODE"] == SANDBOX_PASSCODE
    assert env["HEADWATER_CLEVERTAP__TIMEZONE"] == apis.CLEVERTAP_TIMEZONE
    sandbox = Settings().sandbox
    ports = {sandbox.facebook_port, sandbox.google_ads_port, sandbox.clevertap_port}
    urls = {urlsplit(env[k]).port for k in env if k.endswith("_URL")}
    assert urls == ports
