"""``headwater check`` against the sandbox APIs and the real stack: one line per item."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from control.check import BOUND_S
from headwater.settings import Settings
from sandbox.apis import sandbox_apis
from sandbox.google_ads.server import GoogleAdsSandbox
from tests.support.cdc import cdc_pipeline
from tests.support.services import headwater, kafka_env

UNKNOWN_CUSTOMER = GoogleAdsSandbox.UNKNOWN_CUSTOMER_ID


@pytest.fixture
def cdc_source(settings: Settings, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A source schema of the test's own, prepared by `headwater source setup` (its role,
    publication and tables): the CDC settings under which the source check passes on any
    stack, fresh or not. Removed afterwards."""
    with cdc_pipeline(settings, tmp_path, customers=5, orders=10) as line:
        line.run("source", "setup")
        yield {k: v for k, v in line.env.items() if k.startswith("HEADWATER_CDC__")}


@pytest.fixture
def env(
    settings: Settings, stack_env: dict[str, str], cdc_source: dict[str, str]
) -> Iterator[dict[str, str]]:
    """The stack's settings plus the sandbox APIs' (their own accounts, their credentials),
    and a source prepared for CDC."""
    apis = sandbox_apis(
        settings.sandbox.model_copy(
            update={"facebook_port": 0, "google_ads_port": 0, "clevertap_port": 0}
        ),
        facebook_accounts=["act_101", "act_102"],
        google_customers=["1234567890", "2345678901"],
    ).start()
    try:
        yield (
            {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
            | stack_env
            | kafka_env(settings.kafka)
            | apis.environment()
            | cdc_source
            | {"HEADWATER_LOG__LEVEL": "ERROR"}
        )
    finally:
        apis.stop()


def check(env: dict[str, str], *args: str) -> tuple[int, list[str], str]:
    done = headwater("check", *args, env=env, timeout=120)
    return done.returncode, done.stdout.splitlines(), done.stderr


def line_of(lines: list[str], item: str) -> str:
    found = [line for line in lines if line.split(maxsplit=1)[1].startswith(item)]
    assert len(found) == 1, f"{item!r} in {lines}"
    return found[0]


def test_everything_passes_with_the_sandbox_credentials(env: dict[str, str]) -> None:
    code, lines, stderr = check(env)
    assert code == 0, f"{lines}\n{stderr}"
    for item in (
        "facebook_ads act_101",
        "facebook_ads act_102",
        "google_ads oauth",
        "google_ads customer 1234567890",
        "google_ads customer 2345678901",
        "clevertap account",
        "source database",
        "kafka",
        "connect",
        "warehouse",
    ):
        assert line_of(lines, item).startswith("ok "), lines
    assert "Traceback" not in stderr


def test_a_wrong_facebook_token_names_its_variable(env: dict[str, str]) -> None:
    code, lines, _ = check(env | {"HEADWATER_FACEBOOK__ACCESS_TOKEN": "wrong"}, "facebook_ads")
    assert code == 1
    assert len(lines) == 2, lines  # one line per account, nothing else
    for line in lines:
        assert line.startswith("FAIL"), line
        assert "HEADWATER_FACEBOOK__ACCESS_TOKEN" in line
        assert "wrong" not in line.split("HEADWATER_", 1)[0]


def test_a_wrong_google_refresh_token_names_its_variable(env: dict[str, str]) -> None:
    code, lines, _ = check(env | {"HEADWATER_GOOGLE_ADS__REFRESH_TOKEN": "wrong"}, "google_ads")
    assert code == 1
    assert lines == [line_of(lines, "google_ads oauth")]
    assert lines[0].startswith("FAIL")
    assert "HEADWATER_GOOGLE_ADS__REFRESH_TOKEN" in lines[0]


def test_unknown_ad_account_and_customer_are_named(env: dict[str, str]) -> None:
    unknown = {
        "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS": "act_101,act_0",
        "HEADWATER_GOOGLE_ADS__CUSTOMER_IDS": f"1234567890,{UNKNOWN_CUSTOMER}",
    }
    code, lines, _ = check(env | unknown, "facebook_ads")
    assert code == 1
    assert line_of(lines, "facebook_ads act_101").startswith("ok ")
    bad = line_of(lines, "facebook_ads act_0")
    assert bad.startswith("FAIL")
    assert "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS" in bad
    code, lines, _ = check(env | unknown, "google_ads")
    assert code == 1
    assert line_of(lines, "google_ads customer 1234567890").startswith("ok ")
    bad = line_of(lines, f"google_ads customer {UNKNOWN_CUSTOMER}")
    assert bad.startswith("FAIL")
    assert "HEADWATER_GOOGLE_ADS__CUSTOMER_IDS" in bad


def test_a_cdc_role_without_replication_is_reported(
    settings: Settings, env: dict[str, str]
) -> None:
    assert settings.source.dsn is not None
    role = f"test_check_{uuid.uuid4().hex[:8]}"
    dsn = settings.source.dsn.get_secret_value()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        code, lines, _ = check(env | {"HEADWATER_CDC__USER": role}, "source")
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith("FAIL")
    assert f"role {role} (HEADWATER_CDC__USER) lacks REPLICATION" in lines[0]
    code, lines, _ = check(env | {"HEADWATER_CDC__USER": role}, "source")
    assert code == 1
    assert f"role {role} (HEADWATER_CDC__USER) does not exist" in lines[0]


def test_unreachable_kafka_is_one_fail_line_within_the_bound(env: dict[str, str]) -> None:
    started = time.monotonic()
    code, lines, stderr = check(
        env | {"HEADWATER_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1"}, "kafka"
    )
    elapsed = time.monotonic() - started
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith("FAIL"), lines
    assert "kafka: Kafka at 127.0.0.1:1" in lines[0], lines
    assert "Traceback" not in stderr
    assert elapsed < BOUND_S + 10  # the bound, plus starting Python and tearing the client down


def test_settings_errors_exit_2(env: dict[str, str]) -> None:
    code, _, stderr = check(env | {"HEADWATER_CLEVERTAP__TIMEZONE": "Mars/Base"})
    assert code == 2
    assert "HEADWATER_CLEVERTAP__TIMEZONE" in stderr
