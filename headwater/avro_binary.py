"""Avro's binary encoding by hand, for the hot paths: the same bytes fastavro writes, faster.

fastavro resolves every union branch and logical type per value; a record whose layout is
known ahead (flat fields of strings, longs, enums and ``["null", "string"]`` unions) can be
written by a closure per field instead. Anything outside that layout goes back to fastavro,
so the two always agree (a unit test compares them on the normalizers' corpora).
See the Avro specification, "Binary Encoding".
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from headwater.avro import encode

_DOUBLE = struct.Struct("<d")


_ONE_BYTE = [bytes((n,)) for n in range(0x80)]


def long_bytes(value: int) -> bytes:
    """A long (or int) as Avro writes it: zig-zag, then variable-length base 128."""
    zigzag = (value << 1) ^ (value >> 63)
    if zigzag < 0x80:
        return _ONE_BYTE[zigzag]
    if zigzag < 0x4000:
        return bytes(((zigzag & 0x7F) | 0x80, zigzag >> 7))
    out = []
    while zigzag >= 0x80:
        out.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    out.append(zigzag)
    return bytes(out)


def string_bytes(value: str) -> bytes:
    """A string: its UTF-8 length as a long, then the bytes."""
    data = value.encode()
    return long_bytes(len(data)) + data


def raw_bytes(value: bytes) -> bytes:
    """A bytes value: its length as a long, then the bytes."""
    return long_bytes(len(value)) + value


def double_bytes(value: float) -> bytes:
    """A double: 8 bytes, little-endian IEEE 754."""
    return _DOUBLE.pack(value)


class OutsideLayout(Exception):
    """A value the compiled writer does not handle; the caller falls back to fastavro."""


_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
FieldWriter = Callable[[Any], bytes]


def _write_string(value: Any) -> bytes:
    if type(value) is not str:
        raise OutsideLayout
    return string_bytes(value)


def _write_long(value: Any) -> bytes:
    if type(value) is not int or not _LONG_MIN <= value <= _LONG_MAX:
        raise OutsideLayout
    return long_bytes(value)


def _write_optional_string(value: Any) -> bytes:
    if value is None:
        return b"\x00"
    if type(value) is not str:
        raise OutsideLayout
    return b"\x02" + string_bytes(value)


def _enum_writer(symbols: list[str]) -> FieldWriter:
    indexes = {symbol: long_bytes(index) for index, symbol in enumerate(symbols)}

    def write(value: Any) -> bytes:
        try:
            return indexes[value]
        except (KeyError, TypeError):
            raise OutsideLayout from None

    return write


def _field_writer(kind: Any) -> FieldWriter | None:
    if kind == "string":
        return _write_string
    if kind in ("long", "int"):
        return _write_long
    if kind == ["null", "string"]:
        return _write_optional_string
    if isinstance(kind, dict):
        if kind.get("type") == "enum":
            return _enum_writer(list(kind["symbols"]))
        if kind.get("type") in ("long", "int"):  # date, timestamp-micros given as numbers
            return _write_long
    return None


class FlatRecordWriter:
    """Writes records of one flat schema; other layouts and values go through fastavro."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        writers = [(f["name"], _field_writer(f["type"])) for f in schema["fields"]]
        self._fields: list[tuple[str, FieldWriter]] | None = (
            [(name, writer) for name, writer in writers if writer is not None]
            if all(writer is not None for _, writer in writers)
            else None
        )

    def __call__(self, record: dict[str, Any]) -> bytes:
        """The record's Avro binary encoding, as ``headwater.avro.encode`` gives it."""
        if self._fields is not None:
            try:
                return b"".join([write(record[name]) for name, write in self._fields])
            except (OutsideLayout, KeyError):
                pass
        return encode(self.schema, record)
