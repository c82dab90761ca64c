"""The sandbox's rate limit: a budget of calls per ad account over a sliding window.

Usage is reported on every response in the headers the real API sends
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting/): percentages of
the budget that grow with each call and decay as calls leave the window. Once an account
used its whole budget, calls are refused until enough of them have aged out.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Callable


class UsageMeter:
    """Calls per account in the last ``window_s`` seconds, against ``budget`` calls."""

    def __init__(
        self,
        budget: int,
        window_s: float,
        clock: Callable[[], float],
        app_budget: int | None = None,
    ) -> None:
        if budget < 1 or window_s <= 0:
            raise ValueError("the call budget and its window must be positive")
        self.budget = budget
        self.window_s = window_s
        self.app_budget = app_budget or budget * 10
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, account: str) -> bool:
        """Count a call for the account, or refuse it (uncounted) when the budget is spent."""
        with self._lock:
            calls = self._recent(account)
            if len(calls) >= self.budget:
                return False
            calls.append(self._clock())
            return True

    def percent(self, account: str) -> int:
        """The account's share of its budget used in the window, in %."""
        with self._lock:
            return math.ceil(100 * len(self._recent(account)) / self.budget)

    def app_percent(self) -> int:
        """All accounts' calls in the window against the app's budget, in %."""
        with self._lock:
            total = sum(len(self._recent(account)) for account in list(self._calls))
            return min(100, math.ceil(100 * total / self.app_budget))

    def regain_minutes(self, account: str) -> int:
        """Minutes until the account may call again (0 when it may now)."""
        with self._lock:
            calls = self._recent(account)
            if len(calls) < self.budget:
                return 0
            oldest_to_leave = calls[len(calls) - self.budget]
            return max(1, math.ceil((oldest_to_leave + self.window_s - self._clock()) / 60))

    def reset(self) -> None:
        """Forget every call (a test or demo starting afresh)."""
        with self._lock:
            self._calls.clear()

    def headers(self, account: str | None) -> dict[str, str]:
        """The usage headers of a response (for an account's call, or an unscoped one)."""
        app = self.app_percent()
        headers = {
            "x-app-usage": _json({"call_count": app, "total_cputime": app // 2, "total_time": app}),
        }
        if account is None:
            headers["x-business-use-case-usage"] = "{}"
            return headers
        used = self.percent(account)
        buc = {
            "type": "ads_insights",
            "call_count": used,
            "total_cputime": math.ceil(used * 0.6),
            "total_time": math.ceil(used * 0.8),
            "estimated_time_to_regain_access": self.regain_minutes(account),
        }
        tier = "standard_access"
        headers["x-business-use-case-usage"] = _json({account: [buc]})
        headers["x-ad-account-usage"] = _json(
            {
                "acc_id_util_pct": used,
                "reset_time_duration": math.ceil(self.window_s) if used else 0,
                "ads_api_access_tier": tier,
            }
        )
        headers["x-fb-ads-insights-throttle"] = _json(
            {"app_id_util_pct": app, "acc_id_util_pct": used, "ads_api_access_tier": tier}
        )
        return headers

    def _recent(self, account: str) -> deque[float]:
        calls = self._calls.setdefault(account, deque())
        horizon = self._clock() - self.window_s
        while calls and calls[0] <= horizon:
            calls.popleft()
        return calls


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))
