from pathlib import Path

import pytest

from headwater.errors import ConfigurationError, Terminal
from headwater.settings import Settings, known_variables, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No HEADWATER_* variable, and a working directory of the test's own (no .env)."""
    import os

    for name in [name for name in os.environ if name.upper().startswith("HEADWATER_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_nested_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_KAFKA__BOOTSTRAP_SERVERS", "a:9092, b:9093")
    monkeypatch.setenv("HEADWATER_STACK__KAFKA_PORT", "29092")
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "a:9092,b:9093"
    assert settings.stack.kafka_port == 29092


def test_secrets_are_hidden_and_read_from_the_secrets_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dsn = "postgresql://loader:s3cr3t-value@db:5432/warehouse"
    (tmp_path / "HEADWATER_WAREHOUSE__DSN").write_text(dsn)
    monkeypatch.setenv("HEADWATER_SECRETS_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.warehouse.dsn is not None
    assert settings.warehouse.dsn.get_secret_value() == dsn
    assert "s3cr3t-value" not in settings.model_dump_json()
    assert dsn in settings.secrets()


def test_environment_wins_over_secret_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "HEADWATER_SOURCE__DSN").write_text("postgresql://from-file@h/app")
    monkeypatch.setenv("HEADWATER_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("HEADWATER_SOURCE__DSN", "postgresql://from-env@h/app")
    dsn = load_settings().source.dsn
    assert dsn is not None
    assert dsn.get_secret_value() == "postgresql://from-env@h/app"


def test_unknown_setting_is_named_with_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_KAFKA__BOOTSTRAP_SERVER", "a:1")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == "HEADWATER_KAFKA__BOOTSTRAP_SERVER"
    assert "HEADWATER_KAFKA__BOOTSTRAP_SERVERS" in str(raised.value)
    assert isinstance(raised.value, Terminal)


@pytest.mark.parametrize("value", ["localhost", "a:b", "host:99999", "a:1,,b:2", ""])
def test_malformed_bootstrap_address_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HEADWATER_KAFKA__BOOTSTRAP_SERVERS", value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == "HEADWATER_KAFKA__BOOTSTRAP_SERVERS"
    assert "\n" not in str(raised.value)


def test_wrong_type_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_STACK__POSTGRES_PORT", "fifteen")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == "HEADWATER_STACK__POSTGRES_PORT"


def test_dsn_must_be_a_postgres_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_WAREHOUSE__DSN", "mysql://x@y/z")
    with pytest.raises(ConfigurationError, match="HEADWATER_WAREHOUSE__DSN"):
        load_settings()


def test_every_field_has_a_variable() -> None:
    variables = known_variables()
    assert "HEADWATER_CONNECT__URL" in variables
    assert "HEADWATER_TEST_STACK" in variables
    assert all(name.startswith("HEADWATER_") for name in variables)
    assert len(variables) > len(Settings.model_fields)


@pytest.mark.parametrize("source", ["FACEBOOK", "GOOGLE_ADS", "CLEVERTAP"])
def test_a_lookback_of_zero_days_is_refused(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    # With no lookback the rest of yesterday, pulled as a partial day, would never be pulled.
    monkeypatch.setenv(f"HEADWATER_{source}__LOOKBACK_DAYS", "0")
    with pytest.raises(ConfigurationError, match=f"HEADWATER_{source}__LOOKBACK_DAYS"):
        load_settings()


def test_kafka_is_encrypted_unless_plaintext_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().kafka.security_protocol == "SSL"
    monkeypatch.setenv("HEADWATER_KAFKA__SECURITY_PROTOCOL", "PLAINTEXT")
    assert not load_settings().kafka.encrypted


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT"])
def test_sasl_needs_mechanism_user_and_password(
    monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    monkeypatch.setenv("HEADWATER_KAFKA__SECURITY_PROTOCOL", protocol)
    monkeypatch.setenv("HEADWATER_KAFKA__SASL_USERNAME", "poller")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert "HEADWATER_KAFKA__SASL_MECHANISM" in message
    assert "HEADWATER_KAFKA__SASL_PASSWORD" in message
    assert "HEADWATER_KAFKA__SASL_USERNAME" not in message  # it is set


@pytest.mark.parametrize(
    "variable",
    [
        "HEADWATER_KAFKA__SSL_CA_LOCATION",
        "HEADWATER_KAFKA__SSL_CERTIFICATE_LOCATION",
        "HEADWATER_KAFKA__SSL_KEY_LOCATION",
    ],
)
def test_a_file_setting_must_name_a_readable_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    monkeypatch.setenv(variable, str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == variable
    assert "is not a readable file" in str(raised.value)


def test_mutual_tls_needs_certificate_and_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "cert.pem").write_text("PEM")
    monkeypatch.setenv("HEADWATER_KAFKA__SSL_CERTIFICATE_LOCATION", str(tmp_path / "cert.pem"))
    with pytest.raises(ConfigurationError, match="HEADWATER_KAFKA__SSL_KEY_LOCATION"):
        load_settings()


def test_client_config_passes_other_librdkafka_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_KAFKA__CLIENT_CONFIG", '{"socket.keepalive.enable": "true"}')
    config = load_settings().kafka.client_config
    assert {key: value.get_secret_value() for key, value in config.items()} == {
        "socket.keepalive.enable": "true"
    }


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("sasl.password", "is set by HEADWATER_KAFKA__SASL_PASSWORD"),
        ("security.protocol", "is set by HEADWATER_KAFKA__SECURITY_PROTOCOL"),
        ("ssl.ca.location", "is set by HEADWATER_KAFKA__SSL_CA_LOCATION"),
        ("ssl.endpoint.identification.algorithm", "the broker is always verified"),
        ("enable.ssl.certificate.verification", "the broker is always verified"),
    ],
)
def test_client_config_refuses_what_the_typed_settings_own(
    monkeypatch: pytest.MonkeyPatch, key: str, problem: str
) -> None:
    monkeypatch.setenv("HEADWATER_KAFKA__CLIENT_CONFIG", f'{{"{key}": "x"}}')
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == "HEADWATER_KAFKA__CLIENT_CONFIG"
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("act_1", ["act_1"]),
        ("act_1, act_2,", ["act_1", "act_2"]),
        ('["act_1","act_2"]', ["act_1", "act_2"]),
        ("", []),
        ("[]", []),
    ],
)
def test_a_list_takes_json_or_commas(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("HEADWATER_FACEBOOK__AD_ACCOUNT_IDS", value)
    monkeypatch.setenv("HEADWATER_KPIS__UNCOUNTED_STATUSES", value.replace("act_", "status "))
    settings = load_settings()
    assert settings.facebook.ad_account_ids == expected
    assert settings.kpis.uncounted_statuses == [
        item.replace("act_", "status ") for item in expected
    ]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("HEADWATER_FACEBOOK__AD_ACCOUNT_IDS", '["act_1"', "is not a JSON list"),
        ("HEADWATER_CDC__TABLES", '["public.a", ["public.b"]]', "item 2: Input should be a valid"),
        ("HEADWATER_CLEVERTAP__TIMEZONE", "Mars/Base", "'Mars/Base' is not an IANA timezone"),
        ("HEADWATER_KPIS__RATES", '{"USD": "abc"}', "USD: 'abc' is not a number"),
        ("HEADWATER_KPIS__RATES", '{"USD": "-1"}', "USD: '-1' is not a positive number"),
        ("HEADWATER_KPIS__RATES", "USD=0.92", "is not a JSON object"),
        ("HEADWATER_KPIS__CAMPAIGN_PREFIXES", '["fb"]', "is not a JSON object"),
        ("HEADWATER_KAFKA__CLIENT_CONFIG", "linger.ms=5", "is not a JSON object"),
        ("HEADWATER_PRIVACY__CDC_COLUMNS", '{"public.t.c": "encrypt"}', "'public.t.c': Input"),
        ("HEADWATER_KAFKA", "{not json", "is not a JSON object (or set its fields one by one)"),
        ("HEADWATER_CDC", '["public.a"]', "Input should be a valid dictionary"),
    ],
)
def test_a_malformed_value_is_one_error_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == variable
    assert says in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_known_timezone_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_CLEVERTAP__TIMEZONE", "Asia/Kolkata")
    assert load_settings().clevertap.timezone == "Asia/Kolkata"


