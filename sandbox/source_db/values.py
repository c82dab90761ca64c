"""Column values for the sandbox tables, drawn from a seeded :class:`random.Random`.

Everything here is pure: the same generator state gives the same values, so a seed
reproduces a data set. Text is deliberately international (accents, CJK, Greek,
Cyrillic, Arabic, emoji, quotes and backslashes), decimals are exact with their
column's scale, and :func:`toast_text` makes values that PostgreSQL must store out of
line because they cannot be compressed below the TOAST threshold.
"""

from __future__ import annotations

import base64
import random
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final, TypeVar

from sandbox.campaigns import CAMPAIGNS, Campaign

T = TypeVar("T")

# A value this long is over PostgreSQL's 8 kB page, so it can only live in the TOAST table.
TOAST_MIN_BYTES: Final = 8192

FIRST_NAMES: Final = (
    "Zoë", "Łukasz", "José", "Søren", "Ünal", "Renée", "Björk", "Chloé", "Nguyễn", "太郎",
    "Oğuz", "Siobhán", "Ναταλία", "Дмитрий", "أحمد", "Priya", "Conan", "Émile", "Ana", "Olga",
)  # fmt: skip
LAST_NAMES: Final = (
    "Ångström", "Wiśniewski", "García", "Kierkegaard", "Çelik", "Dvořák", "O'Brien", "東京",
    "Müller", "Nørgaard", "Smith", "Kowalczyk", "Šťastný", "Σπυρόπουλος", "Иванов", "Lee",
)  # fmt: skip
CITIES: Final = (
    ("Kraków", "PL"), ("São Paulo", "BR"), ("Zürich", "CH"), ("東京", "JP"), ("Malmö", "SE"),
    ("Reykjavík", "IS"), ("München", "DE"), ("Łódź", "PL"), ("New York", "US"),
    ("Montréal", "CA"), ("Αθήνα", "GR"), ("İstanbul", "TR"), ("Austin", "US"), ("Dublin", "IE"),
)  # fmt: skip
# ISO 4217 code and an exchange rate to USD (None for USD itself: nothing to convert).
CURRENCIES: Final = (
    ("USD", None), ("EUR", Decimal("1.0842")), ("GBP", Decimal("1.2710")),
    ("PLN", Decimal("0.2496")), ("SEK", Decimal("0.0951")), ("JPY", Decimal("0.0067")),
    ("BRL", Decimal("0.1987")), ("CHF", Decimal("1.1250")),
)  # fmt: skip
PRODUCTS: Final = (
    "Café crème ☕", "Teddy bear 🧸", "Trail shoes", "Smørrebrød plate", "抹茶 tea set",
    "Crème brûlée torch", "Wool scarf (100 %)", "USB-C cable 2 m", 'Poster "Łódź by night"',
)  # fmt: skip
SHORT_NOTES: Final = (
    "Leave at the door — merci!",
    "Bitte nicht knicken 📦",
    "配達前に電話してください",
    'Customer wrote: "ASAP!!" \\ use the side gate',
    "line one\nline two\ttabbed",
    "Gift wrap 🎁, no invoice in the box",
    "",
)
EMOJI: Final = ("🎉", "🚀", "🌊", "☕", "👍🏽")
_STATUS_WEIGHTS: Final = {"pending": 20, "paid": 30, "shipped": 35, "cancelled": 8, "refunded": 7}


def seeded_random(seed: int) -> random.Random:
    """The generator every sandbox value is drawn from: reproducible, never for secrets."""
    return random.Random(seed)  # noqa: S311


def maybe(rng: random.Random, probability: float, value: T) -> T | None:
    """``value`` with the given probability, else NULL."""
    return value if rng.random() < probability else None


