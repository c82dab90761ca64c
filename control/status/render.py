"""The summary as one screen of text."""

from __future__ import annotations

from datetime import UTC, datetime

from control.status.summary import ServiceRow, Summary


def number(value: float | None) -> str:
    """1,234 (or - when unknown)."""
    return "-" if value is None else f"{value:,.0f}"


WIDTH = 100
SINCE_START = "*"  # marks a percentile over every observation, none being new in the window


def per_second(value: float | None) -> str:
    """A rate: one decimal below 100."""
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 100 and not value.is_integer() else f"{value:,.0f}"


def total_and_window(total: float, window: float | None) -> str:
    """Since start, and what of it is new in the window: 1,204 (+3)."""
    return f"{total:,.0f}" + (f" (+{window:,.0f})" if window else "")


def age(seconds: float | None) -> str:
    """42s, 3m10s, 45m, 1h02m, 2d03h (- when unknown)."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    for unit, size_s, smaller, smaller_s in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if whole >= size_s:
            rest = whole % size_s // smaller_s
            return f"{whole // size_s}{unit}" + (f"{rest:02d}{smaller}" if rest else "")
    if whole >= 60:
        return f"{whole // 60}m" + (f"{whole % 60:02d}s" if whole % 60 else "")
    return f"{whole}s"


def latency(seconds: float | None) -> str:
    """350ms, 1.20s, then as an age (- when unknown)."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.2f}s" if seconds < 60 else age(seconds)


def size(octets: float | None) -> str:
    """Bytes in binary units: 512 B, 12.3 MiB (- when unknown)."""
    if octets is None:
        return "-"
    value, unit = float(octets), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"


def _up(flag: bool | None) -> str:
    return "?" if flag is None else "up" if flag else "DOWN"


def _percentile(seconds: float | None, since_start: bool) -> str:
    return latency(seconds) + (SINCE_START if since_start and seconds is not None else "")


def _down(summary: Summary, prefix: str) -> list[str]:
    return [
        f"  {row.service:<30}DOWN ({row.address} does not answer)"
        for row in summary.services
        if not row.up and row.service.startswith(prefix)
    ]


def _readiness(row: ServiceRow) -> str:
    if row.ready is None:
        return "readiness ?" if row.up else "-"
    return "ready" if row.ready else "NOT READY: " + ", ".join(row.failing_checks or ["?"])


def _service_lines(summary: Summary) -> list[str]:
    lines = [f"{'SERVICES':<24}{'address':<22}{'state':<6}{'readiness':<36}version"]
    for row in summary.services:
        readiness = _readiness(row)
        readiness = readiness if len(readiness) < 36 else readiness[:32] + "..."
        lines.append(
            f"  {row.service:<22}{row.address:<22}{'up' if row.up else 'DOWN':<6}"
            f"{readiness:<36}{row.version or '-'}"
        )
    return lines


def _poller_lines(summary: Summary) -> list[str]:
    lines = []
    for row in summary.sources:
        last = "never" if row.last_success_age_s is None else age(row.last_success_age_s)
        last += f" / {age(row.stale_after_s)}" + (" STALE" if row.stale else "")
        usage = "-" if row.usage_percent is None else f"{row.usage_percent:.0f}%"
        outcomes = sorted(row.requests.items(), key=lambda item: (item[0] != "ok", -item[1]))
        requests = " · ".join(f"{outcome} {n:,.0f}" for outcome, n in outcomes) or "-"
        lines.append(
            f"  {row.source:<16}{per_second(row.rows_per_s):>8}  {last:<22}{usage:>6}"
            f"{number(row.errors):>8}{number(row.throttles):>10}  {requests}"
        )
    lines += _down(summary, "poll-")
    if not lines:
        return []
    header = f"{'POLLERS':<18}{'rows/s':>8}  {'last ok / stale after':<22}{'usage':>6}"
    return [header + f"{'errors':>8}{'throttled':>10}  API requests since start", *lines]


