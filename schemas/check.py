"""``python -m schemas.check`` (part of ``make lint``): every record written can still be read.

For every record ``schemas/<record>.avsc``:

1. its history (``schemas/history/<record>/``) is well formed and ends with the current
   schema's fingerprint: a changed schema is recorded (``python -m schemas.history record``);
2. the current schema, as the reader, can read every recorded version, as the writer, by
   Avro's schema resolution. Apache Avro's ``ReaderWriterCompatibilityChecker`` (the Python
   port of Java's ``SchemaCompatibility``) decides it: a field the reader adds needs a
   default, a type may only widen (int to long, float or double; long to float or double;
   float to double; string and bytes), a union may gain branches and an enum symbols, and a
   renamed field or record keeps its old name as an alias;
3. no logical type changed under a field whose encoding did not (a long of microseconds
   read as milliseconds): resolution cannot see it, the values would change meaning.

Exits 1 with one line per problem. ``avro`` is a development dependency (``.[dev]``): only
this check uses it; the services read with fastavro.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import avro.errors
import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from schemas.history import (
    HISTORY_FOLDER,
    SCHEMAS_ROOT,
    History,
    HistoryError,
    current_schemas,
    fingerprint,
)


def incompatibilities(reader: Any, writer: Any) -> list[str]:
    """Why a reader schema cannot read every record a writer schema wrote (none: it can).

    Both as written (JSON).
    """
    try:
        parsed_reader = avro.schema.parse(json.dumps(reader))
        parsed_writer = avro.schema.parse(json.dumps(writer))
    except avro.errors.AvroException as error:
        return [f"not a valid Avro schema: {error}"]
    result = ReaderWriterCompatibilityChecker().get_compatibility(parsed_reader, parsed_writer)
    found = []
    if result.compatibility is not SchemaCompatibilityType.compatible:
        kinds = sorted(str(kind).rsplit(".", 1)[-1] for kind in result.incompatibilities)
        where = ", ".join(sorted(location for location in result.locations if location != "/"))
        what = "; ".join(sorted(str(message) for message in result.messages))
        found.append(f"{', '.join(kinds)} at {where or '/'}: {what}")
    return found + logical_type_changes(reader, writer)


def logical_type_changes(reader: Any, writer: Any, path: str = "") -> list[str]:
    """Where the reader gives a value another logical type than the writer did, the encoding
    being the same (fields matched by name or alias, union branches by type)."""
    changes = []
    written = {_branch(branch): branch for branch in _branches(writer)}
    for branch in _branches(reader):
        match = written.get(_branch(branch))
        if match is None:
            continue
        if _logical(branch) != _logical(match):
            changes.append(
                f"logical type at {path or '/'}: {_logical(match) or 'none'} written, "
                f"{_logical(branch) or 'none'} read"
            )
        elif isinstance(branch, dict) and isinstance(match, dict):
            changes += _nested_changes(branch, match, path)
    return changes


def _nested_changes(reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
    kind = reader["type"]
    if kind == "array":
        return logical_type_changes(reader["items"], writer["items"], f"{path}/items")
    if kind == "map":
        return logical_type_changes(reader["values"], writer["values"], f"{path}/values")
    if kind != "record":
        return []
    fields = {field["name"]: field for field in writer["fields"]}
    changes = []
    for field in reader["fields"]:
        names = [field["name"], *field.get("aliases", [])]
        match = next((fields[name] for name in names if name in fields), None)
        if match is not None:
            changes += logical_type_changes(field["type"], match["type"], f"{path}/{field['name']}")
    return changes


def _branches(schema: Any) -> list[Any]:
    return list(schema) if isinstance(schema, list) else [schema]


def _branch(schema: Any) -> str:
    """What pairs a reader's union branch with the writer's: its name or encoding type."""
    if isinstance(schema, dict):
        return str(schema.get("name") or schema["type"])
    return str(schema)


def _logical(schema: Any) -> str | None:
    return schema.get("logicalType") if isinstance(schema, dict) else None


def check(root: Path = SCHEMAS_ROOT) -> list[str]:
    """The problems of the schemas under ``root`` and their history (none: all is well)."""
    history = History(root / HISTORY_FOLDER)
    problems = []
    for record, current in current_schemas(root).items():
        try:
            versions = history.versions(record)
        except HistoryError as error:
            problems.append(f"{record}: {error}")
            continue
        identity = fingerprint(current)
        if not versions or versions[-1].fingerprint != identity:
            problems.append(
                f"{record}: the current schema ({identity}) is not the last recorded version "
                "in schemas/history: record it with `python -m schemas.history record`"
            )
        for version in versions:
            problems += [
                f"{record}: cannot read v{version.number} ({version.fingerprint}): {reason}"
                for reason in incompatibilities(current, version.schema)
            ]
    return problems


def main() -> int:
    """Print the problems; 1 when there are any."""
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("schemas: every current schema is recorded and reads every recorded version")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
