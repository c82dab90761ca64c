"""Seeded CleverTap events: what the sandbox account recorded each day, and when each arrives.

Each (event name, day) is generated from its own seeded generator, so any day can be
produced on demand, in any order, and is the same on every run. Events of the most recent
days arrive in waves ("arrival epochs", advanced by the sandbox) because CleverTap exports
lag real time and events arrive late; older days are complete.
"""

from __future__ import annotations

import copy
import random
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, Final

from sandbox.campaigns import CAMPAIGNS, Campaign, campaigns_of

EVENT_NAMES: Final = ("App Installed", "App Launched", "Sign Up", "Charged")

# Average events per day; each day varies by up to 15 % around these.
DEFAULT_DAILY_VOLUME: Final[Mapping[str, int]] = MappingProxyType(
    {"App Installed": 60, "App Launched": 320, "Sign Up": 45, "Charged": 70}
)

# Share of events whose user is still anonymous (no identity, email or phone yet).
_ANONYMOUS: Final = {"App Installed": 0.6, "App Launched": 0.15, "Sign Up": 0.0, "Charged": 0.0}
# Share of events that carry campaign attribution in their event_props.
_ATTRIBUTED: Final = {"App Installed": 0.75, "App Launched": 0.0, "Sign Up": 0.7, "Charged": 0.6}
# Share of "App Launched" events the SDK sent twice: identical, to the second.
_DOUBLE_FIRED: Final = 0.01

_APP_VERSIONS: Final = ("4.11.0", "4.12.1", "4.13.0")
_CITIES: Final = ("Mumbai", "Bengaluru", "Delhi", "Pune", "Chennai", "Kolkata", "Jaipur")
_FIRST_NAMES: Final = ("Aarav", "Diya", "Ishaan", "Meera", "Rohan", "Saanvi", "Vihaan", "Zoë")
_LAST_NAMES: Final = ("Sharma", "Iyer", "Nair", "Gupta", "Kulkarni", "Das", "Müller", "Reddy")
_CATEGORIES: Final = ("shoes", "apparel", "accessories", "bags")
_PAYMENT_MODES: Final = ("UPI", "Credit Card", "Debit Card", "Net Banking", "Wallet")
_CACHED_DAYS: Final = 512


@dataclass(frozen=True)
class Lateness:
    """Which days receive late events, what share of their events, and how late."""

    recent_days: int = 2  # today and the day before
    fraction: float = 0.12
    max_epochs: int = 2

    def is_recent(self, day: date, today: date) -> bool:
        """Whether the day still receives late events."""
        return today - timedelta(days=self.recent_days) < day <= today


@dataclass(frozen=True)
class SandboxEvent:
    """One recorded event (its export record) and the arrival epoch from which it is served."""

    record: dict[str, Any]
    arrival: int


def ts_of(day: date, second: int) -> int:
    """CleverTap's ``ts``: YYYYMMDDHHMMSS as an integer, in the account's timezone."""
    hours, rest = divmod(second, 3600)
    minutes, seconds = divmod(rest, 60)
    return int(f"{day:%Y%m%d}{hours:02d}{minutes:02d}{seconds:02d}")