def random_uuid(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID drawn from ``rng`` (reproducible, unlike uuid4)."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def money(rng: random.Random, low_cents: int, high_cents: int) -> Decimal:
    """An exact amount with two decimals, for numeric(12,2)."""
    return Decimal(rng.randint(low_cents, high_cents)).scaleb(-2)


def rate4(rng: random.Random, low: int, high: int) -> Decimal:
    """An exact number with four decimals, for numeric(14,4) (bounds in ten-thousandths)."""
    return Decimal(rng.randint(low, high)).scaleb(-4)


def full_name(rng: random.Random) -> str:
    """A person's name, often with letters outside ASCII, sometimes with an emoji."""
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    return f"{name} {rng.choice(EMOJI)}" if rng.random() < 0.05 else name


def email(rng: random.Random, customer_id: int) -> str:
    """A unique-looking address on a reserved domain."""
    return f"customer{customer_id}.{rng.randrange(1_000_000):06d}@example.com"


def phone(rng: random.Random) -> str:
    """An international phone number."""
    return f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"  # noqa: E501


def local_timestamp(rng: random.Random, now: datetime, within_days: int) -> datetime:
    """A wall-clock time (no time zone) in the last ``within_days``, with microseconds."""
    offset = timedelta(days=rng.uniform(0, within_days))
    return (now - offset).replace(tzinfo=None)


def upcoming_local_timestamp(rng: random.Random, now: datetime, within_days: int) -> datetime:
    """A wall-clock time (no time zone) in the next ``within_days``, with microseconds."""
    return (now + timedelta(days=rng.uniform(0, within_days))).replace(tzinfo=None)


def past_instant(rng: random.Random, now: datetime, within_days: int) -> datetime:
    """An instant (with time zone) in the last ``within_days``, with microseconds."""
    return now - timedelta(days=rng.uniform(0, within_days))


def birth_date(rng: random.Random) -> date:
    """A date of birth of an adult customer."""
    return date(1950, 1, 1) + timedelta(days=rng.randrange(55 * 365))


def preferences(rng: random.Random) -> dict[str, object]:
    """A customer's preferences document (nested, with non-ASCII text)."""
    return {
        "language": rng.choice(["en", "de", "pl", "ja", "pt-BR", "el"]),
        "channels": rng.sample(["email", "sms", "push", "whatsapp"], k=rng.randint(0, 3)),
        "newsletter": rng.random() < 0.5,
        "sizes": {"shoe": rng.randint(35, 48), "shirt": rng.choice(["S", "M", "L", "XL"])},
        "nickname": rng.choice(FIRST_NAMES),
    }


def line_items(rng: random.Random, count: int) -> list[dict[str, object]]:
    """The products of an order, with exact unit prices as strings."""
    return [
        {
            "sku": f"SKU-{rng.randrange(100_000):05d}",
            "name": rng.choice(PRODUCTS),
            "qty": rng.randint(1, 3),
            "unit_price": str(money(rng, 199, 19_999)),
        }
        for _ in range(count)
    ]


def toast_text(rng: random.Random) -> str:
    """Text of 12 to 20 kB that no compressor shrinks below 8 kB, so it is TOASTed out of line."""
    payload = base64.b64encode(rng.randbytes(rng.randint(9_000, 15_000))).decode("ascii")
    return f"packing log 📦 {payload}"


def notes(rng: random.Random) -> str | None:
    """An order's notes: NULL, a short remark, or (1 in 20) a TOAST-sized log."""
    draw = rng.random()
    if draw < 0.05:
        return toast_text(rng)
    if draw < 0.45:
        return rng.choice(SHORT_NOTES)
    return None


def attribution(rng: random.Random) -> Campaign | None:
    """The campaign an order came from; about a third of orders have none."""
    return rng.choice(CAMPAIGNS) if rng.random() < 0.65 else None


def historic_status(rng: random.Random) -> str:
    """The status of an order placed a while ago."""
    statuses = list(_STATUS_WEIGHTS)
    return rng.choices(statuses, weights=[_STATUS_WEIGHTS[s] for s in statuses])[0]
