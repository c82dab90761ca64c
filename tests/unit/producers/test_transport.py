"""How the pollers reach the APIs: plain HTTP only when declared (and warned about), the CA
bundle setting honoured even where ``REQUESTS_CA_BUNDLE`` is set."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from headwater.errors import ConfigurationError
from headwater.settings import (
    CleverTapSettings,
    GoogleAdsSettings,
    PollerSettings,
    Settings,
)
from headwater.topology import api_source
from producers.transport import api_session, api_urls, check_transport

GOOGLE = api_source("google_ads")


def settings(plain_http: bool = False, **google: str) -> Settings:
    return Settings(
        google_ads=GoogleAdsSettings(**google),  # type: ignore[arg-type]
        poller=PollerSettings(plain_http=plain_http),
    )


def test_every_url_setting_of_the_source_is_checked() -> None:
    assert api_urls(GOOGLE, Settings()) == {
        "HEADWATER_GOOGLE_ADS__API_URL": "https://googleads.googleapis.com",
        "HEADWATER_GOOGLE_ADS__TOKEN_URL": "https://oauth2.googleapis.com/token",
    }


def test_https_urls_pass_without_a_word(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_transport(GOOGLE, settings())
    assert caplog.records == []


def test_a_plain_http_url_is_refused_unless_declared() -> None:
    with pytest.raises(ConfigurationError) as raised:
        check_transport(GOOGLE, settings(token_url="http://oauth.example/token"))
    assert raised.value.setting == "HEADWATER_GOOGLE_ADS__TOKEN_URL"
    assert "HEADWATER_POLLER__PLAIN_HTTP" in raised.value.problem


def test_declared_plain_http_is_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    plain = settings(
        plain_http=True, api_url="http://127.0.0.1:1", token_url="http://127.0.0.1:1/token"
    )
    with caplog.at_level(logging.WARNING):
        check_transport(GOOGLE, plain)
    (warning,) = caplog.records
    assert "plain HTTP" in warning.getMessage()
    assert warning.urls == ["http://127.0.0.1:1", "http://127.0.0.1:1/token"]  # type: ignore[attr-defined]


def test_a_source_outside_the_settings_tree_has_no_urls_to_check() -> None:
    other = dataclasses.replace(api_source("clevertap"), settings_prefix="HEADWATER_TOY__")
    assert api_urls(other, Settings(clevertap=CleverTapSettings())) == {}


def test_the_ca_bundle_wins_over_requests_ca_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/elsewhere.pem")
    session = api_session(PollerSettings(ca_file=ca))
    merged = session.merge_environment_settings("https://api.example", {}, None, None, None)
    assert merged["verify"] == str(ca)


def test_without_a_ca_bundle_verification_stays_on() -> None:
    session = api_session(PollerSettings())
    assert session.verify is True


def test_a_missing_ca_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        api_session(PollerSettings(ca_file=tmp_path / "nope.pem"))
    assert raised.value.setting == "HEADWATER_POLLER__CA_FILE"