@pytest.mark.parametrize(
    ("variable", "hint"),
    [
        ("HEADWATER_BUILD_NUMBER", "the HEADWATER_ prefix is reserved for Headwater's settings"),
        ("HEADWATER_PG_PASSWORD", "compose's PostgreSQL password is POSTGRES_PASSWORD now"),
    ],
)
def test_a_reserved_name_that_is_no_setting_gets_no_wrong_suggestion(
    monkeypatch: pytest.MonkeyPatch, variable: str, hint: str
) -> None:
    monkeypatch.setenv(variable, "x")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == variable
    assert raised.value.problem == f"is not a Headwater setting ({hint})"


def test_dotenv_is_read_below_the_environment_and_keeps_to_its_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "# compose and Headwater share the file\n"
        "POSTGRES_PASSWORD=compose-only\n"
        "HEADWATER_LOG__LEVEL=DEBUG\n"
        "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS=act_1,act_2\n"
    )
    settings = load_settings()
    assert settings.log.level == "DEBUG"
    assert settings.facebook.ad_account_ids == ["act_1", "act_2"]
    monkeypatch.setenv("HEADWATER_LOG__LEVEL", "ERROR")
    assert load_settings().log.level == "ERROR"


def test_a_dotenv_typo_is_named(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HEADWATER_LOG__LEVL=DEBUG\n")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "did you mean HEADWATER_LOG__LEVEL" in str(raised.value)


def test_dotenv_may_name_the_secrets_folder(tmp_path: Path) -> None:
    """As .env.example offers it (was: "HEADWATER_: Extra inputs are not permitted")."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "HEADWATER_WAREHOUSE__DSN").write_text("postgresql://w@h/warehouse")
    (tmp_path / ".env").write_text(f"HEADWATER_SECRETS_DIR={secrets}\n")
    dsn = load_settings().warehouse.dsn
    assert dsn is not None
    assert dsn.get_secret_value() == "postgresql://w@h/warehouse"


def test_a_section_in_dotenv_that_is_not_json_is_named(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HEADWATER_LOG=debug\n")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == "HEADWATER_LOG"
