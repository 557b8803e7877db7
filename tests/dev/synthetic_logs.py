"""Synthetic Lambda platform logs with known answers, in the three export forms ``lambda-kit logs`` reads.

Shared by tests/dev/test_logs.py and tests/dev/test_html_report.py.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone

BASE_MS = int(datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc).timestamp() * 1000)
STREAM = "2026/03/01/[3]0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Inv:
    """One synthetic invocation: when its handler started, for how long, and how it ended."""

    request_id: str
    start_ms: int  # the invocation's start (after INIT, for a cold start)
    duration_ms: float
    init_ms: float | None = None
    memory: int = 512
    used: int = 80
    status: str | None = None  # None (success), "error", "timeout"
    error_type: str | None = None

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms

    @property
    def billed(self) -> int:
        return math.ceil(self.duration_ms + (self.init_ms or 0))


def iso(ms: float) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def known_invocations() -> list[Inv]:
    """A day's ten minutes: one at a time, and at 12:05:33 a burst of exactly 7 at once."""
    found: list[Inv] = []
    for i in range(60):  # every 10 s from 12:00:00, 100 ms each: never two at once
        found.append(
            Inv(
                f"bg-{i:04d}",
                BASE_MS + i * 10_000,
                100.0 + i % 10,
                init_ms=250.0 if i == 0 else None,
                status="error" if i == 17 else "timeout" if i == 23 else None,
                error_type="Runtime.ExitError" if i == 17 else None,
                used=70 + i % 5,
            )
        )
    for k in range(7):  # 12:05:33.000 + 10 ms x k, 2 s each: all seven overlap from 33.060 to 35.000
        found.append(
            Inv(
                f"burst-{k}",
                BASE_MS + 5 * 60_000 + 33_000 + 10 * k,
                2000.0,
                init_ms=250.0 if k < 2 else None,
                used=90,
            )
        )
    return sorted(found, key=lambda inv: inv.end_ms)


def report_text(inv: Inv) -> str:
    fields = [
        f"REPORT RequestId: {inv.request_id}",
        f"Duration: {inv.duration_ms:.2f} ms",
        f"Billed Duration: {inv.billed} ms",
        f"Memory Size: {inv.memory} MB",
        f"Max Memory Used: {inv.used} MB",
    ]
    if inv.init_ms is not None:
        fields.append(f"Init Duration: {inv.init_ms:.2f} ms")
    if inv.status:
        fields.append(f"Status: {inv.status}")
        if inv.error_type:
            fields.append(f"Error Type: {inv.error_type}")
    return "\t".join(fields) + "\t"


def tail_text(invocations: list[Inv], *, junk: bool = True) -> str:
    """As ``aws logs tail`` prints them: time, stream, message."""
    lines = []
    for inv in invocations:
        lines.append(f"{iso(inv.start_ms)} {STREAM} START RequestId: {inv.request_id} Version: 3")
        lines.append(
            f"{iso(inv.start_ms + 1)} {STREAM} [INFO]\t{iso(inv.start_ms + 1)}\t{inv.request_id}\thello"
        )
        lines.append(f"{iso(inv.end_ms)} {STREAM} END RequestId: {inv.request_id}")
        lines.append(f"{iso(inv.end_ms)} {STREAM} {report_text(inv)}")
    if junk:
        lines.insert(5, f"{iso(BASE_MS)} {STREAM} REPORT RequestId: cut-short\tDuration: 12")
        lines.insert(9, "\x00\x01 garbage \ufffd line")
        lines.append("REPORT RequestId: truncated-at-the-end\tDuration: 3.1 ms\tBilled Dur")
    return "\n".join(lines) + "\n"


def filter_log_events(invocations: list[Inv]) -> str:
    """As ``aws logs filter-log-events --output json`` prints them (pretty, one document)."""
    events = []
    for inv in invocations:
        for at, message in (
            (inv.start_ms, f"START RequestId: {inv.request_id} Version: 3\n"),
            (inv.end_ms, f"END RequestId: {inv.request_id}\n"),
            (inv.end_ms, report_text(inv) + "\n"),
        ):
            events.append(
                {
                    "logStreamName": STREAM,
                    "timestamp": int(at) if float(at).is_integer() else at,
                    "message": message,
                    "ingestionTime": int(at) + 500,
                    "eventId": f"{len(events):056d}",
                }
            )
    return json.dumps({"events": events, "searchedLogStreams": []}, indent=4)


def json_format_records(inv: Inv) -> list[dict[str, object]]:
    metrics: dict[str, object] = {
        "durationMs": inv.duration_ms,
        "billedDurationMs": inv.billed,
        "memorySizeMB": inv.memory,
        "maxMemoryUsedMB": inv.used,
    }
    if inv.init_ms is not None:
        metrics["initDurationMs"] = inv.init_ms
    report: dict[str, object] = {
        "requestId": inv.request_id,
        "metrics": metrics,
        "status": inv.status or "success",
    }
    if inv.error_type:
        report["errorType"] = inv.error_type
    return [
        {
            "time": iso(inv.start_ms),
            "type": "platform.start",
            "record": {"requestId": inv.request_id, "version": "3"},
        },
        {"time": iso(inv.end_ms), "type": "platform.report", "record": report},
    ]


def json_log_lines(invocations: list[Inv]) -> str:
    """Lambda's JSON log format, one record per line (an export of the log group)."""
    lines = [json.dumps(r) for inv in invocations for r in json_format_records(inv)]
    lines.insert(3, json.dumps({"timestamp": "x", "level": "INFO", "message": "the function's own JSON"}))
    lines.insert(
        6, '{"time": "2026-03-01T12:00:00.000Z", "type": "platform.report", "record": {"requestId": "x"'
    )
    return "\n".join(lines) + "\n"
