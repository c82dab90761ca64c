"""Finding the services, and reading their /metrics and /readyz.

Every service's /metrics is scraped twice, an interval apart (rates and "in the window"
counts are the growth between the two), and its /readyz once.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from control.stack.prometheus import PrometheusServer, read_targets
from control.status.scrape import Labels, scrape
from headwater.settings import StackSettings

Samples = list[tuple[str, Labels, float]]


@dataclass(frozen=True)
class Target:
    """A service's metrics server."""

    service: str
    address: str  # host:port


@dataclass(frozen=True)
class Readiness:
    """What /readyz answered."""

    ready: bool
    failing: list[str]


@dataclass(frozen=True)
class Observation:
    """What one service's endpoints answered; a scrape is None when it did not answer."""

    target: Target
    before: Samples | None
    after: Samples | None
    window_s: float  # between the two scrapes
    readiness: Readiness | None


def registered_targets(folder: Path) -> list[Target]:
    """The services registered in a Prometheus file-discovery folder (unreadable files skipped)."""
    return [Target(service, address) for service, address in read_targets(folder)]


def targets_folder(settings: StackSettings) -> Path:
    """The native stack's Prometheus targets folder, where ``headwater run`` registers."""
    return PrometheusServer(settings).targets


def read_readiness(url: str, timeout_s: float = 2.0) -> Readiness | None:
    """/readyz's answer (503 names the failing checks); None when it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:
            body = reply.read()
    except urllib.error.HTTPError as error:
        if error.code != 503:
            return None
        body = error.read()
    except OSError:
        return None
    try:
        answer = json.loads(body)
        checks = {str(name): bool(ok) for name, ok in answer.get("checks", {}).items()}
        return Readiness(bool(answer["ready"]), sorted(n for n, ok in checks.items() if not ok))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _scrape(target: Target) -> tuple[float, Samples | None]:
    samples = scrape(f"http://{target.address}/metrics")
    return time.monotonic(), samples  # when it answered


def observe(targets: Sequence[Target], interval_s: float) -> list[Observation]:
    """Scrape every target's /metrics twice ``interval_s`` apart, and its /readyz once."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(targets)))) as pool:
        first = list(pool.map(_scrape, targets))
        time.sleep(max(0.0, interval_s - (time.monotonic() - started)))
        ready = pool.map(lambda t: read_readiness(f"http://{t.address}/readyz"), targets)
        second = list(pool.map(_scrape, targets))
        return [
            Observation(target, before, after, at_after - at_before, readiness)
            for target, (at_before, before), (at_after, after), readiness in zip(
                targets, first, second, ready, strict=True
            )
        ]
