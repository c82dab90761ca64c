"""The demo's own secrets: made once when the user set none, kept private, never printed."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from headwater.settings import Settings

#: The secrets the demo can make up, and how.
GENERATORS: dict[str, Callable[[], str]] = {
    "HEADWATER_CDC__PASSWORD": lambda: secrets.token_urlsafe(24),
    "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": lambda: secrets.token_hex(32),
}


def _is_set(settings: Settings, variable: str) -> bool:
    if variable == "HEADWATER_CDC__PASSWORD":
        return settings.cdc.password is not None
    return settings.processor.pseudonymization_key is not None


def demo_secrets(settings: Settings) -> dict[str, str]:
    """Values for the secrets the settings lack, the same on every demo run.

    They live in ``<state dir>/demo/secrets.json`` (mode 600), next to the stack's own
    PostgreSQL password: the replication role keeps its password, and user identities keep
    their pseudonyms from run to run.
    """
    wanted = [name for name in GENERATORS if not _is_set(settings, name)]
    if not wanted:
        return {}
    path = settings.stack.state_dir.resolve() / "demo" / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    made = {name: GENERATORS[name]() for name in wanted if not stored.get(name)}
    if made:
        stored |= made
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, json.dumps(stored, indent=2) + "\n")
    return {name: stored[name] for name in wanted}


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)
