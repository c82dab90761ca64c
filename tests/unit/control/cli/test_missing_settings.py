"""What a command needs is reported before it contacts anything: with Kafka, Connect and the
databases unreachable, the refusal is the settings' one line (exit 2), never a Kafka or
HTTP error after a wait."""

import subprocess
import time

import pytest
from pydantic import SecretStr

from control.pipeline import pipeline_children
from headwater.errors import ConfigurationError
from headwater.needs import Need, missing, value_of
from headwater.settings import (
    CleverTapSettings,
    DatabaseSettings,
    FacebookSettings,
    GoogleAdsSettings,
    Settings,
    known_variables,
)
from headwater.topology import CONNECTOR_NEEDS, port_offsets, service_needs
from tests.support.services import headwater_with

#: nothing listens there: reaching out would fail with a connection error, not exit 2
UNREACHABLE = {
    "HEADWATER_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1",
    "HEADWATER_KAFKA__SECURITY_PROTOCOL": "PLAINTEXT",
    "HEADWATER_CONNECT__URL": "http://127.0.0.1:1",
    "HEADWATER_HTTP__PORT": "0",
}
DSN = "postgresql://u:p@127.0.0.1:1/db"


def _refused(args: tuple[str, ...], env: dict[str, str]) -> str:
    started = time.monotonic()
    done: subprocess.CompletedProcess[str] = headwater_with(
        *args, env=UNREACHABLE | env, timeout=120
    )
    print(f"headwater {' '.join(args)}: {time.monotonic() - started:.1f}s")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr  # nothing logged: nothing was contacted
    return done.stderr.strip()


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("sink", "cdc"), {}, "HEADWATER_WAREHOUSE__DSN: not set: sink-cdc needs it"),
        (("sink", "ad-performance"), {"HEADWATER_SOURCE__DSN": DSN}, "HEADWATER_WAREHOUSE__DSN:"),
        (("connectors", "monitor"), {}, "HEADWATER_SOURCE__DSN: not set"),
        (
            ("poll", "facebook_ads"),
            {},
            "HEADWATER_FACEBOOK__ACCESS_TOKEN, HEADWATER_FACEBOOK__AD_ACCOUNT_IDS: not set",
        ),
        (
            ("poll", "facebook_ads", "--once"),
            {"HEADWATER_FACEBOOK__ACCESS_TOKEN": "token"},
            "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS: not set",
        ),
        (
            ("poll", "google_ads"),
            {
                "HEADWATER_GOOGLE_ADS__DEVELOPER_TOKEN": "dev",
                "HEADWATER_GOOGLE_ADS__CUSTOMER_IDS": "1",
            },
            "HEADWATER_GOOGLE_ADS__CLIENT_ID, HEADWATER_GOOGLE_ADS__CLIENT_SECRET, "
            "HEADWATER_GOOGLE_ADS__REFRESH_TOKEN: not set",
        ),
        (
            ("poll", "clevertap"),
            {"HEADWATER_CLEVERTAP__ACCOUNT_ID": "acc"},
            "HEADWATER_CLEVERTAP__PASSCODE: not set",
        ),
        (
            ("backfill", "clevertap", "--since", "2026-01-01", "--until", "2026-01-02"),
            {},
            "HEADWATER_CLEVERTAP__ACCOUNT_ID, HEADWATER_CLEVERTAP__PASSCODE: not set",
        ),
        (
            ("process",),
            {"HEADWATER_CLEVERTAP__ACCOUNT_ID": "acc"},
            "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY: not set",
        ),
        (
            ("connectors", "apply"),
            {"HEADWATER_SOURCE__DSN": DSN},
            "HEADWATER_CDC__PASSWORD, HEADWATER_CONNECT__SECRETS_DIR: not set",
        ),
    ],
)
def test_missing_settings_are_named_before_anything_is_contacted(
    args: tuple[str, ...], env: dict[str, str], expected: str
) -> None:
    line = _refused(args, env)
    assert line.startswith(f"headwater: {expected}"), line
    assert "Kafka" not in line


def test_every_declared_need_is_a_setting() -> None:
    needs = [need for service in port_offsets() for need in service_needs(service)]
    for need in [*needs, *CONNECTOR_NEEDS]:
        assert need.variable in known_variables(), need.variable
        value_of(Settings(), need.variable)  # resolves to a field of the settings


def test_a_conditional_need_counts_only_when_its_condition_holds() -> None:
    needs = [Need("HEADWATER_SOURCE__DSN", lambda s: s.clevertap.account_id is not None)]
    without = Settings(source=DatabaseSettings(), clevertap=CleverTapSettings())
    assert missing(without, needs) == []
    with_clevertap = Settings(
        source=DatabaseSettings(), clevertap=CleverTapSettings(account_id="a")
    )
    assert missing(with_clevertap, needs) == ["HEADWATER_SOURCE__DSN"]


def test_headwater_run_names_what_any_of_its_services_lacks_at_once() -> None:
    settings = Settings(
        warehouse=DatabaseSettings(),
        facebook=FacebookSettings(),
        clevertap=CleverTapSettings(),
        # configured enough to be started, but without its OAuth client
        google_ads=GoogleAdsSettings(
            developer_token=SecretStr("d"), refresh_token=SecretStr("r"), customer_ids=["1"]
        ),
    )
    with pytest.raises(ConfigurationError) as refused:
        pipeline_children(settings)
    assert refused.value.setting == (
        "HEADWATER_WAREHOUSE__DSN, HEADWATER_GOOGLE_ADS__CLIENT_ID, "
        "HEADWATER_GOOGLE_ADS__CLIENT_SECRET"
    )
