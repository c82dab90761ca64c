"""Errors of the stream processors."""

from __future__ import annotations

from headwater.errors import Terminal


class RejectedRecord(Terminal):
    """A record the processor cannot turn into its output; it goes to the DLQ with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
