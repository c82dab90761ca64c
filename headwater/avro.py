"""Avro encoding for the topics we own: schemaless binary, the writer's schema named in a header.

Every record carries the header ``headwater.schema: <full name>@<fingerprint>``, for example
``headwater.norm.app.AppEvent@e3bcec81a104d83e``: the full name of the record it was written
as, and the fingerprint of the exact version of its schema (``schemas/history.py``: the
CRC-64-AVRO fingerprint of the Parsing Canonical Form, 16 hex digits). Writers compute the
value once per schema (:func:`schema_id`) and put the same bytes on every record.

A reader (:class:`RecordReader`) decodes each record with the writer schema its header names,
looked up among every version recorded in ``schemas/history/`` (:class:`WriterSchemas`), and
resolved to the reader's own schema by Avro's schema resolution: a field the writer did not
have takes its default, one the reader no longer has is skipped, an int is read as a long.
What the header may say:

- ``<full name>@<fingerprint>``: that version; a fingerprint no recorded version has is an
  :class:`UnknownWriterSchema`, which the sinks dead-letter with the reason
  ``unknown writer schema <header>``.
- ``<full name>`` alone (the legacy form, written before the history began): the first
  recorded version of that name. The schemas' canonical forms did not change before the
  history was started, so that is the schema every such record was written with.
- no header (a copy made without its headers, e.g. an older dead letter of the processor):
  the first recorded version of the reader's record, for the same reason.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from functools import cache
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError
from fastavro.schema import fullname

from headwater.errors import RejectedRecord
from schemas import avro_schema
from schemas.history import History, SchemaVersion, fingerprint

SCHEMA_HEADER = "headwater.schema"

Headers = Iterable[tuple[str, bytes | None]]


class UndecodableRecord(RejectedRecord):
    """A value that cannot be read as a record of the reader's schema."""


class UnknownWriterSchema(UndecodableRecord):
    """A record whose header names a schema no recorded version has."""

    def __init__(self, header: bytes) -> None:
        self.header = header
        super().__init__(f"unknown writer schema {_text(header)}")


#: What reading a value that is not a record of its schema raises: ours (a header naming no
#: recorded schema, or one the reader's cannot read), and fastavro's (it reads past the end,
#: an index beyond a union or an enum, a date out of range, bytes that are not UTF-8).
DECODE_ERRORS = (
    UndecodableRecord,
    ValueError,
    KeyError,
    TypeError,
    EOFError,
    IndexError,
    OverflowError,
)


def encode(schema: Any, record: dict[str, Any]) -> bytes:
    """Serialize one record with a parsed schema."""
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


def schema_id(schema: Any) -> bytes:
    """The ``headwater.schema`` header value that names a schema: ``<full name>@<fingerprint>``.

    Computing it costs a canonical form and a fingerprint: call it once per schema, never
    per record.
    """
    return f"{fullname(schema)}@{fingerprint(schema)}".encode()


def schema_header(headers: Headers) -> bytes | None:
    """The ``headwater.schema`` header of a record, if it has one."""
    for name, value in headers:
        if name == SCHEMA_HEADER:
            return value
    return None


class WriterSchemas:
    """The writer schemas a header can name: every recorded version of every record."""

    def __init__(self, versions: Iterable[Any]) -> None:
        """From schemas as written (JSON), each record's versions oldest first."""
        self._by_header: dict[bytes, Any] = {}
        self._first: dict[str, Any] = {}
        for written in versions:
            schema = parse_schema(written)
            self._by_header[schema_id(schema)] = schema
            name = str(fullname(schema))
            if name not in self._first:
                self._first[name] = schema
                self._by_header[name.encode()] = schema  # the legacy header, name only

    @classmethod
    def of(cls, versions: Iterable[SchemaVersion]) -> WriterSchemas:
        """The writer schemas of recorded versions."""
        return cls(version.schema for version in versions)

    def named(self, header: bytes) -> Any:
        """The parsed writer schema a header value names."""
        try:
            return self._by_header[header]
        except KeyError:
            raise UnknownWriterSchema(header) from None

    def first(self, name: str) -> Any | None:
        """The first recorded version of the record with this full name, if any."""
        return self._first.get(name)


@cache
def recorded_writers() -> WriterSchemas:
    """Every version in ``schemas/history/``, loaded once."""
    return WriterSchemas.of(History().all_versions())


class RecordReader:
    """Reads records of one schema, each with the writer schema its header names, resolved to
    this one (the reader's, normally the current ``schemas/<record>.avsc``)."""

    def __init__(self, schema: Any, writers: WriterSchemas | None = None) -> None:
        self.schema = schema
        self._writers = writers if writers is not None else recorded_writers()
        self._name = str(fullname(schema))
        self._own = schema_id(schema)
        # the writer of each header seen so far: the reader's own schema where they are the
        # same version (no resolution then), so a header costs one lookup per record
        self._seen: dict[bytes | None, Any] = {self._own: schema}

    def __call__(self, data: bytes, headers: Headers) -> dict[str, Any]:
        """One record's fields as the reader's schema has them."""
        header = schema_header(headers)
        writer = self._seen.get(header)
        if writer is None:
            writer = self._seen[header] = self._writer(header)
        try:
            return _read(data, writer, None if writer is self.schema else self.schema)
        except SchemaResolutionError as error:
            raise UndecodableRecord(
                f"writer schema {_text(header) if header else writer['name']} cannot be read "
                f"as {self._name}: {error}"
            ) from None

    def _writer(self, header: bytes | None) -> Any:
        if header is None:  # the first recorded version of this record
            writer = self._writers.first(self._name)
            if writer is None:
                return self.schema
        else:
            writer = self._writers.named(header)
        return self.schema if schema_id(writer) == self._own else writer


def _read(data: bytes, writer: Any, reader: Any) -> dict[str, Any]:
    record = schemaless_reader(io.BytesIO(data), writer, reader)
    if not isinstance(record, dict):
        raise TypeError(f"expected an Avro record, got {type(record).__name__}")
    return record


def _text(header: bytes) -> str:
    return header.decode(errors="replace")


def read_as_written(
    data: bytes, headers: Headers, writers: WriterSchemas | None = None
) -> dict[str, Any] | None:
    """A record as it was written, with the writer schema its header names and no reader's
    (to show it); None when it names none."""
    header = schema_header(headers)
    if header is None:
        return None
    writer = (writers if writers is not None else recorded_writers()).named(header)
    return _read(data, writer, None)


@cache
def record_reader(record: str) -> RecordReader:
    """The reader of the record ``schemas/<record>.avsc`` (``norm/app_event``)."""
    return RecordReader(avro_schema(record))
