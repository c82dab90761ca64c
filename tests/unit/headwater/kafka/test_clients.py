from pydantic import SecretStr

from headwater.kafka.clients import base_config
from headwater.settings import KafkaSettings


def test_security_settings_reach_the_client_config() -> None:
    settings = KafkaSettings(
        bootstrap_servers="b:9096",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="loader",
        sasl_password=SecretStr("pw"),
    )
    config = base_config(settings)
    assert config["bootstrap.servers"] == "b:9096"
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.password"] == "pw"


def test_plaintext_config_has_no_sasl_keys() -> None:
    assert not [key for key in base_config(KafkaSettings()) if key.startswith("sasl")]
