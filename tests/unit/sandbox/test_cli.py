"""`headwater sandbox schema | workload`: what they refuse before touching a database.

(These test ``control/cli/sandbox.py``; the commands' real runs are in
``tests/integration/sandbox/test_cli.py``.)
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from control.cli.sandbox import sandbox, source_dsn
from headwater.errors import ConfigurationError
from headwater.settings import DatabaseSettings, Settings
from sandbox.source_db.errors import InvalidSchemaName


def _without_source() -> Settings:
    return Settings(source=DatabaseSettings(dsn=None))


@pytest.mark.parametrize(
    "args", [["schema"], ["workload", "--changes", "10"], ["workload", "--duration", "1"]]
)
def test_a_missing_source_dsn_names_the_setting(args: list[str]) -> None:
    result = CliRunner().invoke(sandbox, args, obj=_without_source())
    assert isinstance(result.exception, ConfigurationError)
    assert str(result.exception) == "HEADWATER_SOURCE__DSN: is required"


def test_source_dsn_reads_the_secret() -> None:
    settings = Settings(source=DatabaseSettings(dsn=SecretStr("postgresql://u:p@h:1/app")))
    assert source_dsn(settings) == "postgresql://u:p@h:1/app"
    with pytest.raises(ConfigurationError):
        source_dsn(_without_source())


def test_workload_needs_a_duration_or_a_change_count() -> None:
    result = CliRunner().invoke(sandbox, ["workload", "--rate", "10"], obj=_without_source())
    assert result.exit_code == 2
    assert "give --duration, --changes or both" in result.output


def test_schema_names_cdc_cannot_capture_are_refused() -> None:
    result = CliRunner().invoke(sandbox, ["schema", "--schema", "Bad-Name"], obj=_without_source())
    assert isinstance(result.exception, InvalidSchemaName)
