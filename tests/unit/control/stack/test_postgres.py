"""The stack's PostgreSQL configuration for TLS, and when a running server must restart."""

from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from control.stack.launcher import Stack
from control.stack.postgres import INCLUDED_CONF, PG_HBA, PostgresCluster
from headwater.settings import StackSettings


def _configured(tmp_path: Path) -> PostgresCluster:
    """A cluster whose files are as ``prepare`` writes them (without initdb)."""
    stack = Stack(StackSettings(state_dir=tmp_path, postgres_port=35432), say=lambda _line: None)
    stack.tls.ensure()
    postgres = stack.postgres
    postgres.data.mkdir(parents=True)
    postgres._place_certificate()
    (postgres.data / INCLUDED_CONF).write_text(postgres._conf_text())
    (postgres.data / "pg_hba.conf").write_text(PG_HBA)
    return postgres


def test_the_server_serves_the_stack_certificate_over_tls_only(tmp_path: Path) -> None:
    postgres = _configured(tmp_path)
    settings = postgres._server_settings()
    assert (settings["ssl"], settings["ssl_min_protocol_version"]) == ("on", "TLSv1.2")
    assert Path(settings["ssl_cert_file"]).read_bytes() == postgres.tls.server_cert.read_bytes()
    assert Path(settings["ssl_key_file"]).stat().st_mode & 0o777 == 0o600
    tcp = [line.split() for line in PG_HBA.splitlines() if line.startswith("host")]
    assert {line[0] for line in tcp} == {"hostssl", "hostnossl"}
    assert all(line[-1] == "reject" for line in tcp if line[0] == "hostnossl")
    assert all(line[-1] == "scram-sha-256" for line in tcp if line[0] == "hostssl")


def test_its_dsns_verify_the_server_against_the_stack_ca(tmp_path: Path) -> None:
    postgres = _configured(tmp_path)
    params = conninfo_to_dict(postgres.dsn("warehouse"))
    assert params["sslmode"] == "verify-full"
    assert params["sslrootcert"] == str(postgres.tls.ca_cert)


def test_a_server_configured_before_tls_is_outdated(tmp_path: Path) -> None:
    postgres = _configured(tmp_path)
    assert not postgres.outdated()
    (postgres.data / "pg_hba.conf").write_text("host all all 127.0.0.1/32 scram-sha-256\n")
    assert postgres.outdated()
    (postgres.data / "pg_hba.conf").write_text(PG_HBA)
    (postgres.data / INCLUDED_CONF).write_text("wal_level = 'logical'\n")
    assert postgres.outdated()


def test_a_server_serving_a_certificate_the_stack_renewed_is_outdated(tmp_path: Path) -> None:
    postgres = _configured(tmp_path)
    postgres.tls.server_cert.unlink()
    postgres.tls.ensure()  # a new certificate, as when the old one nears its end
    assert postgres.outdated()
    postgres._place_certificate()
    assert not postgres.outdated()
