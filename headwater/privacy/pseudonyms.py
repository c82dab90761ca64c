"""Pseudonyms: keyed hashes (HMAC-SHA256) of personal values, each tagged with its key's id.

A pseudonym reads ``<key id>:<64 hex digits>``. The id says which key made it, so after a
rotation the old pseudonyms stay recognisable (``key_id_of``) and ``headwater forget`` can
find a person under every key still configured (the current one and the retired ones).
The processor (CleverTap identities, hashed CDC columns) and ``headwater forget`` both
pseudonymise through this module, so they always agree.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from headwater.errors import ConfigurationError
from headwater.settings import Settings

KEY_SETTING: Final = "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY"
SEPARATOR: Final = ":"


class Pseudonymizer:
    """A keyed hash of personal values: stable, not reversible without the key."""

    def __init__(self, key: str, key_id: str) -> None:
        self._key = key.encode()
        self.key_id = key_id

    def digest(self, value: str) -> str:
        """The bare HMAC-SHA256 of a value, in hex."""
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def __call__(self, value: str) -> str:
        return f"{self.key_id}{SEPARATOR}{self.digest(value)}"


def key_id_of(pseudonym: str) -> str | None:
    """The id of the key that made a pseudonym (None: not a pseudonym of this module)."""
    key_id, separator, digest = pseudonym.partition(SEPARATOR)
    return key_id if separator and len(digest) == 64 else None


def pseudonymizer(settings: Settings, why: str) -> Pseudonymizer:
    """The current key's pseudonymizer; a ConfigurationError saying ``why`` without one."""
    key = settings.processor.pseudonymization_key
    if key is None:
        raise ConfigurationError(KEY_SETTING, f"is required: {why}")
    return Pseudonymizer(key.get_secret_value(), settings.processor.pseudonymization_key_id)


def every_pseudonymizer(settings: Settings) -> list[Pseudonymizer]:
    """The current key's and every retired key's, to find a person's pseudonyms of any age."""
    current = pseudonymizer(settings, "a person's pseudonyms are computed with it")
    retired = [
        Pseudonymizer(key.get_secret_value(), key_id)
        for key_id, key in settings.privacy.retired_keys.items()
        if key_id != current.key_id
    ]
    return [current, *retired]
