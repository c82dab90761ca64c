"""Errors of the source-database sandbox (schema, seed and workload)."""

from __future__ import annotations

from headwater.errors import HeadwaterError, Terminal, Transient


class SourceDatabaseError(HeadwaterError):
    """Root of the source-database sandbox's errors."""


class InvalidSchemaName(SourceDatabaseError, Terminal):
    """A schema name that CDC could not capture (not a lower-case identifier)."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        super().__init__(
            f"schema {schema!r} is not a lower-case identifier ([a-z_][a-z0-9_]*, "
            "as HEADWATER_CDC__TABLES requires)"
        )


class SchemaMissing(SourceDatabaseError, Terminal):
    """The workload's tables do not exist in the schema it was pointed at."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        super().__init__(
            f"schema {schema!r} has no customers and orders tables; "
            f"run `headwater sandbox schema --schema {schema}` first"
        )


class SourceUnavailable(SourceDatabaseError, Transient):
    """The source database did not answer, or a transaction kept failing transiently."""


class ChangeRejected(SourceDatabaseError, Terminal):
    """The database refused a planned change for a reason retrying cannot fix (a bug)."""

    def __init__(self, change: str, cause: Exception) -> None:
        self.change = change
        self.cause = cause
        super().__init__(f"{change} was rejected: {type(cause).__name__}: {cause}")
