"""The Faust app takes Kafka's security settings: SASL and TLS (verified) from KafkaSettings."""

import ssl
from pathlib import Path

import faust
from pydantic import SecretStr

from control.stack.tls import StackTls
from headwater.settings import KafkaSettings
from stream_processors.app import broker_credentials


def test_sasl_ssl_gives_scram_credentials_with_a_verifying_context(tmp_path: Path) -> None:
    tls = StackTls(tmp_path)
    tls.ensure()
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="processor",
        sasl_password=SecretStr("pw"),
        ssl_ca_location=tls.ca_cert,
    )
    credentials = broker_credentials(kafka)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "processor"
    assert credentials.password == "pw"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_SSL"
    context = credentials.ssl_context
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname


def test_ssl_with_a_client_certificate_gives_ssl_credentials(tmp_path: Path) -> None:
    tls = StackTls(tmp_path)
    tls.ensure()
    kafka = KafkaSettings(
        ssl_ca_location=tls.ca_cert,
        ssl_certificate_location=tls.server_cert,
        ssl_key_location=tls.server_key,
    )
    credentials = broker_credentials(kafka)
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials.context.check_hostname


def test_plaintext_gives_no_credentials() -> None:
    assert broker_credentials(KafkaSettings(security_protocol="PLAINTEXT")) is None
