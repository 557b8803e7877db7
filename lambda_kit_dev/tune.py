"""``lambda-kit tune``: a handler's duration and cost at each memory size, measured locally.

AWS's advice is to tune memory with AWS Lambda Power Tuning, which invokes a
deployed function at each size through a Step Functions state machine. This runs the
same experiment on this machine, under the :class:`~lambda_kit_dev.emulator.Emulator`
with ``limits=True``: at each memory size every execution environment gets Lambda's
CPU share for that size (``memory / 1769`` vCPUs, calibrated here; two vCPUs during
INIT up to 3,008 MB) and its memory limit (past it, ``Runtime.OutOfMemory``). At each
size :func:`run_tune` runs ``cold`` cold starts and ``warm`` warm invocations with
the events given (weighted as Power Tuning weights its payloads), then reports:

* Init Duration p50 / p95 and warm Duration p50 / p95 / p99;
* the mean warm Duration and Billed Duration with the fastest and slowest 20 %
  discarded, as Power Tuning does (``discard``);
* the cost per million invocations, x86 and arm64, with INIT billed: warm
  invocations plus ``cold_share`` of cold starts (1 % by default);
* the cheapest size (Power Tuning's ``cost`` strategy), the fastest (``speed``) and
  a ``balanced`` one (cost and duration each divided by their largest value, mixed
  by ``balanced_weight``: 0 is speed, 1 is cost).

This machine's core is not Lambda's: every duration is reported as measured and
scaled by a calibration factor (``calibration_factor``, ``LAMBDA_KIT_CALIBRATION_FACTOR``,
default 1.0: a Lambda vCPU taken as fast as a core here), and the CPU-bound reference
this machine ran in :func:`reference_ms` is reported with it, so that the factor can
be set from the same reference run on Lambda (see docs/tuning.md). Costs use the
scaled figures, which are estimates, never Lambda measurements.

Example:
    >>> from lambda_kit_dev.tune import format_tune, run_tune
    >>> result = run_tune("app.handler", [{}], task_root="examples/plain")  # doctest: +SKIP
    >>> print(format_tune(result))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field

from lambda_kit.exceptions import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from lambda_kit_dev.emulator._report import Invocation
    from lambda_kit_dev.stand_ins._aws import AwsStandIn

__all__ = [
    "DEFAULT_SIZES",
    "PRICES",
    "SizeResult",
    "TuneResult",
    "WeightedEvent",
    "add_arguments",
    "format_tune",
    "parse_events",
    "reference_ms",
    "run",
    "run_tune",
    "schedule",
    "trimmed",
]

DEFAULT_SIZES = (128, 256, 512, 1024, 1769, 3008)
# USD per GB-second of Billed Duration (INIT included since August 2025) and per request.
PRICES = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_PER_REQUEST = 0.20 / 1_000_000
DISCARD = 0.2  # Power Tuning's discardTopBottom default
COLD_SHARE = 0.01  # AWS: cold starts are typically under 1 % of invocations
CALIBRATION_FACTOR = 1.0


@dataclass(frozen=True)
class WeightedEvent:
    """One event and its relative weight (Power Tuning's ``{"payload": ..., "weight": N}``)."""

    payload: Any
    weight: float = 1.0


def parse_events(document: Any) -> list[WeightedEvent]:
    """Events from a JSON document: one event, or Power Tuning's weighted list.

    A list whose items are all ``{"payload": ..., "weight": N}`` objects (N a positive
    finite number) is a weighted list; anything else is one event, used every time.

    Raises:
        ConfigurationError: A weighted list with a weight that is not a positive
            finite number.
    """
    if (
        isinstance(document, list)
        and document
        and all(isinstance(item, dict) and set(item) == {"payload", "weight"} for item in document)
    ):
        events: list[WeightedEvent] = []
        for index, item in enumerate(document):
            weight = item["weight"]
            if (
                isinstance(weight, bool)
                or not isinstance(weight, (int, float))
                or not (math.isfinite(weight) and weight > 0)
            ):
                raise ConfigurationError(
                    f"Invalid weight {weight!r} for weighted event {index}; expected a positive "
                    'finite number, as in [{"payload": {...}, "weight": 5}, ...].',
                    setting="events",
                    value=index,
                )
            events.append(WeightedEvent(item["payload"], float(weight)))
        return events
    return [WeightedEvent(document)]


def schedule(events: Sequence[WeightedEvent], n: int) -> list[Any]:
    """``n`` payloads in proportion to the weights, interleaved (smooth weighted round robin).

    Each event is used at least once when ``n`` is at least the number of events.
    """
    if n <= 0 or not events:
        return []
    total = sum(e.weight for e in events)
    current = [0.0] * len(events)
    picked: list[Any] = []
    unused = set(range(len(events))) if n >= len(events) else set()
    for i in range(n):
        if unused and len(unused) == n - i:  # the remaining slots go to events not yet used
            choice = min(unused)
        else:
            for j, event in enumerate(events):
                current[j] += event.weight
            choice = max(range(len(events)), key=lambda j: current[j])
            current[choice] -= total
        unused.discard(choice)
        picked.append(events[choice].payload)
    return picked


def trimmed(values: Sequence[float], discard: float = DISCARD) -> list[float]:
    """``values`` without the lowest and highest ``discard`` share (as Power Tuning does).

    At least one value is kept (the median) when there are any.
    """
    ordered = sorted(values)
    k = math.floor(len(ordered) * discard)
    kept = ordered[k : len(ordered) - k]
    if not kept and ordered:
        kept = [statistics.median_low(ordered)]
    return kept


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


_REFERENCE = """\
import time
best = None
for _ in range(5):
    start = time.process_time()
    total = 0
    for i in range(1_000_000):
        total += i * i % 7
    spent = time.process_time() - start
    best = spent if best is None or spent < best else best
print(best * 1000.0)
"""


def reference_ms(python: str | None = None) -> float:
    """This machine's time for a fixed CPU-bound Python loop at a whole core, in ms.

    CPU time (best of five), so that other processes' load does not change it. Run
    the same loop on Lambda at 1,769 MB (one vCPU) and divide: that is the
    calibration factor (see docs/tuning.md).
    """
    done = subprocess.run(
        [python or sys.executable, "-I", "-S", "-c", _REFERENCE],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return float(done.stdout.split()[0])


def _factor(value: float | None) -> tuple[float, str]:
    if value is not None:
        source = "argument"
    elif os.environ.get("LAMBDA_KIT_CALIBRATION_FACTOR"):
        text = os.environ["LAMBDA_KIT_CALIBRATION_FACTOR"]
        try:
            value = float(text)
        except ValueError:
            raise ConfigurationError(
                f"Invalid LAMBDA_KIT_CALIBRATION_FACTOR={text!r}; expected a number above 0.",
                setting="calibration_factor",
                value=text,
            ) from None
        source = "LAMBDA_KIT_CALIBRATION_FACTOR"
    else:
        return CALIBRATION_FACTOR, "default (a Lambda vCPU taken as fast as a core here)"
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(
            f"Invalid calibration factor {value!r}; expected a finite number above 0.",
            setting="calibration_factor",
            value=value,
        )
    return value, source


@dataclass(frozen=True)
class SizeResult:
    """What one memory size measured (local figures) and what it costs (scaled figures).

    ``cpu_share`` is the share the environments achieved (calibrated), ``None`` when
    the CPU was not limited; ``target_share`` is Lambda's. Durations are as measured
    here; ``summary`` holds the percentiles, the trimmed means, both scaled by the
    calibration factor (``*_scaled_ms``), and the costs per million invocations.
    """

    memory_mb: int
    target_share: float
    cpu_share: float | None
    init_ms: list[float]
    cold_duration_ms: list[float]
    warm_duration_ms: list[float]
    max_memory_mb: int | None
    errors: list[str]
    summary: dict[str, float | None] = field(default_factory=dict)
    invocations: int = 0


@dataclass(frozen=True)
class TuneResult:
    """A whole tuning run; ``to_dict()`` is the ``--json`` form."""

    handler: str
    sizes: list[SizeResult]
    cheapest: int | None
    fastest: int | None
    balanced: int | None
    balanced_weight: float
    discard: float
    cold: int
    warm: int
    cold_share: float
    calibration_factor: float
    calibration_source: str
    reference_ms: float | None
    notice: str | None

    @property
    def failed(self) -> bool:
        """Whether any invocation failed."""
        return any(size.errors for size in self.sizes)

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON values only (``None`` where a figure is missing)."""
        return asdict(self)


def _cost(billed_ms: float, memory_mb: int, price: float) -> float:
    return billed_ms / 1000.0 * memory_mb / 1024.0 * price + PRICE_PER_REQUEST


def _summarise(
    memory_mb: int,
    target: float,
    share: float | None,
    cold_runs: Sequence[Invocation],
    warm_runs: Sequence[Invocation],
    *,
    factor: float,
    discard: float,
    cold_share: float,
) -> SizeResult:
    every = [*cold_runs, *warm_runs]
    errors = [
        f"{i.report.status}: {(i.error or {}).get('errorType')}: {(i.error or {}).get('errorMessage')}"
        for i in every
        if not i.ok
    ]
    cold_ok = [i for i in cold_runs if i.ok]
    warm_ok = [i for i in warm_runs if i.ok]
    init_ms = [i.report.init_duration_ms for i in cold_ok if i.report.init_duration_ms is not None]
    cold_ms = [i.report.duration_ms for i in cold_ok]
    warm_ms = [i.report.duration_ms for i in warm_ok]
    peaks = [i.report.max_memory_used_mb for i in every if i.report.max_memory_used_mb]
    kept = trimmed(warm_ms, discard)
    mean = statistics.fmean(kept) if kept else None
    summary: dict[str, float | None] = {
        "init_p50_ms": _percentile(init_ms, 50),
        "init_p95_ms": _percentile(init_ms, 95),
        "cold_duration_p50_ms": _percentile(cold_ms, 50),
        "warm_p50_ms": _percentile(warm_ms, 50),
        "warm_p95_ms": _percentile(warm_ms, 95),
        "warm_p99_ms": _percentile(warm_ms, 99),
        "warm_trimmed_mean_ms": mean,
        "warm_trimmed_mean_scaled_ms": None if mean is None else mean * factor,
    }
    init_p50 = summary["init_p50_ms"]
    summary["init_p50_scaled_ms"] = None if init_p50 is None else init_p50 * factor
    # Billed Duration from the scaled figures (rounded up per invocation, INIT billed).
    warm_billed = [max(1, math.ceil(ms * factor)) for ms in kept]
    cold_billed = [
        max(1, math.ceil((i.report.duration_ms + (i.report.init_duration_ms or 0.0)) * factor))
        for i in cold_ok
    ]
    summary["warm_billed_mean_ms"] = statistics.fmean(warm_billed) if warm_billed else None
    summary["cold_billed_mean_ms"] = statistics.fmean(cold_billed) if cold_billed else None
    for arch, price in PRICES.items():
        warm_cost = _cost(statistics.fmean(warm_billed), memory_mb, price) if warm_billed else None
        cold_cost = _cost(statistics.fmean(cold_billed), memory_mb, price) if cold_billed else None
        summary[f"warm_cost_per_million_{arch}"] = None if warm_cost is None else warm_cost * 1e6
        summary[f"cold_cost_per_million_{arch}"] = None if cold_cost is None else cold_cost * 1e6
        blended: float | None = None
        if warm_cost is not None and cold_cost is not None:
            blended = ((1 - cold_share) * warm_cost + cold_share * cold_cost) * 1e6
        elif warm_cost is not None or cold_cost is not None:
            blended = (warm_cost if warm_cost is not None else cold_cost or 0.0) * 1e6
        summary[f"cost_per_million_{arch}"] = blended
    return SizeResult(
        memory_mb=memory_mb,
        target_share=target,
        cpu_share=share,
        init_ms=init_ms,
        cold_duration_ms=cold_ms,
        warm_duration_ms=warm_ms,
        max_memory_mb=max(peaks) if peaks else None,
        errors=errors,
        summary=summary,
        invocations=len(every),
    )


def choose(
    sizes: Sequence[SizeResult], balanced_weight: float = 0.5
) -> tuple[int | None, int | None, int | None]:
    """The (cheapest, fastest, balanced) memory sizes among those without failures.

    Cheapest: the lowest blended x86 cost per million. Fastest: the lowest trimmed mean
    warm Duration (scaled). Balanced: the lowest ``w x cost / max cost + (1 - w) x
    duration / max duration``.
    """
    usable = [
        s
        for s in sizes
        if not s.errors
        and s.summary.get("cost_per_million_x86_64") is not None
        and s.summary.get("warm_trimmed_mean_scaled_ms") is not None
    ]
    if not usable:
        return None, None, None

    def cost(s: SizeResult) -> float:
        return float(s.summary["cost_per_million_x86_64"] or 0.0)

    def speed(s: SizeResult) -> float:
        return float(s.summary["warm_trimmed_mean_scaled_ms"] or 0.0)

    top_cost = max(cost(s) for s in usable) or 1.0
    top_speed = max(speed(s) for s in usable) or 1.0
    cheapest = min(usable, key=lambda s: (cost(s), s.memory_mb))
    fastest = min(usable, key=lambda s: (speed(s), s.memory_mb))
    balanced = min(
        usable,
        key=lambda s: (
            balanced_weight * cost(s) / top_cost + (1 - balanced_weight) * speed(s) / top_speed,
            s.memory_mb,
        ),
    )
    return cheapest.memory_mb, fastest.memory_mb, balanced.memory_mb


def run_tune(
    handler: str,
    events: Sequence[Any] | None = None,
    *,
    memory_sizes: Sequence[int] = DEFAULT_SIZES,
    cold: int = 3,
    warm: int = 10,
    discard: float = DISCARD,
    balanced_weight: float = 0.5,
    cold_share: float = COLD_SHARE,
    calibration_factor: float | None = None,
    measure_reference: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    aws: bool | AwsStandIn = False,
    task_root: str | os.PathLike[str] | None = None,
    timeout_s: float = 30.0,
    env: Mapping[str, str] | None = None,
    python: str | os.PathLike[str] | None = None,
    layers: Sequence[str | os.PathLike[str]] = (),
    function_name: str | None = None,
    label: str | None = None,
) -> TuneResult:
    """Run the handler at each memory size with Lambda's limits and summarise it.

    Args:
        handler: ``module.function``.
        events: The events: payloads, or :class:`WeightedEvent` items (``{}`` once
            when omitted); warm invocations use them in proportion to their weights.
        memory_sizes: The sizes to try, 128-10240 MB.
        cold: Cold starts per size (each with the next event), at least 1.
        warm: Warm invocations per size, in the environment the last cold start left.
        discard: The share of the fastest and of the slowest warm invocations left out
            of the means (0 to 0.4; Power Tuning's ``discardTopBottom``).
        balanced_weight: 0 (speed) to 1 (cost), for the balanced choice.
        cold_share: The share of invocations that are cold starts, for the cost.
        calibration_factor: Lambda's time for :func:`reference_ms`'s loop over this
            machine's (``LAMBDA_KIT_CALIBRATION_FACTOR``, else 1.0).
        measure_reference: Measure :func:`reference_ms` (about a second).
        progress: Called with (phase, done, total) after each invocation.
        aws, task_root, timeout_s, env, python, layers, function_name: As for
            :class:`~lambda_kit_dev.emulator.Emulator`.
        label: The name shown in the report (the handler by default).

    Raises:
        ConfigurationError: A count, share, weight or size out of range (and what the
            emulator refuses).
    """
    weighted = [e if isinstance(e, WeightedEvent) else WeightedEvent(e) for e in (events or [{}])]
    sizes = list(dict.fromkeys(int(m) for m in memory_sizes))
    checks = [
        ("cold", cold, cold >= 1, "at least 1"),
        ("warm", warm, warm >= 0, "at least 0"),
        ("discard", discard, 0 <= discard <= 0.4, "0 to 0.4"),
        ("balanced_weight", balanced_weight, 0 <= balanced_weight <= 1, "0 to 1"),
        ("cold_share", cold_share, 0 <= cold_share <= 1, "0 to 1"),
        (
            "memory_sizes",
            sizes,
            bool(sizes) and all(128 <= m <= 10240 for m in sizes),
            "128 to 10240 MB each",
        ),
    ]
    for setting, value, ok, expected in checks:
        if not ok:
            raise ConfigurationError(
                f"Invalid {setting}={value!r}; expected {expected}.", setting=setting, value=value
            )
    factor, source = _factor(calibration_factor)
    from lambda_kit_dev.stand_ins._aws import AwsStandIn

    own_aws: AwsStandIn | None = None  # one stand-in for every size, started once
    if aws is True:
        own_aws = AwsStandIn()
    elif isinstance(aws, AwsStandIn) and not aws.running:
        own_aws = aws
    if own_aws is not None:
        own_aws.start()
        aws = own_aws
    try:
        return _run_sizes(
            handler,
            weighted,
            sizes,
            cold=cold,
            warm=warm,
            discard=discard,
            balanced_weight=balanced_weight,
            cold_share=cold_share,
            factor=factor,
            source=source,
            measure_reference=measure_reference,
            progress=progress,
            label=label,
            settings={
                "task_root": task_root,
                "timeout_s": timeout_s,
                "env": env,
                "python": python,
                "layers": layers,
                "function_name": function_name,
                "aws": aws,
            },
        )
    finally:
        if own_aws is not None:
            own_aws.stop()


def _run_sizes(
    handler: str,
    weighted: list[WeightedEvent],
    sizes: list[int],
    *,
    cold: int,
    warm: int,
    discard: float,
    balanced_weight: float,
    cold_share: float,
    factor: float,
    source: str,
    measure_reference: bool,
    progress: Callable[[str, int, int], None] | None,
    label: str | None,
    settings: dict[str, Any],
) -> TuneResult:
    from lambda_kit_dev.emulator._cgroup import cpu_share
    from lambda_kit_dev.emulator._emulator import Emulator

    python = settings["python"]
    reference = reference_ms(None if python is None else os.fspath(python)) if measure_reference else None
    results: list[SizeResult] = []
    notices: list[str] = []
    cold_events = schedule(weighted, cold)
    warm_events = schedule(weighted, warm)
    for memory_mb in sizes:
        cold_runs: list[Invocation] = []
        warm_runs: list[Invocation] = []
        with Emulator(handler, memory_mb=memory_mb, limits=True, **settings) as function:
            for i, event in enumerate(cold_events):
                cold_runs.append(function.invoke(event, fresh=True))
                if progress:
                    progress(f"{memory_mb} MB cold", i + 1, cold)
            for i, event in enumerate(warm_events):
                warm_runs.append(function.invoke(event))
                if progress:
                    progress(f"{memory_mb} MB warm", i + 1, warm)
            function.limits.prepare()
            share = function.limits.cpu_share
            notice = function.limits.notice
            if notice and not any(n.endswith(notice) for n in notices):
                notices.append(f"{memory_mb} MB: {notice}" if len(sizes) > 1 else notice)
        results.append(
            _summarise(
                memory_mb,
                cpu_share(memory_mb),
                share,
                cold_runs,
                warm_runs,
                factor=factor,
                discard=discard,
                cold_share=cold_share,
            )
        )
    cheapest, fastest, balanced = choose(results, balanced_weight)
    return TuneResult(
        handler=label or handler,
        sizes=results,
        cheapest=cheapest,
        fastest=fastest,
        balanced=balanced,
        balanced_weight=balanced_weight,
        discard=discard,
        cold=cold,
        warm=warm,
        cold_share=cold_share,
        calibration_factor=factor,
        calibration_source=source,
        reference_ms=reference,
        notice="; ".join(notices) or None,
    )


def _ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.1f}"


def _usd(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"${value:,.4f}" if value < 10 else f"${value:,.2f}"


def format_tune(result: TuneResult) -> str:
    """The human-readable report: one row per size, the three choices, the caveats."""
    f = result.calibration_factor
    lines = [
        f"lambda-kit tune: {result.handler} ({result.cold} cold starts and {result.warm} warm "
        f"invocations per size; the fastest and slowest {result.discard:.0%} of warm invocations "
        "discarded from means, as Power Tuning does)",
        "",
        "  Local figures (this machine, Lambda's CPU share per size), in ms:",
        f"  {'memory':>8}{'vCPU':>7}{'got':>7}{'Init p50':>10}{'Init p95':>10}{'Warm p50':>10}"
        f"{'p95':>9}{'p99':>9}{'mean':>9}{'MaxMem':>8}",
    ]
    for s in result.sizes:
        m = s.summary
        got = "-" if s.cpu_share is None else f"{s.cpu_share:.3f}"
        lines.append(
            f"  {s.memory_mb:>5} MB{s.target_share:>7.3f}{got:>7}{_ms(m.get('init_p50_ms')):>10}"
            f"{_ms(m.get('init_p95_ms')):>10}{_ms(m.get('warm_p50_ms')):>10}{_ms(m.get('warm_p95_ms')):>9}"
            f"{_ms(m.get('warm_p99_ms')):>9}{_ms(m.get('warm_trimmed_mean_ms')):>9}"
            f"{(str(s.max_memory_mb) + ' MB') if s.max_memory_mb else '-':>8}"
        )
    lines += [
        "",
        f"  Scaled by the calibration factor {f:g} ({result.calibration_source}): estimates, not Lambda "
        "measurements.",
        f"  {'memory':>8}{'Init p50':>10}{'mean':>9}{'billed':>9}{'$/1M x86':>11}{'$/1M arm64':>12}"
        f"{'cold $/1M x86':>15}",
    ]
    for s in result.sizes:
        m = s.summary
        lines.append(
            f"  {s.memory_mb:>5} MB{_ms(m.get('init_p50_scaled_ms')):>10}"
            f"{_ms(m.get('warm_trimmed_mean_scaled_ms')):>9}"
            f"{_ms(m.get('warm_billed_mean_ms')):>9}{_usd(m.get('cost_per_million_x86_64')):>11}"
            f"{_usd(m.get('cost_per_million_arm64')):>12}{_usd(m.get('cold_cost_per_million_x86_64')):>15}"
        )
    lines += [
        f"  Cost per million invocations: warm Billed Duration plus {result.cold_share:.0%} cold starts "
        "(INIT billed), x86 and arm64 prices per GB-second, and $0.20 per million requests.",
        "",
    ]

    def pick(size: int | None) -> str:
        return "-" if size is None else f"{size} MB"

    lines += [
        f"  Cheapest (strategy cost):     {pick(result.cheapest)}",
        f"  Fastest (strategy speed):     {pick(result.fastest)}",
        f"  Balanced (strategy balanced, weight {result.balanced_weight:g}): {pick(result.balanced)}",
    ]
    if result.reference_ms is not None:
        lines += [
            "",
            f"  Reference loop here: {result.reference_ms:.1f} ms of CPU at a whole core; the factor is "
            "its time on Lambda at 1,769 MB over this figure.",
        ]
    if result.notice:
        lines += ["", f"  ! {result.notice}"]
    for s in result.sizes:
        if s.errors:
            lines.append(f"  ! {s.memory_mb} MB: {len(s.errors)} invocation(s) failed; first: {s.errors[0]}")
    return "\n".join(lines) + "\n"


# -- command line ------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    import argparse

    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--memory expects MB,MB,... (e.g. 128,512,1769), got {text!r}"
        ) from None
    if not sizes or not all(128 <= m <= 10240 for m in sizes):
        raise argparse.ArgumentTypeError(f"--memory sizes must be 128 to 10240 MB, got {text!r}")
    return sizes


def add_arguments(parser: argparse.ArgumentParser, name: str = "tune") -> None:
    """The options of ``lambda-kit tune`` (the function's, with ``--memory`` taking a list)."""
    from lambda_kit_dev._cli import add_function_arguments

    add_function_arguments(parser)
    for action in parser._actions:  # --memory takes a list here
        if action.dest == "memory":
            action.type = _sizes
            action.metavar = "MB,MB,..."
            action.help = f"memory sizes to try (default: {','.join(map(str, DEFAULT_SIZES))})"
    parser.add_argument(
        "--events",
        metavar="FILE",
        help='weighted events, as Power Tuning takes them: [{"payload": {...}, "weight": 5}, ...]',
    )
    parser.add_argument("--cold", type=int, default=3, metavar="N", help="cold starts per size (default 3)")
    parser.add_argument(
        "--warm", type=int, default=10, metavar="M", help="warm invocations per size (default 10)"
    )
    parser.add_argument(
        "--discard",
        type=float,
        default=DISCARD,
        metavar="F",
        help="share of outliers discarded each side (0.2)",
    )
    parser.add_argument(
        "--balanced-weight", type=float, default=0.5, metavar="W", help="0 = speed, 1 = cost (default 0.5)"
    )
    parser.add_argument(
        "--cold-share",
        type=float,
        default=COLD_SHARE,
        metavar="F",
        help="share of cold starts in the cost (0.01)",
    )
    parser.add_argument(
        "--calibration-factor",
        type=float,
        metavar="F",
        help="Lambda's time for the reference loop over this machine's (default: "
        "LAMBDA_KIT_CALIBRATION_FACTOR, else 1.0)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``lambda-kit tune``; returns the exit status (1 when an invocation failed)."""
    import argparse
    import json

    from lambda_kit_dev._cli import aws_setting, function_settings, load_event, strict_json

    sizes = args.memory or list(DEFAULT_SIZES)
    args.memory = None
    try:
        settings = function_settings(args)
        if args.events is not None:
            with open(args.events, encoding="utf-8") as file:
                events = parse_events(json.load(file))
        else:
            events = [WeightedEvent(load_event(args.event))]
    except (argparse.ArgumentTypeError, OSError, ValueError) as error:
        print(f"lambda-kit tune: error: {error}", file=sys.stderr)
        return 2
    settings.pop("memory_mb", None)
    handler = settings.pop("handler")
    progress = _Progress(sys.stderr)
    try:
        result = run_tune(
            handler,
            events,
            memory_sizes=sizes,
            cold=args.cold,
            warm=args.warm,
            discard=args.discard,
            balanced_weight=args.balanced_weight,
            cold_share=args.cold_share,
            calibration_factor=args.calibration_factor,
            aws=aws_setting(args),
            progress=progress,
            **settings,
        )
    finally:
        progress.close()
    if args.json:
        print(strict_json(result.to_dict()))
    else:
        print(format_tune(result), end="")
    return 1 if result.failed else 0


class _Progress:
    """``tune: 512 MB warm 4/10`` on a stream, rewritten in place."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        self.shown = True
        self.stream.write(f"\r  tune: {phase} {done}/{total}      ")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
