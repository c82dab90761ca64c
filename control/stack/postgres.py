"""A private PostgreSQL 15 cluster with logical decoding: the source ``app`` and the ``warehouse``.

It serves TLS with the stack's server certificate and refuses TCP connections without it
(``pg_hba.conf``: ``hostssl`` only); the DSNs it gives verify the server against the stack's
CA (``sslmode=verify-full``). Its local socket is for the stack itself.

PostgreSQL refuses to run as root, so when the stack runs as root the cluster is owned by
and run as the ``postgres`` user that Debian's package creates.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import psycopg

from control.stack.base import Component, Port, StackError, write_if_changed
from control.stack.process import log_tail, pid_alive
from control.stack.tls import StackTls
from control.stack.toolchain import ensure_debian_package
from headwater.settings import StackSettings

SUPERUSER = "postgres"
DATABASES = ("app", "warehouse")
INCLUDED_CONF = "headwater.conf"

SERVER_SETTINGS = {
    "wal_level": "logical",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "log_min_messages": "warning",
    "ssl": "on",
    "ssl_min_protocol_version": "TLSv1.2",
}

#: TCP only over TLS, SCRAM passwords everywhere; the socket folder is the stack's own
PG_HBA = """\
# written by headwater stack: TCP only over TLS
local   all          all                     scram-sha-256
local   replication  all                     scram-sha-256
hostssl all          all          0.0.0.0/0  scram-sha-256
hostssl all          all          ::/0       scram-sha-256
hostssl replication  all          0.0.0.0/0  scram-sha-256
hostssl replication  all          ::/0       scram-sha-256
hostnossl all        all          0.0.0.0/0  reject
hostnossl all        all          ::/0       reject
hostnossl replication all         0.0.0.0/0  reject
hostnossl replication all         ::/0       reject
"""


class PostgresCluster(Component):
    """The stack's PostgreSQL: its own data folder, port and socket folder."""

    name = "postgres"

    def __init__(self, settings: StackSettings, tls: StackTls) -> None:
        super().__init__(settings)
        self.tls = tls
        self.server_cert = self.home / "server.pem"
        self.server_key = self.home / "server.key"
        self.data = self.home / "data"
        self.sockets = self.home / "run"
        self.password_file = self.home / "password"
        self.bin = self.settings.postgres_bin_dir

    @property
    def endpoint(self) -> str:
        return f"{self.settings.host}:{self.settings.postgres_port}"

    def ports(self) -> list[Port]:
        return [Port("HEADWATER_STACK__POSTGRES_PORT", self.settings.postgres_port)]

    def password(self) -> str:
        """The superuser's password, made on first start and kept in the state folder."""
        if not self.password_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            self.password_file.write_text(secrets.token_urlsafe(18))
            self.password_file.chmod(0o600)
        return self.password_file.read_text().strip()

    def dsn(self, database: str) -> str:
        """A libpq URI for the superuser on one of the stack's databases, verifying the server."""
        return (
            f"postgresql://{SUPERUSER}:{self.password()}@{self.settings.host}:"
            f"{self.settings.postgres_port}/{database}"
            f"?sslmode=verify-full&sslrootcert={quote(str(self.tls.ca_cert))}"
        )

    def prepare(self) -> None:
        ensure_debian_package("postgresql-15", self.bin / "initdb", self.settings.install_packages)
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o755)
        self.sockets.mkdir(exist_ok=True)
        self._own(self.home, self.sockets)
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        self._place_certificate()
        write_if_changed(self.data / INCLUDED_CONF, self._conf_text())
        write_if_changed(self.data / "pg_hba.conf", PG_HBA)
        self._own(self.data / INCLUDED_CONF, self.data / "pg_hba.conf")
        main_conf = self.data / "postgresql.conf"
        include = f"include '{INCLUDED_CONF}'\n"
        if include not in main_conf.read_text():
            with main_conf.open("a") as conf_file:
                conf_file.write(include)

    def outdated(self) -> bool:
        """Its configuration is older, or it serves a certificate the stack has since renewed
        (``StackTls.ensure`` renews one near its end or missing a host name)."""
        conf, hba = self.data / INCLUDED_CONF, self.data / "pg_hba.conf"
        if not (conf.exists() and hba.exists()):
            return False
        if conf.read_text() != self._conf_text() or hba.read_text() != PG_HBA:
            return True
        return not self._serves(self.tls.server_cert, self.server_cert) or not self._serves(
            self.tls.server_key, self.server_key
        )

    @staticmethod
    def _serves(stack_file: Path, placed: Path) -> bool:
        try:
            return placed.read_bytes() == stack_file.read_bytes()
        except FileNotFoundError:
            return False

    def _place_certificate(self) -> None:
        """The stack's server certificate and key, where the server (its own user) reads them."""
        self.server_cert.write_bytes(self.tls.server_cert.read_bytes())
        self.server_key.touch(mode=0o600, exist_ok=True)
        self.server_key.chmod(0o600)
        self.server_key.write_bytes(self.tls.server_key.read_bytes())
        self._own(self.server_cert, self.server_key)

    def _conf_text(self) -> str:
        return "".join(f"{key} = '{value}'\n" for key, value in self._server_settings().items())

    def _server_settings(self) -> dict[str, str]:
        return SERVER_SETTINGS | {
            "listen_addresses": self.settings.host,
            "port": str(self.settings.postgres_port),
            "unix_socket_directories": str(self.sockets),
            "ssl_cert_file": str(self.server_cert),
            "ssl_key_file": str(self.server_key),
        }

    def _initdb(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        self._check_traversable()
        pwfile = self.home / "initdb.pw"
        pwfile.write_text(self.password() + "\n")
        self._own(pwfile)
        try:
            done = self._as_owner(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise StackError(f"initdb failed:\n{done.stdout}{done.stderr}")

    def _check_traversable(self) -> None:
        if os.geteuid() != 0:
            return
        for folder in [self.home, *self.home.parents]:
            if not folder.stat().st_mode & 0o001:
                raise StackError(
                    f"HEADWATER_STACK__STATE_DIR: the postgres user cannot enter {folder}; "
                    "choose a state folder whose parents are world-executable"
                )

    def running(self) -> bool:
        return self._postmaster_pid() is not None

    def _postmaster_pid(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.dsn("postgres"), connect_timeout=2) as connection:
                connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def start(self) -> None:
        done = self._as_owner(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        if done.returncode != 0:
            raise StackError(f"PostgreSQL did not start:\n{log_tail(self.log_file)}")

    def create_databases(self) -> None:
        """Create the source and warehouse databases when missing."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as connection:
            for database in DATABASES:
                found = connection.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
                ).fetchone()
                if found is None:
                    connection.execute(f'CREATE DATABASE "{database}"')

    def wal_level(self) -> str:
        """The running server's wal_level."""
        with psycopg.connect(self.dsn("postgres")) as connection:
            row = connection.execute("SHOW wal_level").fetchone()
        return str(row[0]) if row else ""

    def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """Stop the server: ``fast`` rolls back sessions and checkpoints; ``immediate`` does
        neither, as a crash would (the next start recovers from the WAL)."""
        if self.running():
            self._as_owner(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]
            )

    @property
    def log_file(self) -> Path:
        return self.home / "postgres.log"

    def _owner(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError as error:
            raise StackError(
                "running as root needs the 'postgres' user (apt-get install postgresql-15)"
            ) from error

    def _own(self, *paths: Path) -> None:
        owner = self._owner()
        if owner is not None:
            for path in paths:
                os.chown(path, owner.pw_uid, owner.pw_gid)

    def _as_owner(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        command = list(argv)
        if self._owner() is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.home,
            start_new_session=True,
        )
