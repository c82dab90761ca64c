"""The PII policy on the CDC normalizer's records: dropped columns left out, hashed ones
replaced by their pseudonym, before anything reaches ``norm.cdc.*``.

Most records hold no column the policy touches; their bytes pass untouched (a record can
only hold such a column if the column's name appears in its Avro bytes, where names are
written as they are). The others are decoded, changed and encoded again.
"""

from __future__ import annotations

from functools import cache

from headwater.avro import encode, record_reader
from headwater.privacy.policy import CdcPolicy, apply_to_cdc_row
from headwater.privacy.pseudonyms import Pseudonymizer, pseudonymizer
from headwater.settings import Settings
from schemas import avro_schema
from stream_processors.output import Output

_RECORD = "norm/cdc_row"


class CdcPrivacy:
    """Applies the CDC column policy to the normalizer's outputs."""

    def __init__(self, settings: Settings) -> None:
        self._policy = CdcPolicy(settings)
        self._pseudonymize: Pseudonymizer | None = None
        if settings.processor.pseudonymization_key is not None:
            self._pseudonymize = pseudonymizer(settings, "")
        self._schema = avro_schema(_RECORD)
        self._read = record_reader(_RECORD)
        self._needles = cache(self._column_names)

    def _column_names(self, schema: str, table: str) -> tuple[bytes, ...]:
        return tuple(name.encode() for name in self._policy.candidates(schema, table))

    def __call__(self, outputs: list[Output]) -> list[Output]:
        """The outputs with the policy applied (tombstones and untouched records as they are)."""
        return [self._apply(output) for output in outputs]

    def _apply(self, output: Output) -> Output:
        if output.value is None:
            return output
        _, schema, table = output.topic.rsplit(".", 2)
        if not any(name in output.value for name in self._needles(schema, table)):
            return output
        record = self._read(output.value, output.headers)
        changed = apply_to_cdc_row(record, self._policy, self._pseudonymize)
        return Output(output.topic, output.key, encode(self._schema, changed), output.headers)