class EventHistory:
    """Every event of the sandbox account, generated on demand per event name and day."""

    def __init__(
        self,
        seed: int,
        daily_volume: Mapping[str, int] | None = None,
        users: int = 2_000,
        lateness: Lateness | None = None,
    ) -> None:
        volume = dict(DEFAULT_DAILY_VOLUME if daily_volume is None else daily_volume)
        unknown = set(volume) - set(EVENT_NAMES)
        if unknown:
            raise ValueError(f"no generator for events {sorted(unknown)}")
        if users < 1:
            raise ValueError("the account needs at least one user")
        self.seed = seed
        self.daily_volume: Mapping[str, int] = MappingProxyType(volume)
        self.users = users
        self.lateness = lateness or Lateness()
        self._days: OrderedDict[tuple[str, date], tuple[SandboxEvent, ...]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def event_names(self) -> tuple[str, ...]:
        """The events this account records."""
        return tuple(name for name in EVENT_NAMES if name in self.daily_volume)

    def day(self, event_name: str, day: date) -> tuple[SandboxEvent, ...]:
        """Every event of that name on that day, ordered by ``ts``; KeyError for unknown names."""
        if event_name not in self.daily_volume:
            raise KeyError(event_name)
        key = (event_name, day)
        with self._lock:
            cached = self._days.get(key)
            if cached is not None:
                self._days.move_to_end(key)
                return cached
        events = self._generate(event_name, day)
        with self._lock:
            self._days[key] = events
            while len(self._days) > _CACHED_DAYS:
                self._days.popitem(last=False)
        return events

    def visible(self, event_name: str, day: date, epoch: int, today: date) -> list[dict[str, Any]]:
        """The records an export of that day serves at this arrival epoch (none after today)."""
        if day > today:
            return []
        events = self.day(event_name, day)
        if not self.lateness.is_recent(day, today):
            return [event.record for event in events]
        return [event.record for event in events if event.arrival <= epoch]

    def _generate(self, event_name: str, day: date) -> tuple[SandboxEvent, ...]:
        rng = random.Random(f"{self.seed}|{event_name}|{day.isoformat()}")  # noqa: S311
        count = round(self.daily_volume[event_name] * rng.uniform(0.85, 1.15))
        events: list[SandboxEvent] = []
        for second in sorted(rng.randrange(86_400) for _ in range(count)):
            user = rng.randrange(self.users)
            anonymous = rng.random() < _ANONYMOUS[event_name]
            record = {
                "profile": self._profile(user, anonymous),
                "ts": ts_of(day, second),
                "event_props": _event_props(rng, event_name),
            }
            events.append(SandboxEvent(record, self._arrival(rng)))
            if event_name == "App Launched" and rng.random() < _DOUBLE_FIRED:
                events.append(SandboxEvent(copy.deepcopy(record), self._arrival(rng)))
        return tuple(events)

    def _arrival(self, rng: random.Random) -> int:
        if rng.random() >= self.lateness.fraction or self.lateness.max_epochs < 1:
            return 0
        return rng.randint(1, self.lateness.max_epochs)

    def _profile(self, user: int, anonymous: bool) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}|user|{user}")  # noqa: S311
        object_id = f"__{rng.getrandbits(128):032x}"
        platform = "Android" if rng.random() < 0.6 else "iOS"
        if anonymous:
            return {"objectId": object_id, "platform": platform, "profileData": {}}
        customer_id = user + 1
        return {
            "identity": str(customer_id),
            "objectId": object_id,
            "email": f"customer{customer_id}.{rng.randrange(1_000_000):06d}@example.com",
            "phone": f"+91{rng.randrange(6_000_000_000, 9_999_999_999)}",
            "platform": platform,
            "profileData": {
                "Name": f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}",
                "City": rng.choice(_CITIES),
                "Customer Type": rng.choice(("Bronze", "Silver", "Gold")),
            },
        }


def _event_props(rng: random.Random, event_name: str) -> dict[str, Any]:
    props: dict[str, Any]
    if event_name == "Charged":
        props = _charged(rng)
    elif event_name == "Sign Up":
        props = {"Method": rng.choice(("email", "phone", "google"))}
    else:
        props = {"App Version": rng.choice(_APP_VERSIONS)}
        if event_name == "App Launched":
            props["Session Source"] = rng.choice(("organic", "push", "deeplink"))
    if rng.random() < _ATTRIBUTED[event_name]:
        props.update(_attribution(rng, event_name))
    return props


def _charged(rng: random.Random) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    amount = 0.0
    for _ in range(rng.randint(1, 3)):
        quantity, price = rng.randint(1, 3), round(rng.uniform(199, 4_999), 2)
        items.append({"Category": rng.choice(_CATEGORIES), "Quantity": quantity, "Price": price})
        amount += quantity * price
    return {
        "Amount": round(amount, 2),
        "Currency": "INR",
        "Payment mode": rng.choice(_PAYMENT_MODES),
        "Charged ID": f"CT{rng.randrange(10**10):010d}",
        "Items": items,
    }


def _attribution(rng: random.Random, event_name: str) -> dict[str, str]:
    """UTM parameters from the catalog; one in ten attributed events lacks the campaign id."""
    pool: tuple[Campaign, ...] = (
        campaigns_of("facebook") + campaigns_of("google")
        if event_name == "App Installed"
        else CAMPAIGNS
    )
    campaign = rng.choice(pool)
    props = {"utm_source": campaign.utm_source, "utm_campaign": campaign.utm_campaign}
    if rng.random() >= 0.1:
        props["campaign_id"] = campaign.campaign_id
    return props
