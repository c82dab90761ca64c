"""`headwater sandbox schema | workload | serve`: what they refuse before touching a database,
and how `serve --tls` serves the stack's certificate.

(These test ``control/cli/sandbox.py``; the commands' real runs are in
``tests/integration/sandbox/test_cli.py``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from control.cli.sandbox import sandbox, source_dsn, stack_certificate
from control.stack.tls import StackTls
from headwater.errors import ConfigurationError
from headwater.settings import DatabaseSettings, SandboxSettings, Settings, StackSettings
from sandbox.apis import sandbox_apis
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


def test_tls_serves_the_stacks_certificate_and_trusts_its_ca(tmp_path: Path) -> None:
    settings = Settings(stack=StackSettings(state_dir=tmp_path))
    served, environment = stack_certificate(settings)
    tls = StackTls(tmp_path.resolve() / "tls")
    assert (served.cert_file, served.key_file) == (tls.server_cert, tls.server_key)
    assert environment == {"HEADWATER_POLLER__CA_FILE": str(tls.ca_cert)}
    ports = {"facebook_port": 0, "google_ads_port": 0, "clevertap_port": 0}
    with sandbox_apis(served.model_copy(update=ports)) as apis:
        assert apis.facebook.url.startswith("https://")
        assert "HEADWATER_POLLER__PLAIN_HTTP" not in apis.environment()


def test_plain_http_is_declared_as_local_development() -> None:
    apis = sandbox_apis(SandboxSettings(facebook_port=0, google_ads_port=0, clevertap_port=0))
    with apis:
        assert apis.facebook.url.startswith("http://")
        assert apis.environment()["HEADWATER_POLLER__PLAIN_HTTP"] == "true"


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        sandbox_apis(SandboxSettings(cert_file=tmp_path / "server.pem"))
    assert raised.value.setting == "HEADWATER_SANDBOX__KEY_FILE"
