"""The schema history: every version of every record Headwater ever wrote, kept so that a
reader can decode each record with the schema it was written with.

Layout: ``schemas/history/<record>/v<N>-<fingerprint>.avsc``, one file per version of the
record ``schemas/<record>.avsc``: ``schemas/history/norm/app_event/v1-e3bcec81a104d83e.avsc``.
Versions are numbered from 1 in the order they were recorded, and the last one is the
current schema. The fingerprint is the version's identity, the one the ``headwater.schema``
header of its records names (``headwater/avro.py``): the 64-bit CRC-64-AVRO (Rabin)
fingerprint of its Parsing Canonical Form, its 8 bytes in the order Avro's single-object
encoding writes them (little-endian), as 16 lower-case hex digits.

The canonical form keeps what decides the bytes (names, types, field order, symbols) and
drops the rest (docs, defaults, aliases, logical types, the ``"sql"`` attribute), so editing
only those needs no new version. A recorded file is never edited: its name must stay the
fingerprint of its content (``python -m schemas.check`` verifies it).

``python -m schemas.history record`` records the current schemas the history lacks;
``python -m schemas.history`` lists it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro.schema import fingerprint as _fingerprint
from fastavro.schema import fullname, to_parsing_canonical_form

from headwater.errors import Terminal

#: the folder of the current schemas (``<record>.avsc``) and of their history
SCHEMAS_ROOT = Path(__file__).parent
HISTORY_FOLDER = "history"
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)-([0-9a-f]{16})\.avsc$")


class HistoryError(Terminal):
    """The schema history is malformed: a file not named ``v<N>-<fingerprint>.avsc``, a gap
    in the numbering, or a file whose content is not the fingerprint its name says."""


def fingerprint(schema: Any) -> str:
    """A schema's identity: the CRC-64-AVRO fingerprint of its Parsing Canonical Form, in hex.

    Takes the schema as written (JSON) or as parsed by fastavro; both give the same value.
    """
    return str(_fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


@dataclass(frozen=True)
class SchemaVersion:
    """One recorded version of a record's schema."""

    #: the record it is a version of (``norm/app_event``)
    record: str
    #: its place in the history, from 1
    number: int
    #: the schema as written (JSON)
    schema: Any
    fingerprint: str
    path: Path

    @property
    def full_name(self) -> str:
        """The record's full name in this version."""
        return str(fullname(self.schema))


def current_schemas(root: Path = SCHEMAS_ROOT) -> dict[str, Any]:
    """The current schema (JSON) of every record: each ``<root>/<record>.avsc`` outside the
    history, by record name (``norm/app_event``)."""
    found: dict[str, Any] = {}
    for path in sorted(root.rglob("*.avsc")):
        relative = path.relative_to(root)
        if relative.parts[0] == HISTORY_FOLDER:
            continue
        found[relative.with_suffix("").as_posix()] = json.loads(path.read_text())
    return found


class History:
    """The recorded versions of every record, in ``<schemas root>/history``."""

    def __init__(self, root: Path = SCHEMAS_ROOT / HISTORY_FOLDER) -> None:
        self.root = root

    def records(self) -> list[str]:
        """The records that have at least one recorded version."""
        folders = {path.parent for path in self.root.rglob("*.avsc")}
        return sorted(folder.relative_to(self.root).as_posix() for folder in folders)

    def versions(self, record: str) -> tuple[SchemaVersion, ...]:
        """The recorded versions of a record, oldest first (none when it has no history)."""
        folder = self.root / record
        if not folder.is_dir():
            return ()
        versions = [self._version(record, path) for path in folder.glob("*.avsc")]
        versions.sort(key=lambda version: version.number)
        numbers = [version.number for version in versions]
        if numbers != list(range(1, len(versions) + 1)):
            raise HistoryError(f"{folder}: versions {numbers} are not numbered 1..{len(numbers)}")
        return tuple(versions)

    def all_versions(self) -> list[SchemaVersion]:
        """Every recorded version of every record."""
        return [version for record in self.records() for version in self.versions(record)]

    def record(self, record: str, text: str) -> SchemaVersion | None:
        """Record ``text`` (a schema as written) as the record's next version, unless it is
        already its latest; the new version, or None."""
        schema = json.loads(text)
        versions = self.versions(record)
        identity = fingerprint(schema)
        if versions and versions[-1].fingerprint == identity:
            return None
        number = len(versions) + 1
        path = self.root / record / f"v{number}-{identity}.avsc"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return SchemaVersion(record, number, schema, identity, path)

    def _version(self, record: str, path: Path) -> SchemaVersion:
        match = _VERSION_FILE.match(path.name)
        if match is None:
            raise HistoryError(f"{path}: not named v<N>-<16 hex digit fingerprint>.avsc")
        try:
            schema = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise HistoryError(f"{path}: not JSON: {error}") from None
        identity = fingerprint(schema)
        if identity != match.group(2):
            raise HistoryError(
                f"{path}: its content's fingerprint is {identity}: a recorded version was "
                "edited (record the change as a new version instead)"
            )
        return SchemaVersion(record, int(match.group(1)), schema, identity, path)


def record_current(root: Path = SCHEMAS_ROOT) -> list[SchemaVersion]:
    """Record every current schema whose canonical form the history does not end with."""
    history = History(root / HISTORY_FOLDER)
    recorded = []
    for record in current_schemas(root):
        version = history.record(record, (root / f"{record}.avsc").read_text())
        if version is not None:
            recorded.append(version)
    return recorded


def main(argv: list[str] | None = None) -> int:
    """``python -m schemas.history [record]``: list the history, or record the current
    schemas it lacks."""
    parser = argparse.ArgumentParser(prog="python -m schemas.history", description=main.__doc__)
    parser.add_argument("action", nargs="?", choices=["list", "record"], default="list")
    action = parser.parse_args(argv).action
    if action == "record":
        recorded = record_current()
        for version in recorded:
            print(f"recorded {version.record} v{version.number} ({version.fingerprint})")
        if not recorded:
            print("every current schema is recorded")
        return 0
    for version in History().all_versions():
        print(f"{version.record} v{version.number} {version.full_name}@{version.fingerprint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
