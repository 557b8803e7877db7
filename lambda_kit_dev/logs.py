"""``lambda-kit logs``: what Lambda's own platform log lines say about a function in production.

:func:`analyse` reads exports of a function's log group and adds up its REPORT
records, per function and version: invocations, errors and timeouts, the cold-start
share, Init / Duration / Billed Duration percentiles, Max Memory Used against Memory
Size, concurrency over time, the cost per million invocations and a right-sizing
suggestion. :func:`format_report` prints it; ``to_dict()`` is the ``--json`` form.

Three export forms are read, told apart by their content (each file on its own):

* plain text: ``START`` / ``END`` / ``REPORT`` lines as ``aws logs tail`` prints them
  (an ISO timestamp and the log stream first) or as a console export gives them
  (the bare lines, with or without a leading timestamp);
* ``aws logs filter-log-events`` JSON (``{"events": [{"timestamp", "message",
  "logStreamName"}, ...]}``, one document or several), or those events one per line;
* Lambda's JSON log format: ``platform.start`` and ``platform.report`` records
  (``{"time", "type", "record": {"requestId", "metrics": {...}, "status"}}``), one
  per line or as the messages of ``filter-log-events`` events.

The model: one invocation occupies its execution environment from ``REPORT time -
Duration - Init Duration`` to ``REPORT time`` (Lambda writes REPORT when the
invocation ends; INIT precedes a cold start's invocation). Concurrency is the number
of such intervals that overlap, swept exactly in time order: an interval is held
for as long as a longer one may still report (15 minutes of timeout, 10 s of INIT
and 5 s for the interleaving of log streams), so memory grows with the request
rate (about 64 bytes per invocation of the last 15 minutes), never with the file's length.
Percentiles are exact up to 200,000 values per figure, then come from a log-scale
histogram with buckets 1 % wide. Lines that are not platform lines (the function's
own output) are counted as ``other``; platform lines that cannot be read (truncated,
garbled) and JSON that does not parse are counted as ``bad`` and skipped.

Example:
    >>> report = analyse(["export.log"])  # doctest: +SKIP
    >>> print(format_report(report))  # doctest: +SKIP

From the command line: ``lambda-kit logs export.log [--json] [--html report.html]``.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import re
import textwrap
import zlib
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lambda_kit.exceptions import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Iterator, Sequence
    from typing import IO, Any

__all__ = [
    "INSIGHTS_QUERY",
    "INSIGHTS_QUERY_JSON",
    "PRICES",
    "FunctionSummary",
    "LogsReport",
    "Quantiles",
    "add_arguments",
    "analyse",
    "format_report",
    "run",
]

# AWS Lambda pricing, US East (N. Virginia), first tier (aws.amazon.com/lambda/pricing,
# read 2026-12-03): duration per GB-second by architecture, and per request. INIT is
# billed for on-demand functions since 1 August 2025.
PRICES: dict[str, float] = {
    "x86_64": 0.0000166667,
    "arm64": 0.0000133334,
    "request": 0.20 / 1_000_000,
}
MIN_MEMORY_MB = 128
MAX_MEMORY_MB = 10_240
FULL_VCPU_MB = 1_769  # Lambda gives one full vCPU at 1,769 MB; CPU share scales with memory
MEMORY_STEP_MB = 64  # suggestions are rounded up to a multiple of this
DEFAULT_HEADROOM = 0.2
EXACT_VALUES = 200_000  # per figure, percentiles are exact up to this many values
_REORDER_SLACK_MS = 5_000.0  # how far REPORT times of different log streams may be out of order
_WINDOW_MS = 900_000.0 + 10_000.0 + _REORDER_SLACK_MS  # the longest occupancy: timeout + INIT
_PENDING_CAP = 65_536  # request ids whose START (version) waits for its REPORT
_MAX_ELEMENT_CHARS = 8 << 20  # a JSON value larger than this is garbage, not a log event
_LINE_LIMIT = 1 << 20  # a text line longer than this is cut and counted as bad

# The figure that `lambda-kit logs` prints as the Insights concurrency (the mean
# concurrency of each minute, invocations attributed to the minute their REPORT was
# written in) comes out of these queries exactly: text and JSON log format.
INSIGHTS_QUERY = (
    'filter @type = "REPORT"\n'
    "| stats sum(@duration + coalesce(@initDuration, 0)) / 60000 as concurrency, count(*) as invocations"
    " by bin(1m) as minute\n"
    "| sort concurrency desc\n"
    "| limit 10"
)
INSIGHTS_QUERY_JSON = (
    'filter type = "platform.report"\n'
    "| stats sum(record.metrics.durationMs + coalesce(record.metrics.initDurationMs, 0)) / 60000"
    " as concurrency, count(*) as invocations by bin(1m) as minute\n"
    "| sort concurrency desc\n"
    "| limit 10"
)


class Quantiles:
    """Percentiles of a stream of non-negative values in bounded memory.

    Exact (nearest rank, as :func:`lambda_kit_dev.bench.percentile`) while at most
    ``exact_cap`` values have been added; after that, every value goes into a
    log-scale histogram whose buckets are ``accuracy`` wide (relative), and a
    percentile is the midpoint of its bucket, within ``accuracy / 2`` of the truth.

    Example:
        >>> q = Quantiles()
        >>> for v in (1.0, 2.0, 3.0, 4.0):
        ...     q.add(v)
        >>> q.percentile(50), q.count, q.mean
        (2.0, 4, 2.5)
    """

    def __init__(self, *, exact_cap: int | None = None, accuracy: float = 0.01) -> None:
        self.exact_cap = EXACT_VALUES if exact_cap is None else exact_cap
        self._gamma = math.log1p(accuracy)
        self._values: array[float] | None = array("d")
        self._buckets: dict[int, int] = {}
        self._zeros = 0
        self.count = 0
        self.total = 0.0
        self._maximum = -math.inf
        self._minimum = math.inf

    @property
    def exact(self) -> bool:
        """Whether percentiles are still exact."""
        return self._values is not None

    @property
    def mean(self) -> float:
        """The mean of the values (NaN for none): exact at any count."""
        return self.total / self.count if self.count else math.nan

    @property
    def maximum(self) -> float:
        """The largest value (-inf for none)."""
        if self._values is not None:
            return max(self._values, default=-math.inf)
        return self._maximum

    @property
    def minimum(self) -> float:
        """The smallest value (inf for none)."""
        if self._values is not None:
            return min(self._values, default=math.inf)
        return self._minimum

    def add(self, value: float) -> None:
        """Add one value (negative values count as 0)."""
        if value < 0.0:
            value = 0.0
        self.count += 1
        self.total += value
        values = self._values
        if values is not None:
            values.append(value)
            if self.count > self.exact_cap:
                self._minimum, self._maximum = min(values), max(values)
                self._values = None
                for kept in values:
                    self._bucket(kept)
            return
        if value > self._maximum:
            self._maximum = value
        if value < self._minimum:
            self._minimum = value
        self._bucket(value)

    def _bucket(self, value: float) -> None:
        if value <= 0.0:
            self._zeros += 1
            return
        key = math.floor(math.log(value) / self._gamma)
        self._buckets[key] = self._buckets.get(key, 0) + 1

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0 < q <= 100); NaN for no values."""
        if not self.count:
            return math.nan
        rank = max(1, math.ceil(q / 100 * self.count))
        if self._values is not None:
            return sorted(self._values)[rank - 1]
        seen = self._zeros
        if rank <= seen:
            return 0.0
        for key in sorted(self._buckets):
            seen += self._buckets[key]
            if rank <= seen:
                middle = math.exp((key + 0.5) * self._gamma)
                return min(max(middle, self.minimum), self.maximum)
        return self.maximum  # pragma: no cover - the counts always reach the rank

    def values(self) -> list[tuple[float, int]]:
        """(value, count) pairs in order: the values, or the buckets' midpoints."""
        if self._values is not None:
            found: dict[float, int] = {}
            for value in self._values:
                found[value] = found.get(value, 0) + 1
            return sorted(found.items())
        pairs = [(0.0, self._zeros)] if self._zeros else []
        pairs += [(math.exp((k + 0.5) * self._gamma), n) for k, n in sorted(self._buckets.items())]
        return pairs

    def figures(self) -> dict[str, float | None]:
        """count, mean, p50, p90, p99, max (None where there is no value)."""
        if not self.count:
            return {"count": 0, "mean": None, "p50": None, "p90": None, "p99": None, "max": None}
        return {
            "count": self.count,
            "mean": self.mean,
            "p50": self.percentile(50),
            "p90": self.percentile(90),
            "p99": self.percentile(99),
            "max": self.maximum,
        }


