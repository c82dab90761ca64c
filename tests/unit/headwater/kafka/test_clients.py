import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from headwater.kafka.clients import base_config
from headwater.kafka.security import explain_refusal
from headwater.settings import KafkaSettings


def test_security_settings_reach_the_client_config(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("PEM")
    settings = KafkaSettings(
        bootstrap_servers="b:9096",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="loader",
        sasl_password=SecretStr("pw"),
        ssl_ca_location=ca,
        client_config={"socket.keepalive.enable": SecretStr("true")},
    )
    config = base_config(settings)
    assert config["bootstrap.servers"] == "b:9096"
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["sasl.username"] == "loader"
    assert config["sasl.password"] == "pw"
    assert config["ssl.ca.location"] == str(ca)
    assert config["socket.keepalive.enable"] == "true"
    assert "ssl.endpoint.identification.algorithm" not in config  # librdkafka's https stays


def test_mutual_tls_files_reach_the_client_config(tmp_path: Path) -> None:
    for name in ("cert.pem", "key.pem"):
        (tmp_path / name).write_text("PEM")
    settings = KafkaSettings(
        ssl_certificate_location=tmp_path / "cert.pem",
        ssl_key_location=tmp_path / "key.pem",
        ssl_key_password=SecretStr("kp"),
    )
    config = base_config(settings)
    assert config["security.protocol"] == "SSL"
    assert config["ssl.certificate.location"] == str(tmp_path / "cert.pem")
    assert config["ssl.key.location"] == str(tmp_path / "key.pem")
    assert config["ssl.key.password"] == "kp"


def test_default_is_encrypted_and_has_no_sasl_keys() -> None:
    config = base_config(KafkaSettings())
    assert config["security.protocol"] == "SSL"
    assert not [key for key in config if key.startswith("sasl")]


def test_plaintext_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    settings = KafkaSettings(bootstrap_servers="warn-once:9092", security_protocol="PLAINTEXT")
    with caplog.at_level(logging.WARNING):
        base_config(settings)
        base_config(settings)
    warnings = [r for r in caplog.records if "not encrypted" in r.getMessage()]
    assert len(warnings) == 1


def test_encrypted_traffic_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        base_config(KafkaSettings(bootstrap_servers="quiet:9093"))
    assert not [r for r in caplog.records if "not encrypted" in r.getMessage()]


_SASL = KafkaSettings(
    security_protocol="SASL_SSL",
    sasl_mechanism="SCRAM-SHA-512",
    sasl_username="poller",
    sasl_password=SecretStr("pw"),
)


@pytest.mark.parametrize(
    ("settings", "lines", "expected"),
    [
        (
            _SASL,
            ["b:1/bootstrap: SASL authentication error: Authentication failed during "
             "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"],
            "authentication failed for user 'poller'",
        ),
        (
            _SASL,
            ["[thrd:ssl://b:1/bootstrap]: b:1/bootstrap: SSL handshake failed: "
             "error:0A000086:SSL routines::certificate verify failed"],
            "certificate verify failed",
        ),
        (
            KafkaSettings(security_protocol="PLAINTEXT"),
            ["b:1/bootstrap: Disconnected: connection closed by peer: receive 0 after POLLIN"],
            "the broker closed the connection: TLS expected?",
        ),
        (
            KafkaSettings(),
            ["b:1/bootstrap: SSL handshake failed: error:0A00010B:SSL routines::wrong version"
             " number"],
            "PLAINTEXT listener?",
        ),
    ],
)  # fmt: skip
def test_refusals_are_named(settings: KafkaSettings, lines: list[str], expected: str) -> None:
    explained = explain_refusal(settings, lines)
    assert explained is not None
    assert expected in explained


def test_nothing_seen_explains_nothing() -> None:
    assert explain_refusal(KafkaSettings(), []) is None
