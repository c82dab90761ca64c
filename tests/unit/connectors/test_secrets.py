"""Secret files for the Connect workers' directory config provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.debezium_postgres import render_config
from connectors.secrets import PROVIDER_CLASS, worker_properties, write_secret
from headwater.errors import ConfigurationError
from headwater.settings import CdcSettings, ConnectSettings, DatabaseSettings, Settings

#: Every character a properties file would have needed escaped, and a newline.
AWKWARD = "p=a:s#s\\w!ö\u2603 \n"


def test_a_secret_is_written_verbatim_owner_only_and_rewritten_only_when_changed(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "secrets"
    assert write_secret(folder, "c.database.password", AWKWARD) is True
    path = folder / "c.database.password"
    assert path.read_bytes() == AWKWARD.encode()
    assert path.stat().st_mode & 0o077 == 0
    assert folder.stat().st_mode & 0o077 == 0
    assert write_secret(folder, "c.database.password", AWKWARD) is False
    assert write_secret(folder, "c.database.password", "rotated") is True
    assert path.read_text() == "rotated"
    assert [p.name for p in folder.iterdir()] == ["c.database.password"]  # no staged leftovers


def test_the_worker_declares_the_directory_provider_limited_to_its_folder() -> None:
    assert worker_properties(Path("/srv/connect/secrets")) == {
        "config.providers": "dir",
        "config.providers.dir.class": PROVIDER_CLASS,
        "config.providers.dir.param.allowed.paths": "/srv/connect/secrets",
    }


def _settings(secrets_dir: Path | None) -> Settings:
    return Settings(
        source=DatabaseSettings(dsn=SecretStr("postgresql://admin:adminpw@db:5432/app")),
        connect=ConnectSettings(secrets_dir=secrets_dir),
        cdc=CdcSettings(password=SecretStr("SENTINEL-cdc-password")),
    )


def test_the_rendered_config_holds_a_reference_never_the_password() -> None:
    config = render_config(_settings(Path("/run/secrets")))
    assert "SENTINEL-cdc-password" not in json.dumps(config)
    assert config["database.password"] == "${dir:/run/secrets:headwater-cdc.database.password}"


def test_rendering_without_a_secrets_folder_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="HEADWATER_CONNECT__SECRETS_DIR"):
        render_config(_settings(None))
