"""Column values: TOAST-sized text that does not compress, exact decimals, reproducibility."""

from __future__ import annotations

import zlib
from decimal import Decimal

from sandbox.source_db import values
from sandbox.source_db.values import seeded_random


def test_toast_text_is_over_8_kb_and_incompressible() -> None:
    rng = seeded_random(7)
    for _ in range(50):
        text = values.toast_text(rng)
        assert len(text.encode()) > 8192
        assert 12_000 <= len(text) <= 21_000
        assert len(zlib.compress(text.encode(), 9)) > 8192


def test_same_seed_same_values() -> None:
    def draw(seed: int) -> list[object]:
        rng = seeded_random(seed)
        return [values.toast_text(rng), values.random_uuid(rng), values.money(rng, 1, 10**6)]

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)


def test_decimals_are_exact_with_their_scale() -> None:
    rng = seeded_random(1)
    for _ in range(100):
        amount = values.money(rng, 1, 999_999)
        rate = values.rate4(rng, 1, 10**9)
        assert isinstance(amount, Decimal)
        assert amount.as_tuple().exponent == -2
        assert rate.as_tuple().exponent == -4


def test_random_uuid_is_version_4() -> None:
    assert values.random_uuid(seeded_random(1)).version == 4


def test_text_goes_beyond_ascii() -> None:
    names = " ".join(values.FIRST_NAMES + values.LAST_NAMES)
    for sample in ("Zoë", "Ångström", "Łukasz", "東京", "O'Brien"):
        assert sample in names
    assert any(not note.isascii() for note in values.SHORT_NOTES)
    assert "" in values.SHORT_NOTES  # an empty string, which is not NULL
