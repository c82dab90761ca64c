"""The stack's Kafka principals: SCRAM users with passwords kept in the state folder, and ACLs.

Each service has a principal of its own (:data:`headwater.kafka.acls.SERVICE_PRINCIPALS`)
plus ``admin``, a super user for operators and tests. Their passwords are generated once
and kept in ``<state dir>/kafka/principals.json`` (mode 600); they are printed only by
``headwater stack env --secure``. On every ``stack up`` the users and their ACLs are
written through the loopback PLAINTEXT listener (whose ANONYMOUS principal is a super
user), so a stack formatted before the TLS listener existed upgrades in place.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from control.stack.base import StackError
from headwater.kafka.acls import (
    CONNECT,
    READ_WRITE,
    SERVICE_PRINCIPALS,
    Grant,
    apply_grants,
    pipeline_families,
    service_grants,
)
from headwater.settings import Settings

ADMIN: Final = "admin"
PRINCIPALS: Final = (ADMIN, *SERVICE_PRINCIPALS)
MECHANISM: Final = "SCRAM-SHA-512"
SCRAM_ITERATIONS: Final = 8192


@dataclass(frozen=True)
class KafkaUsers:
    """The principals' passwords, in a file of the state folder."""

    path: Path

    def passwords(self) -> dict[str, str]:
        """Every principal's password, made (and kept) the first time."""
        known: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}
        missing = [name for name in PRINCIPALS if name not in known]
        if missing:
            known |= {name: secrets.token_urlsafe(24) for name in missing}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(mode=0o600, exist_ok=True)
            self.path.chmod(0o600)
            self.path.write_text(json.dumps(known, indent=2, sort_keys=True))
        return known

    def password(self, principal: str) -> str:
        """One principal's password; StackError names the known principals."""
        passwords = self.passwords()
        if principal not in passwords:
            raise StackError(f"{principal!r} is not one of {', '.join(PRINCIPALS)}")
        return passwords[principal]

    def apply(self, admin: AdminClient, pipeline: Settings, timeout_s: float = 30.0) -> None:
        """Set every principal's SCRAM credential and create the services' ACLs."""
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
        upserts: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(name, info, password.encode())
            for name, password in self.passwords().items()
        ]
        futures = admin.alter_user_scram_credentials(upserts, request_timeout=timeout_s)
        for name, future in futures.items():
            try:
                future.result()
            except KafkaException as error:
                raise StackError(
                    f"setting the SCRAM credential of {name} failed: {error}"
                ) from error
        apply_grants(admin, stack_grants(pipeline), timeout_s)


def stack_grants(pipeline: Settings) -> dict[str, tuple[Grant, ...]]:
    """The services' grants, but Connect may write any topic outside the pipeline's families.

    On the stack every test and demo registers connectors with a ``topic.prefix`` of its own,
    unknown at ``stack up``; ``headwater kafka acls`` on a real cluster grants the configured
    prefix only.
    """
    grants = service_grants(pipeline)
    anywhere = Grant("topic", "*", "literal", READ_WRITE)
    return grants | {CONNECT: (*grants[CONNECT], anywhere, *pipeline_families(pipeline))}
