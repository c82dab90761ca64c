"""``headwater run`` gives each child the secrets of its declared settings sections only."""

from __future__ import annotations

from pydantic import SecretStr

from control.pipeline import (
    pipeline_children,
    setup_steps,
    shared_environment,
    step_environment,
)
from headwater.settings import (
    CdcSettings,
    CleverTapSettings,
    DatabaseSettings,
    FacebookSettings,
    GoogleAdsSettings,
    KafkaSettings,
    PrivacySettings,
    ProcessorSettings,
    Settings,
    secret_variable_names,
)

#: Each secret setting and a value found nowhere else.
MARKERS = {
    "HEADWATER_KAFKA__SASL_PASSWORD": "SENTINEL-kafka",
    "HEADWATER_KAFKA__SSL_KEY_PASSWORD": "SENTINEL-kafka-key",
    "HEADWATER_KAFKA__CLIENT_CONFIG": '{"ssl.keystore.password": "SENTINEL-kafka-keystore"}',
    "HEADWATER_SOURCE__DSN": "postgresql://admin:SENTINEL-source@db:5432/app",
    "HEADWATER_WAREHOUSE__DSN": "postgresql://loader:SENTINEL-warehouse@db:5432/wh",
    "HEADWATER_CDC__PASSWORD": "SENTINEL-cdc",
    "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": "SENTINEL-pseudonymisation-key-0123456789",
    "HEADWATER_FACEBOOK__ACCESS_TOKEN": "SENTINEL-facebook",
    "HEADWATER_GOOGLE_ADS__DEVELOPER_TOKEN": "SENTINEL-google-developer",
    "HEADWATER_GOOGLE_ADS__CLIENT_SECRET": "SENTINEL-google-client",
    "HEADWATER_GOOGLE_ADS__REFRESH_TOKEN": "SENTINEL-google-refresh",
    "HEADWATER_CLEVERTAP__PASSCODE": "SENTINEL-clevertap",
    # for `headwater forget` only: no service is given it
    "HEADWATER_PRIVACY__RETIRED_KEYS": '{"k0": "SENTINEL-retired-pseudonymisation-key-01"}',
}
#: The Kafka secrets every service that talks to Kafka is given.
KAFKA = {
    "HEADWATER_KAFKA__SASL_PASSWORD",
    "HEADWATER_KAFKA__SSL_KEY_PASSWORD",
    "HEADWATER_KAFKA__CLIENT_CONFIG",
}
#: The secrets each service may see, and no others.
EXPECTED = {
    "processor": KAFKA | {"HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY"},
    "sink-cdc": KAFKA
    | {
        "HEADWATER_WAREHOUSE__DSN",
        "HEADWATER_SOURCE__DSN",
        "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY",  # hashed columns completed from the source
    },
    "sink-ad-performance": KAFKA | {"HEADWATER_WAREHOUSE__DSN"},
    "sink-app-events": KAFKA | {"HEADWATER_WAREHOUSE__DSN"},
    "sink-kpis": KAFKA | {"HEADWATER_WAREHOUSE__DSN"},
    "poll-facebook_ads": KAFKA | {"HEADWATER_FACEBOOK__ACCESS_TOKEN"},
    "poll-google_ads": KAFKA
    | {
        "HEADWATER_GOOGLE_ADS__DEVELOPER_TOKEN",
        "HEADWATER_GOOGLE_ADS__CLIENT_SECRET",
        "HEADWATER_GOOGLE_ADS__REFRESH_TOKEN",
    },
    "poll-clevertap": KAFKA | {"HEADWATER_CLEVERTAP__PASSCODE"},
    "cdc-monitor": {"HEADWATER_SOURCE__DSN"},
}


def _settings() -> Settings:
    def secret(variable: str) -> SecretStr:
        return SecretStr(MARKERS[variable])

    return Settings(
        kafka=KafkaSettings(
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username="headwater",
            sasl_password=secret("HEADWATER_KAFKA__SASL_PASSWORD"),
            ssl_key_password=secret("HEADWATER_KAFKA__SSL_KEY_PASSWORD"),
            client_config={"ssl.keystore.password": SecretStr("SENTINEL-kafka-keystore")},
        ),
        source=DatabaseSettings(dsn=secret("HEADWATER_SOURCE__DSN")),
        warehouse=DatabaseSettings(dsn=secret("HEADWATER_WAREHOUSE__DSN")),
        cdc=CdcSettings(password=secret("HEADWATER_CDC__PASSWORD")),
        processor=ProcessorSettings(
            pseudonymization_key=secret("HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY")
        ),
        facebook=FacebookSettings(
            access_token=secret("HEADWATER_FACEBOOK__ACCESS_TOKEN"), ad_account_ids=["1"]
        ),
        google_ads=GoogleAdsSettings(
            developer_token=secret("HEADWATER_GOOGLE_ADS__DEVELOPER_TOKEN"),
            client_id="client",
            client_secret=secret("HEADWATER_GOOGLE_ADS__CLIENT_SECRET"),
            refresh_token=secret("HEADWATER_GOOGLE_ADS__REFRESH_TOKEN"),
            customer_ids=["1234567890"],
        ),
        clevertap=CleverTapSettings(
            account_id="ACC", passcode=secret("HEADWATER_CLEVERTAP__PASSCODE")
        ),
        privacy=PrivacySettings(
            retired_keys={"k0": SecretStr("SENTINEL-retired-pseudonymisation-key-01")}
        ),
    )


def test_the_markers_cover_every_secret_setting() -> None:
    assert set(MARKERS) | {"HEADWATER_SECRETS_DIR"} == secret_variable_names()


def test_each_child_gets_exactly_the_secrets_of_its_sections() -> None:
    children = pipeline_children(_settings())
    assert {child.name for child in children} == set(EXPECTED)
    for child in children:
        given = {k for k in child.env if k in MARKERS}
        assert given == EXPECTED[child.name], child.name
        assert all(child.env[k] == MARKERS[k] for k in given)
        assert not any(marker in repr(child) for marker in MARKERS.values())


def test_the_shared_environment_holds_no_secret_and_no_secrets_folder() -> None:
    environ = MARKERS | {
        "HEADWATER_SECRETS_DIR": "/run/secrets",
        "headwater_facebook__access_token": "SENTINEL-lower-case",
        "HEADWATER_KAFKA__BOOTSTRAP_SERVERS": "kafka:9092",
        "PATH": "/usr/bin",
    }
    assert shared_environment(environ) == {
        "HEADWATER_KAFKA__BOOTSTRAP_SERVERS": "kafka:9092",
        "PATH": "/usr/bin",
    }


def test_the_setup_steps_get_the_source_and_cdc_secrets_only() -> None:
    settings = _settings()
    steps = setup_steps(settings)
    assert [step.name for step in steps] == ["source-setup", "connectors-apply"]
    for step in steps:
        environment = step_environment(settings, step, MARKERS | {"PATH": "/usr/bin"})
        assert {k for k in environment if k in MARKERS} == {
            "HEADWATER_SOURCE__DSN",
            "HEADWATER_CDC__PASSWORD",
        }
        assert environment["PATH"] == "/usr/bin"
