"""The stack's own certificate authority and the server certificate every component serves.

The stack makes a CA once, in ``<state dir>/tls``, and signs one server certificate for the
loopback names (``localhost``, the stack's host address) with it. Kafka's TLS listener,
PostgreSQL and the sandbox APIs serve that certificate; clients trust ``ca.pem`` and verify the
host name (``sslmode=verify-full``, librdkafka's endpoint identification, requests' ``verify``).
The keys stay in the state folder, mode 600, and are never printed.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 825


@dataclass(frozen=True)
class StackTls:
    """Where the stack's CA and server certificate live."""

    folder: Path

    @property
    def ca_cert(self) -> Path:
        """The CA certificate (PEM) that clients trust."""
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def server_cert(self) -> Path:
        """The server's certificate chain (PEM): its own certificate, then the CA's."""
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        """The server's private key (unencrypted PKCS#8 PEM, mode 600)."""
        return self.folder / "server.key"

    def ensure(self, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> None:
        """Make the CA and the server certificate unless they exist and cover ``hosts``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.ca_cert.exists() and self.ca_key.exists()):
            self._make_ca()
        if not self._server_covers(hosts):
            self._make_server(hosts)

    def _make_ca(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Headwater stack CA")])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_private(self.ca_key, _key_pem(key))
        self.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.server_cert.unlink(missing_ok=True)  # signed by a CA that is gone

    def _make_server(self, hosts: tuple[str, ...]) -> None:
        ca_key = serialization.load_pem_private_key(self.ca_key.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{self.ca_key} is not the EC key this stack makes")
        ca_cert = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
            .add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(self.server_key, _key_pem(key))
        chain = cert.public_bytes(serialization.Encoding.PEM) + self.ca_cert.read_bytes()
        self.server_cert.write_bytes(chain)

    def _server_covers(self, hosts: tuple[str, ...]) -> bool:
        if not (self.server_cert.exists() and self.server_key.exists()):
            return False
        cert = x509.load_pem_x509_certificate(self.server_cert.read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        covered = {str(value) for value in names.get_values_for_type(x509.DNSName)}
        covered |= {str(value) for value in names.get_values_for_type(x509.IPAddress)}
        fresh = cert.not_valid_after_utc - _now() > datetime.timedelta(days=30)
        return fresh and set(hosts) <= covered


def _alt_names(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
