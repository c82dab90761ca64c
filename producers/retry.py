"""Bounded retries with exponential backoff and full jitter, honouring the API's wait hints."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from headwater.errors import is_transient
from producers import metrics
from producers.base import RateLimited

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry transient errors."""

    attempts: int = 6
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0

    def delay(self, attempt: int, error: BaseException) -> float:
        """Seconds to wait before the next attempt: the API's hint, else backoff with jitter."""
        if isinstance(error, RateLimited) and error.retry_after_s is not None:
            return min(error.retry_after_s, self.max_delay_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography


def with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[BaseException, float], None] | None = None,
    source: str | None = None,
) -> T:
    """Run ``call``; retry it on transient errors up to the policy's attempts, else raise.

    With ``source``, the time slept counts in ``headwater_poller_backoff_seconds_total``.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except Exception as error:
            if not is_transient(error) or attempt == policy.attempts:
                raise
            delay = policy.delay(attempt, error)
            log.warning(
                "transient API error; retrying",
                extra={
                    "call": what,
                    "attempt": attempt,
                    "delay_s": round(delay, 2),
                    "error": str(error),
                },
            )
            if on_retry is not None:
                on_retry(error, delay)
            if source is not None:
                metrics.slept(source, "retry", delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
