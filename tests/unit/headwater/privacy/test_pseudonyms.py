import hashlib
import hmac

import pytest
from pydantic import SecretStr

from headwater.errors import ConfigurationError
from headwater.privacy.pseudonyms import (
    Pseudonymizer,
    every_pseudonymizer,
    key_id_of,
    pseudonymizer,
)
from headwater.settings import Settings, load_settings

OLD_KEY, NEW_KEY = "o" * 32, "n" * 40


def test_a_pseudonym_is_the_key_id_and_the_hmac() -> None:
    pseudonym = Pseudonymizer(OLD_KEY, "2025a")("c301@example.com")
    digest = hmac.new(OLD_KEY.encode(), b"c301@example.com", hashlib.sha256).hexdigest()
    assert pseudonym == f"2025a:{digest}"
    assert key_id_of(pseudonym) == "2025a"
    assert key_id_of(digest) is None  # a bare digest names no key


def test_a_short_key_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY", "x" * 31)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert refused.value.setting == "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY"
    assert "shorter than 32 bytes" in refused.value.problem


def test_a_32_byte_key_and_its_id_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY", "x" * 32)
    monkeypatch.setenv("HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY_ID", "2026-11")
    assert pseudonymizer(load_settings(), "test")("a").startswith("2026-11:")


@pytest.mark.parametrize("key_id", ["", "a:b", "x" * 17, "k 1"])
def test_a_key_id_that_would_not_parse_back_is_refused(
    monkeypatch: pytest.MonkeyPatch, key_id: str
) -> None:
    monkeypatch.setenv("HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY_ID", key_id)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert refused.value.setting == "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY_ID"


def test_without_a_key_the_refusal_says_why() -> None:
    with pytest.raises(ConfigurationError, match="PSEUDONYMIZATION_KEY: is required: because"):
        pseudonymizer(Settings(), "because")


def test_retired_keys_are_tried_after_the_current_one() -> None:
    settings = Settings(
        processor={"pseudonymization_key": SecretStr(NEW_KEY), "pseudonymization_key_id": "k2"},
        privacy={"retired_keys": {"k1": SecretStr(OLD_KEY)}},
    )
    assert [p.key_id for p in every_pseudonymizer(settings)] == ["k2", "k1"]
    assert OLD_KEY in settings.secrets()  # scrubbed from logs like any secret
