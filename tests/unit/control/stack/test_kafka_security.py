"""The stack's broker and Connect worker configuration for the SASL_SSL listener."""

import stat
from pathlib import Path

from control.stack.kafka_users import stack_grants
from control.stack.launcher import Stack
from headwater.kafka.acls import CONNECT
from headwater.settings import Settings, StackSettings


def _stack(tmp_path: Path) -> Stack:
    stack = Stack(StackSettings(state_dir=tmp_path, kafka_tls_port=39094), say=lambda _line: None)
    stack.tls.ensure()
    (stack.kafka.data).mkdir(parents=True)
    (stack.kafka.data / "meta.properties").write_text("formatted")  # no storage tool here
    return stack


def _properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def test_broker_serves_sasl_ssl_with_the_stack_certificate_and_acls(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    stack.kafka.prepare()
    config = _properties(stack.kafka.config)
    assert "SASL_SSL://127.0.0.1:39094" in config["listeners"]
    assert "SASL_SSL://127.0.0.1:39094" in config["advertised.listeners"]
    assert config["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert config["listener.name.sasl_ssl.ssl.keystore.type"] == "PEM"
    assert config["allow.everyone.if.no.acl.found"] == "false"
    assert config["authorizer.class.name"].endswith("StandardAuthorizer")
    keystore = Path(config["listener.name.sasl_ssl.ssl.keystore.location"])
    assert "PRIVATE KEY" in keystore.read_text()
    assert "CERTIFICATE" in keystore.read_text()
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600


def test_connect_and_its_clients_join_over_sasl_ssl_as_connect(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    stack.connect.prepare()
    config = _properties(stack.connect.config)
    assert config["bootstrap.servers"] == "127.0.0.1:39094"
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert config[f"{prefix}security.protocol"] == "SASL_SSL"
        assert config[f"{prefix}sasl.mechanism"] == "SCRAM-SHA-512"
        assert 'username="connect"' in config[f"{prefix}sasl.jaas.config"]
        assert config[f"{prefix}ssl.truststore.location"] == str(stack.tls.ca_cert)
    assert stat.S_IMODE(stack.connect.config.stat().st_mode) == 0o600


def test_principal_passwords_are_kept_private_and_stable(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    first = stack.secure_environment("poller")
    assert first["HEADWATER_KAFKA__SASL_USERNAME"] == "poller"
    assert first["HEADWATER_KAFKA__BOOTSTRAP_SERVERS"] == "127.0.0.1:39094"
    assert first["HEADWATER_KAFKA__SSL_CA_LOCATION"] == str(stack.tls.ca_cert)
    again = Stack(StackSettings(state_dir=tmp_path), say=lambda _line: None)
    assert (
        again.secure_environment("poller")["HEADWATER_KAFKA__SASL_PASSWORD"]
        == (first["HEADWATER_KAFKA__SASL_PASSWORD"])
    )
    assert stat.S_IMODE(stack.kafka.users.path.stat().st_mode) == 0o600


def test_plain_stack_environment_is_explicitly_plaintext(tmp_path: Path) -> None:
    environment = _stack(tmp_path).environment()
    assert environment["HEADWATER_KAFKA__SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert "HEADWATER_KAFKA__SASL_PASSWORD" not in environment


def test_stack_connect_may_write_any_connector_prefix_but_not_the_pipeline() -> None:
    connect = stack_grants(Settings())[CONNECT]
    allowed = {(g.name, g.pattern) for g in connect if g.permission == "ALLOW"}
    denied = {g.name for g in connect if g.permission == "DENY"}
    assert ("*", "literal") in allowed  # any test's or demo's topic.prefix
    assert {"raw.", "norm.", "metrics.", "dlq.", "headwater.poller_state"} <= denied
    assert all("WRITE" in g.operations for g in connect if g.permission == "DENY")


def test_a_stack_configured_before_the_tls_listener_is_outdated(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    stack.kafka.config.parent.mkdir(parents=True, exist_ok=True)
    stack.kafka.config.write_text("listeners=PLAINTEXT://127.0.0.1:19092\n")
    stack.connect.config.parent.mkdir(parents=True, exist_ok=True)
    stack.connect.config.write_text("bootstrap.servers=127.0.0.1:19092\n")
    assert stack.kafka.outdated()
    assert stack.connect.outdated()
    stack.kafka.prepare()
    stack.connect.prepare()
    assert not stack.kafka.outdated()
    assert not stack.connect.outdated()
