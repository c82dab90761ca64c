"""The processor's catalogues: what a normalizer's run (the module's ``normalizer_run``) wrote,
as the shared catalogue tests take it."""

from __future__ import annotations

import pytest
from confluent_kafka import Message

from tests.support.stage_run import DeadLetter, NormalizerRun


@pytest.fixture(scope="module")
def letters(normalizer_run: NormalizerRun) -> dict[int, DeadLetter]:
    """The dead letters of the raw topic, by the offset they stand for."""
    return normalizer_run.outcome.letters(normalizer_run.raw)


@pytest.fixture(scope="module")
def landed(normalizer_run: NormalizerRun) -> list[Message]:
    """Every record on the normalized topic."""
    return normalizer_run.outcome.outputs[normalizer_run.normalized]
