"""The toy vendor's API, in memory: events per account, listed by day."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class ToyApi:
    """Accounts and their events; an event is a JSON object with an ISO UTC ``at``."""

    _events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, account: str, events: list[dict[str, Any]]) -> None:
        """Give an account these events (besides those it has)."""
        with self._lock:
            self._events.setdefault(account, []).extend(events)

    def accounts(self) -> list[str]:
        """Every account the API serves."""
        with self._lock:
            return sorted(self._events)

    def events(self, account: str, since: date, until: date) -> list[dict[str, Any]]:
        """The account's events whose day (UTC) lies in the inclusive range."""
        with self._lock:
            return [
                dict(event)
                for event in self._events.get(account, [])
                if since <= date.fromisoformat(str(event["at"])[:10]) <= until
            ]


#: The one instance the toy source's producer talks to (as a real client talks to its host).
TOY_API = ToyApi()