@dataclass(frozen=True)
class _Record:
    """One invocation's REPORT (text or platform.report), with where it came from."""

    function: str
    version: str | None
    request_id: str
    end_ms: float | None  # when REPORT was written (epoch ms), if the export says
    duration_ms: float
    billed_ms: float
    memory_mb: int
    max_used_mb: int | None
    init_ms: float | None
    status: str  # "success", "error", "timeout", "failure"
    error_type: str | None


class _Sweep:
    """Exact concurrency over time from (start, end) intervals arriving in rough end order.

    An interval arrives with its REPORT, so one that started up to the longest
    possible occupancy (15 min of timeout plus 10 s of INIT) before the newest end
    may still come: boundaries are held that long (plus the reorder slack), as two
    heaps of floats, before the level they make is final.
    """

    def __init__(self) -> None:
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._frontier = -math.inf
        self._level = 0
        self._last: float | None = None
        self.late = 0
        self.level_ms: dict[int, float] = {}
        self.minute_peak: dict[int, int] = {}
        self.peak = 0
        self.peak_at: float | None = None

    def add(self, start: float, end: float) -> None:
        if start < self._frontier:
            self.late += 1
            return
        heapq.heappush(self._starts, start)
        heapq.heappush(self._ends, end)
        self._flush(end - _WINDOW_MS)

    def finish(self) -> None:
        self._flush(math.inf)

    def _flush(self, upto: float) -> None:
        starts, ends = self._starts, self._ends
        while True:
            # At the same instant an end comes before a start: touching is not overlapping.
            if ends and ends[0] < upto and (not starts or ends[0] <= starts[0]):
                self._apply(heapq.heappop(ends), -1)
            elif starts and starts[0] < upto:
                self._apply(heapq.heappop(starts), 1)
            else:
                break
        self._frontier = max(self._frontier, upto)

    def _apply(self, time: float, delta: int) -> None:
        last, level = self._last, self._level
        if last is not None and time > last and level > 0:
            self.level_ms[level] = self.level_ms.get(level, 0.0) + (time - last)
            if level > self.peak:
                self.peak, self.peak_at = level, last
            first, final = int(last // 60_000), math.ceil(time / 60_000) - 1
            for minute in range(first, max(first, final) + 1):
                if self.minute_peak.get(minute, 0) < level:
                    self.minute_peak[minute] = level
        self._last = time
        self._level = level + delta

    def time_weighted(self, q: float, span_ms: float) -> int | None:
        """The level not exceeded ``q`` % of ``span_ms`` (idle time counts at level 0)."""
        if span_ms <= 0:
            return None
        busy = sum(self.level_ms.values())
        wanted = q / 100 * span_ms - 1e-6
        cumulative = max(0.0, span_ms - busy)  # idle time: level 0
        if cumulative >= wanted:
            return 0
        for level in sorted(self.level_ms):
            cumulative += self.level_ms[level]
            if cumulative >= wanted:
                return level
        return max(self.level_ms, default=0)


class _Group:
    """Everything added up for one (function, version)."""

    def __init__(self, function: str, version: str | None) -> None:
        self.function = function
        self.version = version
        self.invocations = 0
        self.errors = 0
        self.timeouts = 0
        self.cold = 0
        self.error_types: dict[str, int] = {}
        self.init = Quantiles()
        self.duration = Quantiles()
        self.cold_duration = Quantiles()
        self.warm_duration = Quantiles()
        self.billed = Quantiles()
        self.max_used = Quantiles()
        self.memory_sizes: dict[int, int] = {}
        self.duration_by_memory: dict[int, Quantiles] = {}
        self.billed_by_memory: dict[int, float] = {}
        self.current_memory = 0
        self.sweep = _Sweep()
        self.first_start: float | None = None
        self.last_end: float | None = None
        self.timed = 0
        self.busy_by_minute: dict[int, float] = {}
        self.count_by_minute: dict[int, int] = {}

    def add(self, r: _Record) -> None:
        self.invocations += 1
        if r.status == "timeout":
            self.timeouts += 1
        elif r.status != "success":
            self.errors += 1
            if r.error_type:
                self.error_types[r.error_type] = self.error_types.get(r.error_type, 0) + 1
        self.duration.add(r.duration_ms)
        billed = r.billed_ms
        if r.init_ms is not None:
            self.cold += 1
            self.init.add(r.init_ms)
            self.cold_duration.add(r.duration_ms)
            # Priced as Lambda bills today (INIT included since August 2025), also
            # for logs written before then, whose Billed Duration left INIT out.
            billed = max(billed, math.ceil(round(r.duration_ms + r.init_ms, 6)))
        else:
            self.warm_duration.add(r.duration_ms)
        self.billed.add(billed)
        if r.max_used_mb is not None:
            self.max_used.add(r.max_used_mb)
        memory = r.memory_mb
        self.memory_sizes[memory] = self.memory_sizes.get(memory, 0) + 1
        self.current_memory = memory
        if memory in self.duration_by_memory or len(self.duration_by_memory) < 16:
            by_memory = self.duration_by_memory.get(memory)
            if by_memory is None:
                by_memory = self.duration_by_memory[memory] = Quantiles(exact_cap=min(EXACT_VALUES, 20_000))
            by_memory.add(r.duration_ms)
        self.billed_by_memory[memory] = self.billed_by_memory.get(memory, 0.0) + billed
        if r.end_ms is not None:
            occupied = r.duration_ms + (r.init_ms or 0.0)
            start = round(r.end_ms - occupied, 3)
            self.timed += 1
            self.first_start = start if self.first_start is None else min(self.first_start, start)
            self.last_end = r.end_ms if self.last_end is None else max(self.last_end, r.end_ms)
            self.sweep.add(start, r.end_ms)
            minute = int(r.end_ms // 60_000)
            self.busy_by_minute[minute] = self.busy_by_minute.get(minute, 0.0) + occupied
            self.count_by_minute[minute] = self.count_by_minute.get(minute, 0) + 1


@dataclass(frozen=True)
class FunctionSummary:
    """The figures of one function version; ``None`` where the logs do not say.

    ``concurrency`` holds the exact sweep (``peak``, ``peak_minute``, ``p99``,
    ``mean``), Little's law (``littles_law`` = rate x mean occupancy), the Insights
    figure (``insights_peak``, ``insights_peak_minute``: mean concurrency of the
    busiest minute, as :data:`INSIGHTS_QUERY` computes it) and ``per_minute``
    (minute ISO time, peak, Insights mean, invocations). ``cost`` and ``right_sizing``
    are described in :func:`analyse`.
    """

    function: str
    version: str | None
    invocations: int
    errors: int
    timeouts: int
    error_types: dict[str, int]
    cold_starts: int
    cold_start_share: float | None
    init_ms: dict[str, float | None]
    duration_ms: dict[str, float | None]
    cold_duration_ms: dict[str, float | None]
    warm_duration_ms: dict[str, float | None]
    billed_duration_ms: dict[str, float | None]
    max_memory_used_mb: dict[str, float | None]
    memory_size_mb: int
    memory_sizes: dict[int, int]
    duration_p50_by_memory: dict[int, float | None]
    exact_percentiles: bool
    concurrency: dict[str, Any]
    cost: dict[str, Any]
    right_sizing: dict[str, Any]
    histograms: dict[str, list[tuple[float, int]]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class LogsReport:
    """What :func:`analyse` found: per function version, and what it read."""

    files: list[str]
    lines: int
    reports: int
    other: int
    bad: int
    bad_examples: list[str]
    architecture: str
    functions: list[FunctionSummary]
    insights_query: str = INSIGHTS_QUERY
    insights_query_json: str = INSIGHTS_QUERY_JSON

    def to_dict(self, *, histograms: bool = False) -> dict[str, Any]:
        """The ``--json`` form (strict JSON values; ``None`` for a missing figure)."""
        from dataclasses import asdict

        document = asdict(self)
        if not histograms:
            for summary in document["functions"]:
                summary.pop("histograms", None)
        return document


# --- reading -------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"\s*(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2}(?:[.,]\d+)?)(Z|[+-]\d{2}:?\d{2})?(?:[\s,]+|$)"
)
_STREAM_VERSION = re.compile(r"\[([^\]\s]+)\]")
_START = re.compile(r"START RequestId: (\S+)(?:\s+Version: (\S+))?")
_REPORT = re.compile(
    r"REPORT RequestId: (?P<id>\S+)\s+Duration: (?P<duration>\d+(?:\.\d+)?) ms\s+"
    r"Billed Duration: (?P<billed>\d+(?:\.\d+)?) ms\s+Memory Size: (?P<memory>\d+) MB\s+"
    r"Max Memory Used: (?P<used>\d+|n/a) MB"
)
_INIT = re.compile(r"\bInit Duration: (\d+(?:\.\d+)?) ms")
_STATUS = re.compile(r"\bStatus: (\w+)")
_ERROR_TYPE = re.compile(r"\bError Type: (\S+)")


def _epoch_ms(text: str) -> float | None:
    """An ISO 8601 time as epoch milliseconds (UTC when it has no offset); None if invalid."""
    text = text.strip().replace(",", ".").replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", text)
    if match is None:
        return None
    head, fraction, offset = match.groups()
    fraction = "." + (fraction[1:] + "000000")[:6] if fraction else ""  # 3.10 reads 3 or 6 digits only
    if offset and re.fullmatch(r"[+-]\d{4}", offset):
        offset = offset[:3] + ":" + offset[3:]
    try:
        moment = datetime.fromisoformat(head + fraction + offset)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000.0, 3)


class _Reader:
    """Turns one file's lines or JSON values into records; counts what it skips."""

    def __init__(self, function: str, counts: dict[str, Any]) -> None:
        self.function = function
        self.counts = counts
        self.versions: dict[str, str] = {}
        self.minutes: dict[tuple[str, str, str, str], float | None] = {}

    def epoch_ms(self, found: re.Match[str]) -> float | None:
        """Epoch ms of a :data:`_TIMESTAMP` match; the start of each minute is parsed once."""
        day, hour, minute, seconds, zone = found.groups()
        key = (day, hour, minute, zone or "")
        if key in self.minutes:
            base = self.minutes[key]
        else:
            if len(self.minutes) > 4096:
                self.minutes.clear()
            base = self.minutes[key] = _epoch_ms(f"{day}T{hour}:{minute}:00{zone or ''}")
        if base is None:
            return None
        return round(base + float(seconds.replace(",", ".")) * 1000.0, 3)

    def bad(self, example: str) -> None:
        self.counts["bad"] += 1
        if len(self.counts["bad_examples"]) < 5:
            self.counts["bad_examples"].append(example[:200])

    def remember(self, request_id: str, version: str | None) -> None:
        if version is None:
            return
        self.versions[request_id] = version
        if len(self.versions) > _PENDING_CAP:  # a START whose REPORT never came
            del self.versions[next(iter(self.versions))]

    def message(self, text: str, time_ms: float | None, stream: str | None) -> _Record | None:
        """One log message (a text line, or an event's message)."""
        self.counts["lines"] += 1
        first = text[:1]
        if first == "{" or (first.isspace() and text.lstrip().startswith("{")):
            stripped = text.strip()
            try:
                value = json.loads(stripped)
            except ValueError:
                self.bad(stripped)
                return None
            return self.json_record(value, time_ms, stream)
        at = text.find("REPORT RequestId:")
        if at < 0:
            at = text.find("START RequestId:")
            if at >= 0:
                start = _START.match(text, at)
                if start is not None:
                    self.remember(start.group(1), start.group(2))
            self.counts["other"] += 1  # START, END, and the function's own lines
            return None
        report = _REPORT.match(text, at)
        if report is None:
            self.bad(text)
            return None
        if at and (time_ms is None or stream is None):
            prefix = text[:at]
            found = _TIMESTAMP.match(prefix)
            if found is not None:
                if time_ms is None:
                    time_ms = self.epoch_ms(found)
                prefix = prefix[found.end() :]
            if stream is None and "[" in prefix:
                stream = prefix.strip()
        init = _INIT.search(text, report.end())
        status = _STATUS.search(text, report.end())
        error_type = _ERROR_TYPE.search(text, report.end())
        used = report.group("used")
        request_id = report.group("id")
        return self.record(
            request_id=request_id,
            stream=stream,
            end_ms=time_ms,
            duration_ms=float(report.group("duration")),
            billed_ms=float(report.group("billed")),
            memory_mb=int(report.group("memory")),
            max_used_mb=None if used == "n/a" else int(used),
            init_ms=float(init.group(1)) if init else None,
            status=status.group(1).lower() if status else "success",
            error_type=error_type.group(1) if error_type else None,
        )

    def record(self, *, request_id: str, stream: str | None, **figures: Any) -> _Record | None:
        version = self.versions.pop(request_id, None)
        if version is None and stream:
            found = _STREAM_VERSION.search(stream)
            version = found.group(1) if found else None
        self.counts["reports"] += 1
        return _Record(function=self.function, version=version, request_id=request_id, **figures)

    def json_record(self, value: Any, time_ms: float | None, stream: str | None) -> _Record | None:
        """A Lambda JSON-log-format record; other JSON counts as ``other``."""
        if not isinstance(value, dict):
            self.bad(json.dumps(value)[:200])
            return None
        kind = value.get("type")
        record = value.get("record")
        if not isinstance(kind, str) or not kind.startswith("platform."):
            self.counts["other"] += 1  # the function's own JSON lines
            return None
        if not isinstance(record, dict):
            self.bad(json.dumps(value)[:200])
            return None
        if isinstance(value.get("time"), str):
            time_ms = _epoch_ms(value["time"]) or time_ms
        request_id = record.get("requestId")
        if kind == "platform.start":
            if isinstance(request_id, str):
                version = record.get("version")
                self.remember(request_id, version if isinstance(version, str) else None)
            self.counts["other"] += 1
            return None
        if kind != "platform.report":
            self.counts["other"] += 1
            return None
        metrics = record.get("metrics")
        try:
            if not isinstance(request_id, str) or not isinstance(metrics, dict):
                raise TypeError
            duration = _number(metrics["durationMs"])
            billed = _number(metrics["billedDurationMs"])
            memory = int(_number(metrics["memorySizeMB"]))
            used = metrics.get("maxMemoryUsedMB")
            init = metrics.get("initDurationMs")
            status = record.get("status", "success")
            error_type = record.get("errorType")
            return self.record(
                request_id=request_id,
                stream=stream,
                end_ms=time_ms,
                duration_ms=duration,
                billed_ms=billed,
                memory_mb=memory,
                max_used_mb=None if used is None else int(_number(used)),
                init_ms=None if init is None else _number(init),
                status=status if isinstance(status, str) else "success",
                error_type=error_type if isinstance(error_type, str) else None,
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            self.bad(json.dumps(value)[:200])
            return None

    def event(self, value: Any) -> _Record | None:
        """One ``filter-log-events`` event, or one JSON-format record, from JSON input."""
        if isinstance(value, dict) and isinstance(value.get("message"), str):
            stamp = value.get("timestamp")
            time_ms = (
                float(stamp) if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) else None
            )
            stream = value.get("logStreamName")
            return self.message(value["message"], time_ms, stream if isinstance(stream, str) else None)
        self.counts["lines"] += 1
        return self.json_record(value, None, None)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError
    return number


def _read_file(path: str, function: str, counts: dict[str, Any]) -> Iterator[_Record]:
    reader = _Reader(function, counts)
    try:
        with open(path, "rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"  # an S3 export task's .gz, read as it is
        if gzipped:
            import gzip

            file: IO[str] = gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")  # noqa: SIM115
        else:
            file = open(path, encoding="utf-8", errors="replace", newline="")  # noqa: SIM115 - closed below
    except OSError as error:
        raise ConfigurationError(
            f"Cannot read log file {path!r}: {error.strerror}", setting="FILE", value=path
        ) from None
    with file:
        try:
            head = file.read(4096)
        except (OSError, EOFError) as error:  # a gzip file cut short or corrupt
            raise ConfigurationError(
                f"Cannot read log file {path!r}: {error}", setting="FILE", value=path
            ) from None
        first = head.lstrip()[:1]
        file.seek(0)
        try:
            if first == "[" or (first == "{" and not _is_json_lines(head)):
                yield from _read_json_document(file, reader)
            else:
                yield from _read_lines(file, reader)
        except (OSError, EOFError, zlib.error) as error:  # a .gz cut short: keep what came before
            reader.counts["lines"] += 1
            reader.bad(f"{path}: {error}")


def _is_json_lines(head: str) -> bool:
    """Whether the file starts with one complete JSON object on its first line."""
    line = head.lstrip().split("\n", 1)[0]
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _read_lines(file: IO[str], reader: _Reader) -> Iterator[_Record]:
    while True:
        line = file.readline(_LINE_LIMIT)
        if not line:
            return
        if len(line) >= _LINE_LIMIT and not line.endswith("\n"):
            reader.bad(line)
            while True:  # skip the rest of an overlong line
                rest = file.readline(_LINE_LIMIT)
                if not rest or rest.endswith("\n"):
                    break
            continue
        if not line.strip():
            continue
        stripped = line.lstrip()
        if stripped.startswith("{"):
            try:
                value = json.loads(stripped)
            except ValueError:
                reader.counts["lines"] += 1
                reader.bad(stripped)
                continue
            found = reader.event(value)
        else:
            found = reader.message(line.rstrip("\r\n"), None, None)
        if found is not None:
            yield found


_EVENTS_KEY = re.compile(r'"events"\s*:\s*\[')
_RESYNC = re.compile(r"\n\s*\{")


def _read_json_document(file: IO[str], reader: _Reader) -> Iterator[_Record]:
    """The events of ``filter-log-events`` documents (or a top-level array), streamed."""
    decoder = json.JSONDecoder()
    buffer = ""
    position = 0
    eof = False
    in_array = False

    def more() -> bool:
        nonlocal buffer, position, eof
        if eof:
            return False
        chunk = file.read(1 << 20)
        if not chunk:
            eof = True
            return False
        buffer = buffer[position:] + chunk
        position = 0
        return True

    while True:
        if not in_array:
            # Find the next events array (or, for a bare array, its opening bracket).
            found = _EVENTS_KEY.search(buffer, position)
            if found is None and buffer.lstrip()[:1] == "[" and position == 0:
                position = buffer.index("[") + 1
                in_array = True
                continue
            if found is None:
                position = max(position, len(buffer) - 64)  # keep a key cut in two
                if not more():
                    return
                continue
            position = found.end()
            in_array = True
            continue
        while position < len(buffer) and buffer[position] in " \t\r\n,":
            position += 1
        if position >= len(buffer):
            if not more():
                return
            continue
        if buffer[position] == "]":
            position += 1
            in_array = False
            continue
        try:
            value, end = decoder.raw_decode(buffer, position)
        except ValueError:
            if not eof and len(buffer) - position < _MAX_ELEMENT_CHARS and more():
                continue  # the element may be cut by the chunk boundary
            reader.counts["lines"] += 1
            reader.bad(buffer[position : position + 200])
            found = _RESYNC.search(buffer, position + 1)
            if found is None:
                if eof:
                    return  # a truncated file: its last element is lost
                position = len(buffer)
                continue
            position = found.end() - 1
            continue
        position = end
        record = reader.event(value)
        if record is not None:
            yield record


# --- adding up ------------------------------------------------------------------------


def analyse(
    paths: Sequence[str | os.PathLike[str]],
    *,
    function: str | None = None,
    architecture: str = "x86_64",
    headroom: float = DEFAULT_HEADROOM,
) -> LogsReport:
    """Read log exports and add up their REPORT records per function and version.

    Args:
        paths: The export files (text, ``filter-log-events`` JSON or JSON log format;
            told apart by their content).
        function: The function's name for every file; by default each file's name
            without its extension (exports rarely carry the log group).
        architecture: ``x86_64`` or ``arm64``, for the price per GB-second.
        headroom: The share of memory to keep free above the p99 Max Memory Used.

    Returns:
        A :class:`LogsReport`. Per function version, ``cost`` holds the mean billed
        milliseconds (INIT included, as Lambda bills today) and the price per million
        invocations at the current Memory Size; ``right_sizing`` the suggested memory
        (the smallest multiple of 64 MB, at least 128 MB, keeping ``headroom`` over
        the p99 Max Memory Used), and what the data can and cannot tell about the
        duration there: CPU share scales with memory up to 1,769 MB (one vCPU), so
        the duration of the CPU-bound part grows by up to the memory ratio, and the
        part spent waiting does not change; REPORT lines cannot tell the two apart.
        When the logs hold invocations at several memory sizes, their measured
        Duration p50 is given too.

    Raises:
        ConfigurationError: A file cannot be read, or an option is invalid.
    """
    if architecture not in ("x86_64", "arm64"):
        raise ConfigurationError(
            f"Invalid architecture {architecture!r}; expected x86_64 or arm64.",
            setting="architecture",
            value=architecture,
        )
    if not (0 <= headroom < 10):
        raise ConfigurationError(
            f"Invalid headroom {headroom!r}; expected a share from 0 to 10 (0.2 is 20 %).",
            setting="headroom",
            value=headroom,
        )
    counts: dict[str, Any] = {"lines": 0, "reports": 0, "other": 0, "bad": 0, "bad_examples": []}
    names = [os.fspath(p) for p in paths]
    streams = [
        _read_file(path, function or os.path.splitext(os.path.basename(path))[0] or path, counts)
        for path in names
    ]
    groups: dict[tuple[str, str | None], _Group] = {}
    merged: Iterable[_Record] = heapq.merge(
        *streams, key=lambda r: -math.inf if r.end_ms is None else r.end_ms
    )
    for record in merged:
        key = (record.function, record.version)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(record.function, record.version)
        group.add(record)
    summaries = [
        _summarise(group, architecture, headroom)
        for _, group in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or ""))
    ]
    return LogsReport(
        files=names,
        lines=counts["lines"],
        reports=counts["reports"],
        other=counts["other"],
        bad=counts["bad"],
        bad_examples=counts["bad_examples"],
        architecture=architecture,
        functions=summaries,
    )


