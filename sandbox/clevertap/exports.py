"""Open event exports and their opaque cursors, as the sandbox's Get Events API serves them.

An export is a snapshot of the records visible when it was opened, so paging through it
returns each record exactly once even while late events arrive. A cursor names one page;
reading it again returns the same page and the same ``next_cursor`` (a retried request is
harmless). Cursors expire ``ttl_s`` after their export was opened.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    """One page of an export, and the cursor of the next page when there is one."""

    records: list[dict[str, Any]]
    next_cursor: str | None


@dataclass
class _Export:
    records: list[dict[str, Any]]
    batch_size: int
    opened_s: float


@dataclass
class _Position:
    export: _Export
    offset: int
    page_number: int
    next_cursor: str | None = None


class ExportStore:
    """The open exports; thread-safe."""

    def __init__(
        self,
        ttl_s: float = 3_600.0,
        clock: Callable[[], float] = time.monotonic,
        vary_page_size: bool = True,
    ) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.vary_page_size = vary_page_size
        self._positions: dict[str, _Position] = {}
        self._lock = threading.Lock()

    def open(self, records: list[dict[str, Any]], batch_size: int) -> str:
        """Snapshot the records; the cursor of the first page."""
        with self._lock:
            self._drop_expired()
            export = _Export(records=list(records), batch_size=batch_size, opened_s=self.clock())
            return self._cursor(export, offset=0, page_number=0)

    def page(self, cursor: str) -> Page | None:
        """The page a cursor names, or None when the cursor is unknown or expired."""
        with self._lock:
            position = self._positions.get(cursor)
            if position is None or self._expired(position.export):
                return None
            export = position.export
            end = position.offset + self._page_size(export.batch_size, position.page_number)
            if end < len(export.records) and position.next_cursor is None:
                position.next_cursor = self._cursor(export, end, position.page_number + 1)
            return Page(export.records[position.offset : end], position.next_cursor)

    def expire_all(self) -> int:
        """Invalidate every open cursor now; how many there were."""
        with self._lock:
            count = len(self._positions)
            self._positions.clear()
            return count

    @property
    def open_cursors(self) -> int:
        """Cursors currently valid or not yet swept."""
        with self._lock:
            return len(self._positions)

    def _page_size(self, batch_size: int, page_number: int) -> int:
        # "The batch size denotes the maximum number of records that can be fetched in a single
        # call. The response may vary." (https://developer.clevertap.com/docs/get-events-api):
        # every other page is shorter, so a client that stops at a short page loses records.
        if self.vary_page_size and page_number % 2 == 1:
            return max(1, (batch_size * 2) // 3)
        return batch_size

    def _cursor(self, export: _Export, offset: int, page_number: int) -> str:
        cursor = secrets.token_urlsafe(24)
        self._positions[cursor] = _Position(export, offset, page_number)
        return cursor

    def _expired(self, export: _Export) -> bool:
        return self.clock() - export.opened_s >= self.ttl_s

    def _drop_expired(self) -> None:
        stale = [cursor for cursor, at in self._positions.items() if self._expired(at.export)]
        for cursor in stale:
            del self._positions[cursor]
