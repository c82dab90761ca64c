"""The connector's secrets as files a Kafka Connect config provider reads, never inline.

A connector config names its password as ``${dir:<folder>:<file>}``; the Connect worker
resolves it when it starts the connector's tasks (``config.providers=dir``, Kafka's
``DirectoryConfigProvider``), so the password is in neither Connect's config topic nor its
REST API. Why the directory provider rather than the others Kafka ships:

- ``FileConfigProvider`` reads a Java properties file: a password holding ``\\``, ``=``,
  ``:``, ``#`` or non-Latin-1 characters would need escaping, and one file shared by
  connectors needs a read-modify-write;
- ``EnvVarConfigProvider`` reads the worker's environment, which only whoever starts the
  worker can set: ``connectors apply`` could not rotate the password;
- ``DirectoryConfigProvider`` reads one file per secret, verbatim: what Kubernetes and
  Docker mount a secret as, and what ``connectors apply`` writes when Connect runs on
  this host. ``allowed.paths`` keeps connector configs from reading other worker files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from headwater.errors import ConfigurationError
from headwater.settings import Settings

#: The provider's name in the worker config and in the ``${dir:...}`` references.
PROVIDER = "dir"
PROVIDER_CLASS = "org.apache.kafka.common.config.provider.DirectoryConfigProvider"


def worker_properties(folder: Path) -> dict[str, str]:
    """The Connect worker's ``config.providers`` lines: the directory provider, on one folder."""
    return {
        "config.providers": PROVIDER,
        f"config.providers.{PROVIDER}.class": PROVIDER_CLASS,
        f"config.providers.{PROVIDER}.param.allowed.paths": str(folder),
    }


def secrets_folder(settings: Settings) -> Path:
    """Where the Connect workers read secret files (HEADWATER_CONNECT__SECRETS_DIR)."""
    folder = settings.connect.secrets_dir
    if folder is None:
        raise ConfigurationError(
            "HEADWATER_CONNECT__SECRETS_DIR",
            "is not set: the folder the Connect workers read secrets from "
            "(`headwater stack env` prints the local stack's)",
        )
    return folder


def reference(settings: Settings, name: str) -> str:
    """The placeholder a connector config holds instead of the secret named ``name``."""
    return f"${{{PROVIDER}:{secrets_folder(settings)}:{name}}}"


def write_secret(folder: Path, name: str, value: str) -> bool:
    """Write one secret file (owner-only, atomically); True when its content changed."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / name
    if path.exists() and path.read_text(encoding="utf-8") == value:
        return False
    descriptor, staged = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(value)  # verbatim: the provider keeps every byte, a newline included
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    return True