def _minute_iso(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, tz=timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _summarise(group: _Group, architecture: str, headroom: float) -> FunctionSummary:
    sweep = group.sweep
    sweep.finish()
    concurrency: dict[str, Any] = {
        "timed_invocations": group.timed,
        "late_invocations": sweep.late,
        "peak": None,
        "peak_minute": None,
        "p99": None,
        "mean": None,
        "rate_per_s": None,
        "mean_occupancy_ms": None,
        "littles_law": None,
        "insights_peak": None,
        "insights_peak_minute": None,
        "per_minute": [],
    }
    if group.timed and group.first_start is not None and group.last_end is not None:
        span_ms = max(group.last_end - group.first_start, 1e-9)
        busy = sum(sweep.level_ms.values())
        weighted = sum(level * ms for level, ms in sweep.level_ms.items())
        occupancy = sum(group.busy_by_minute.values()) / group.timed
        rate = group.timed / (span_ms / 1000)
        best = max(group.busy_by_minute.items(), key=lambda item: (item[1], -item[0]))
        minutes = sorted(set(sweep.minute_peak) | set(group.busy_by_minute))
        concurrency.update(
            peak=sweep.peak,
            peak_minute=_minute_iso(int(sweep.peak_at // 60_000)) if sweep.peak_at is not None else None,
            p99=sweep.time_weighted(99, span_ms),
            mean=weighted / span_ms if busy else 0.0,
            rate_per_s=rate,
            mean_occupancy_ms=occupancy,
            littles_law=rate * occupancy / 1000,
            insights_peak=best[1] / 60_000,
            insights_peak_minute=_minute_iso(best[0]),
            per_minute=[
                {
                    "minute": _minute_iso(m),
                    "peak": sweep.minute_peak.get(m, 0),
                    "insights": group.busy_by_minute.get(m, 0.0) / 60_000,
                    "invocations": group.count_by_minute.get(m, 0),
                }
                for m in minutes
            ],
        )
    memory = group.current_memory
    gb = memory / 1024
    at_memory = group.memory_sizes.get(memory, 0)
    mean_billed = group.billed_by_memory.get(memory, 0.0) / at_memory if at_memory else math.nan
    price = PRICES[architecture]

    def per_million(billed_ms: float, memory_mb: float) -> float:
        return (billed_ms / 1000 * memory_mb / 1024 * price + PRICES["request"]) * 1e6

    cost: dict[str, Any] = {
        "architecture": architecture,
        "memory_mb": memory,
        "mean_billed_ms": _finite(mean_billed),
        "gb_seconds_per_invocation": _finite(mean_billed / 1000 * gb),
        "per_million_usd": _finite(per_million(mean_billed, memory)),
        "price_per_gb_second": price,
        "price_per_request": PRICES["request"],
        "prices_read": "2026-12-03",
    }
    sizing = _right_size(group, memory, mean_billed, headroom, per_million)
    duration_p50_by_memory = {
        size: _finite(quantiles.percentile(50))
        for size, quantiles in sorted(group.duration_by_memory.items())
    }
    histograms = {
        "cold_duration_ms": group.cold_duration.values(),
        "warm_duration_ms": group.warm_duration.values(),
        "init_ms": group.init.values(),
    }
    exact = all(
        q.exact for q in (group.init, group.duration, group.billed, group.max_used, group.warm_duration)
    )
    return FunctionSummary(
        function=group.function,
        version=group.version,
        invocations=group.invocations,
        errors=group.errors,
        timeouts=group.timeouts,
        error_types=dict(sorted(group.error_types.items())),
        cold_starts=group.cold,
        cold_start_share=group.cold / group.invocations if group.invocations else None,
        init_ms=group.init.figures(),
        duration_ms=group.duration.figures(),
        cold_duration_ms=group.cold_duration.figures(),
        warm_duration_ms=group.warm_duration.figures(),
        billed_duration_ms=group.billed.figures(),
        max_memory_used_mb=group.max_used.figures(),
        memory_size_mb=memory,
        memory_sizes=dict(sorted(group.memory_sizes.items())),
        duration_p50_by_memory=duration_p50_by_memory,
        exact_percentiles=exact,
        concurrency=concurrency,
        cost=cost,
        right_sizing=sizing,
        histograms=histograms,
    )


def _right_size(
    group: _Group, memory: int, mean_billed: float, headroom: float, per_million: Any
) -> dict[str, Any]:
    used = group.max_used.percentile(99) if group.max_used.count else math.nan
    sizing: dict[str, Any] = {
        "headroom": headroom,
        "max_memory_used_p99_mb": _finite(used),
        "suggested_mb": None,
        "action": "unknown",
        "cpu_ratio": None,
        "duration_p50_ms_range": None,
        "per_million_usd_range": None,
        "measured_p50_ms_by_memory": None,
        "note": "No Max Memory Used figures in these logs.",
    }
    if not math.isfinite(used) or not memory:
        return sizing
    wanted = used * (1 + headroom)
    suggested = min(MAX_MEMORY_MB, max(MIN_MEMORY_MB, math.ceil(wanted / MEMORY_STEP_MB) * MEMORY_STEP_MB))
    ratio = min(memory, FULL_VCPU_MB) / min(suggested, FULL_VCPU_MB)
    p50 = group.duration.percentile(50)
    if suggested < memory:
        action = "decrease"
    elif suggested > memory:
        action = "increase"
    else:
        action = "keep"
    low, high = (p50, p50 * ratio) if ratio >= 1 else (p50 * ratio, p50)
    cost_low, cost_high = sorted(
        (per_million(mean_billed, suggested), per_million(mean_billed * ratio, suggested))
    )
    measured = {size: q.percentile(50) for size, q in group.duration_by_memory.items()}
    if action == "keep":
        note = f"{memory} MB keeps {headroom:.0%} headroom over the p99 Max Memory Used ({used:.0f} MB)."
    else:
        if ratio == 1:
            cpu = (
                "Both sizes give at least one full vCPU (1,769 MB): a single-threaded handler's "
                "duration should not change."
            )
        else:
            cpu = (
                f"CPU share scales with memory (one vCPU at 1,769 MB): at {suggested} MB the CPU-bound "
                f"part of the duration takes up to {ratio:.2f}x as long, the part spent waiting (I/O) "
                f"does not change, so Duration p50 lands between {min(low, high):,.1f} and "
                f"{max(low, high):,.1f} ms. REPORT lines cannot tell the two parts apart: measure "
                f"both sizes with Lambda's CPU share (lambda-kit tune --memory {suggested},{memory}) to know."
            )
        note = (
            f"{action.capitalize()} to {suggested} MB: {headroom:.0%} headroom over the p99 Max Memory "
            f"Used ({used:.0f} MB of {memory} MB). {cpu}"
        )
    if len(measured) > 1:
        note += " Measured in these logs, Duration p50 by memory: " + ", ".join(
            f"{size} MB {p:,.1f} ms" for size, p in sorted(measured.items())
        )
    sizing.update(
        suggested_mb=suggested,
        action=action,
        cpu_ratio=ratio,
        duration_p50_ms_range=[_finite(low), _finite(high)],
        per_million_usd_range=[_finite(cost_low), _finite(cost_high)],
        measured_p50_ms_by_memory=dict(sorted(measured.items())) if len(measured) > 1 else None,
        note=note,
    )
    return sizing


# --- printing ---------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} ms"


def _percentage(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, 100, initial_indent="  ", subsequent_indent="    ")


def format_report(report: LogsReport) -> str:
    """The human-readable report of :func:`analyse`."""
    lines = [
        f"lambda-kit logs: {len(report.files)} file(s), {report.lines:,} lines: {report.reports:,} REPORT "
        f"records, {report.other:,} other lines, {report.bad:,} unreadable (skipped)",
    ]
    for example in report.bad_examples[:3]:
        lines.append(f"  unreadable: {example[:100]!r}")
    if not report.functions:
        lines += ["", "  No REPORT records found."]
    for s in report.functions:
        lines += [
            "",
            f"{s.function} (version {s.version or 'unknown'}; Memory Size {s.memory_size_mb} MB)",
            "",
        ]
        lines.append(
            f"  invocations {s.invocations:,}   errors {s.errors:,}   timeouts {s.timeouts:,}   "
            f"cold starts {s.cold_starts:,} ({_percentage(s.cold_start_share)})"
        )
        if s.error_types:
            lines.append("  error types: " + ", ".join(f"{k} {v}" for k, v in s.error_types.items()))
        lines += ["", f"  {'':<22}{'p50':>12}{'p90':>12}{'p99':>12}{'max':>12}"]
        for label, figures in (
            ("Init Duration", s.init_ms),
            ("Duration", s.duration_ms),
            ("  cold", s.cold_duration_ms),
            ("  warm", s.warm_duration_ms),
            ("Billed Duration", s.billed_duration_ms),
        ):
            lines.append(
                f"  {label:<22}" + "".join(f"{_ms(figures[k]):>12}" for k in ("p50", "p90", "p99", "max"))
            )
        used = s.max_memory_used_mb
        if used["count"]:
            lines.append(
                f"  {'Max Memory Used':<22}"
                + "".join(f"{used[k]:>9,.0f} MB" for k in ("p50", "p90", "p99", "max"))
                + f"   of {s.memory_size_mb} MB"
            )
        if not s.exact_percentiles:
            lines.append("  (percentiles from a histogram with 1 % buckets: more than 200,000 values)")
        c = s.concurrency
        lines.append("")
        if c["peak"] is None:
            lines.append("  Concurrency: the export has no timestamps, so none can be computed.")
        else:
            lines += [
                f"  Concurrency: peak {c['peak']} (first reached in the minute {c['peak_minute']}), "
                f"p99 {c['p99']}, mean {c['mean']:.2f}",
                f"  Little's law: {c['rate_per_s']:,.2f} invocations/s x {c['mean_occupancy_ms']:,.1f} ms "
                f"mean occupancy (Duration + Init) = {c['littles_law']:.2f}",
                f"  Busiest minute by CloudWatch Logs Insights: {c['insights_peak']:.2f} mean concurrency "
                f"at {c['insights_peak_minute']}",
            ]
            if c["late_invocations"]:
                lines.append(
                    f"  ! {c['late_invocations']} invocation(s) arrived out of time order beyond the "
                    "reorder window and were left out of the concurrency figures."
                )
        cost = s.cost
        if cost["per_million_usd"] is not None:
            text = (
                f"Cost per million invocations at {cost['memory_mb']} MB ({cost['architecture']}): "
                f"${cost['per_million_usd']:,.2f} (mean billed {cost['mean_billed_ms']:,.1f} ms, INIT "
                f"included; ${cost['price_per_gb_second']:.10f}/GB-s and $0.20 per million requests, "
                f"US East prices read {cost['prices_read']})"
            )
            lines += ["", *_wrap(text)]
        sizing = s.right_sizing
        lines += ["", *_wrap(f"Right-sizing: {sizing['note']}")]
        if sizing["per_million_usd_range"] and sizing["action"] != "keep":
            low, high = sizing["per_million_usd_range"]
            lines.append(f"    cost per million at {sizing['suggested_mb']} MB: ${low:,.2f} to ${high:,.2f}")
    lines += [
        "",
        "CloudWatch Logs Insights query for the same per-minute concurrency (text log format):",
        "",
        *("  " + line for line in report.insights_query.splitlines()),
        "",
        "  JSON log format:",
        "",
        *("  " + line for line in report.insights_query_json.splitlines()),
    ]
    return "\n".join(lines) + "\n"


# --- command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, name: str = "logs") -> None:
    """Add the options of ``lambda-kit logs`` to ``parser``."""
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="log exports (text, JSON or JSON log format)"
    )
    parser.add_argument("--function", metavar="NAME", help="the function's name (default: each file's name)")
    parser.add_argument(
        "--arch", choices=("x86_64", "arm64"), default="x86_64", help="architecture, for the price (x86_64)"
    )
    parser.add_argument(
        "--headroom",
        type=float,
        default=DEFAULT_HEADROOM,
        metavar="SHARE",
        help="memory to keep free over the p99 Max Memory Used (default 0.2)",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")


def run(args: argparse.Namespace) -> int:
    """Analyse the files ``args`` name; prints the report (or JSON); returns the exit status."""
    from lambda_kit_dev._cli import strict_json

    report = analyse(args.files, function=args.function, architecture=args.arch, headroom=args.headroom)
    if args.html:
        from lambda_kit_dev.html_report import logs_page, write_page

        write_page(args.html, logs_page(report))
    if args.json:
        print(strict_json(report.to_dict()))
    else:
        print(format_report(report), end="")
    return 0
