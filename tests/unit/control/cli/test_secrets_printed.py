"""What the CLI prints never holds a secret: settings, errors, tracebacks."""

from __future__ import annotations

import json

from tests.support.services import headwater_with

FACEBOOK_TOKEN = "SENTINEL-fb-5d1c0a"
URL_PASSWORD = "SENTINEL-url-7e2b94"


def test_settings_hide_secrets_and_passwords_inside_urls() -> None:
    done = headwater_with(
        "settings",
        env={
            "HEADWATER_FACEBOOK__ACCESS_TOKEN": FACEBOOK_TOKEN,
            "HEADWATER_WAREHOUSE__DSN": f"postgresql://loader:{URL_PASSWORD}@db:5432/wh",
            "HEADWATER_PROMETHEUS__URL": f"http://admin:{URL_PASSWORD}@127.0.0.1:19090",
        },
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["facebook"]["access_token"] == "**********"
    assert printed["warehouse"]["dsn"] == "**********"
    assert printed["prometheus"]["url"] == "http://admin:***@127.0.0.1:19090"
    assert FACEBOOK_TOKEN not in done.stdout + done.stderr
    assert URL_PASSWORD not in done.stdout + done.stderr


def test_an_error_naming_a_url_with_a_password_is_printed_masked() -> None:
    done = headwater_with(
        "connectors",
        "status",
        env={"HEADWATER_CONNECT__URL": f"http://admin:{URL_PASSWORD}@127.0.0.1:9"},
    )
    assert done.returncode == 75, done.stderr
    assert "http://admin:***@127.0.0.1:9" in done.stderr
    assert URL_PASSWORD not in done.stdout + done.stderr


def test_a_usage_error_echoing_a_secret_value_is_scrubbed() -> None:
    done = headwater_with(
        "connectors",
        "snapshot",
        FACEBOOK_TOKEN,
        env={"HEADWATER_FACEBOOK__ACCESS_TOKEN": FACEBOOK_TOKEN},
    )
    assert done.returncode == 2
    assert "not in HEADWATER_CDC__TABLES" in done.stderr
    assert FACEBOOK_TOKEN not in done.stdout + done.stderr