def _processor_lines(summary: Summary) -> list[str]:
    lines = []
    for row in summary.stages:
        lag = _percentile(row.event_lag_p50_s, row.event_lag_since_start)
        lines.append(
            f"  {row.stage:<16}{per_second(row.in_per_s):>9}{per_second(row.out_per_s):>9}  "
            f"{total_and_window(row.rejected_total, row.rejected):<18}"
            f"{total_and_window(row.filtered_total, row.filtered):<18}{lag:>13}"
        )
    lines += _down(summary, "processor")
    if not lines:
        return []
    header = (
        f"{'PROCESSOR':<18}{'in/s':>9}{'out/s':>9}  {'rejected':<18}{'filtered':<18}"
        f"{'event lag p50':>13}"
    )
    if summary.faust_lag_records is not None:
        lag = number(summary.faust_lag_records)
        lines.append(f"  Faust consumer lag {lag} records (end - committed offsets)")
    return [header, *lines]


def _sink_lines(summary: Summary) -> list[str]:
    lines = []
    for row in summary.sinks:
        lines.append(
            f"  {row.sink:<28}{per_second(row.records_per_s):>10}{number(row.lag_records):>10}"
            f"{_percentile(row.commit_p50_s, row.commit_since_start):>12}"
            f"{_percentile(row.commit_p99_s, row.commit_since_start):>10}  "
            f"{total_and_window(row.rejected_total, row.rejected):<14}"
            f"{total_and_window(row.retries_total, row.retries)}"
        )
    lines += _down(summary, "sink-")
    if not lines:
        return []
    header = (
        f"{'SINKS':<30}{'records/s':>10}{'lag':>10}{'commit p50':>12}{'p99':>10}  "
        f"{'rejected':<14}retries"
    )
    return [header, *lines]


def _cdc_lines(summary: Summary) -> list[str]:
    cdc = summary.cdc
    lines = []
    if cdc is not None:
        lines.append(
            f"CDC  Kafka Connect {_up(cdc.connect_up)} · source database {_up(cdc.source_up)}"
        )
        for connector in sorted(set(cdc.connectors) | set(cdc.tasks)):
            tasks = cdc.tasks.get(connector, {})
            listed = ", ".join(f"{task} {state}" for task, state in tasks.items()) or "none"
            state = cdc.connectors.get(connector, "?")
            lines.append(f"  {connector:<28}{state:<12}tasks {listed}")
        for slot in cdc.slots:
            active = {None: "", True: " · active", False: " · INACTIVE"}[slot.active]
            lines.append(
                f"  slot {slot.slot:<23}lag {size(slot.lag_bytes)}"
                f" · confirmed lag {size(slot.confirmed_lag_bytes)}{active}"
            )
    down = _down(summary, "cdc-")
    return lines + down if lines else ["CDC", *down] if down else []


def render(summary: Summary) -> list[str]:
    """The summary as at most ~40 lines of at most 100 columns."""
    services = summary.services
    up = sum(1 for row in services if row.up)
    ready = sum(1 for row in services if row.ready)
    when = datetime.fromtimestamp(summary.observed_at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    lines = [
        f"headwater status · {when} · window {summary.interval_s:g}s · "
        f"{len(services)} services, {up} up, {ready} ready · {'OK' if summary.ok else 'NOT OK'}",
        "",
        *_service_lines(summary),
    ]
    for section in (_poller_lines, _processor_lines, _sink_lines, _cdc_lines):
        part = section(summary)
        if part:
            lines += ["", *part]
    if any(
        row.event_lag_since_start and row.event_lag_p50_s is not None for row in summary.stages
    ) or any(row.commit_since_start and row.commit_p50_s is not None for row in summary.sinks):
        lines += [
            "",
            f"{SINCE_START} nothing new observed in the window: over everything since start",
        ]
    return [line[:WIDTH].rstrip() for line in lines]
