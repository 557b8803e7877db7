"""``lambda-kit load``: a function under a steady request rate, scheduled as Lambda scales it.

:func:`run_load` sends requests at a fixed rate for a while (open loop: an arrival is
never held back by a slow response, so the figures carry no coordinated omission;
latency is measured from when a request was *due*, not from when it went out). Each
arrival is scheduled as Lambda schedules it:

1. an idle warm execution environment, if there is one (the most recently used);
2. else a new environment, a cold start, while fewer than ``concurrency_limit``
   (the function's reserved concurrency) are busy;
3. else a throttle: the request is refused (429 ``TooManyRequestsException``) and
   counted, as Lambda's ``Throttles`` metric counts it.

An environment idle for longer than ``idle_timeout_s`` is retired, so that the
cold-start share answers bursts and pauses. In tenant isolation mode each tenant has
a pool of its own (an environment never serves two tenants) and the runtime receives
``Lambda-Runtime-Aws-Tenant-Id``.

:func:`format_report` prints latency percentiles end to end and of Duration, cold and
warm apart; the cold-start share; environments created and retired; concurrency over
time (peak, mean, per second) beside Little's law (rate x mean Duration); throttles;
and AWS API calls per second by operation against their default quotas.

The machine running the emulator is part of what is measured: every invocation
costs this machine CPU (the runtime process, the emulator's Runtime API, the AWS
stand-in). :func:`run_load` measures that cost and reports the rate this machine can
drive honestly (its cores over the CPU time per invocation); past it, or when
arrivals fall behind their schedule, the report warns that latency and concurrency
include queueing for this machine's CPUs, which Lambda would not have.

Example:
    >>> from lambda_kit_dev.load import format_report, run_load
    >>> result = run_load("app.handler", [{}], rps=20, duration_s=10,
    ...                   task_root="examples/plain")  # doctest: +SKIP
    >>> print(format_report(result))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field

from lambda_kit.exceptions import ConfigurationError, LambdaKitError
from lambda_kit_dev.bench import AWS_QUOTAS, NEAR_QUOTA, percentile
from lambda_kit_dev.emulator._emulator import Emulator

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from lambda_kit_dev.emulator._environment import Environment
    from lambda_kit_dev.stand_ins._aws import AwsStandIn

__all__ = [
    "DEFAULT_IDLE_TIMEOUT_S",
    "Arrival",
    "LoadResult",
    "format_comparison",
    "format_report",
    "run_load",
]

DEFAULT_IDLE_TIMEOUT_S = 60.0
"""How long an environment may stay idle before it is retired.

Lambda does not publish its figure (environments are observed to live for minutes
after their last invocation); a minute keeps short runs free of retirements while
letting a pause of a longer run show up as new cold starts.
"""
HONEST_SHARE = 0.7  # of this machine's CPU: beyond it, queueing for the CPU distorts latency
LAG_LIMIT_MS = 10.0  # arrivals later than this behind schedule (p99) mean the driver cannot keep up
_RETIRE_CHECK_S = 0.1


@dataclass(frozen=True)
class Arrival:
    """One request of a load run, as it was scheduled and as it ended.

    Attributes:
        due_s: When it was due, in seconds from the start of the run.
        tenant: Its tenant id in tenant isolation mode, else ``None``.
        throttled: Refused because ``concurrency_limit`` environments were busy.
        cold: It started a new execution environment.
        ok: The function returned a response (no error, no timeout, no throttle).
        latency_ms: End to end, from when it was due to its response (``None`` when throttled).
        duration_ms: The REPORT line's Duration (``None`` when throttled).
        init_duration_ms: The REPORT line's Init Duration (cold starts only).
        concurrency: Busy environments once it started (for a throttle: when refused).
        environments: Environments alive then, idle or busy.
        error_type: Why it failed (``TooManyRequestsException`` for a throttle).
        aws_calls: AWS API calls it made, INIT's included on a cold start.
        restore_duration_ms: SnapStart: the REPORT line's Restore Duration (restores only).
        init_aws_calls: AWS API calls made during INIT (or the restore), cold starts only.
        max_memory_mb: The REPORT line's Max Memory Used (on Managed Instances: the
            whole environment's).
        environment: Which environment served it: 1 for the first one created, and so on.
    """

    due_s: float
    tenant: str | None
    throttled: bool
    cold: bool
    ok: bool
    latency_ms: float | None
    duration_ms: float | None
    init_duration_ms: float | None
    concurrency: int
    environments: int
    error_type: str | None = None
    aws_calls: dict[str, int] = field(default_factory=dict)
    restore_duration_ms: float | None = None
    init_aws_calls: dict[str, int] = field(default_factory=dict)
    max_memory_mb: int | None = None
    environment: int | None = None


@dataclass(frozen=True)
class LoadResult:
    """Everything one load run measured; :meth:`summary` holds the report's figures.

    ``timeline`` lists ``(seconds from start, busy environments)`` at every change.
    ``cpu_ms_per_invocation`` is this machine's CPU time per completed invocation
    (emulator, runtimes and stand-ins together); ``other_cpus`` how many CPUs other
    work on the machine kept busy meanwhile; ``honest_rps`` what the CPUs left can
    drive at :data:`HONEST_SHARE`; ``lag_p99_ms`` how late arrivals went out.
    """

    handler: str
    rps: float
    duration_s: float
    concurrency_limit: int
    idle_timeout_s: float
    arrivals: list[Arrival]
    timeline: list[tuple[float, int]]
    environments_created: int
    environments_retired: int
    elapsed_s: float
    lag_p99_ms: float
    cpu_ms_per_invocation: float | None
    cpus: int
    stale_posts: int = 0
    max_concurrency: int | None = None
    snapstart: bool = False
    hazards: list[str] | None = None
    other_cpus: float = 0.0

    @property
    def honest_rps(self) -> float | None:
        """The request rate this machine can drive without its own CPU distorting figures."""
        if not self.cpu_ms_per_invocation:
            return None
        available = max(0.1, self.cpus - self.other_cpus)
        return HONEST_SHARE * available * 1000.0 / self.cpu_ms_per_invocation

    @property
    def failed(self) -> bool:
        """Whether an invocation failed (a throttle is not a failure of the function)."""
        return any(not a.ok and not a.throttled for a in self.arrivals)

    def warnings(self) -> list[str]:
        """What makes the run's figures unreliable, or the function's load risky."""
        found: list[str] = []
        honest = self.honest_rps
        if honest is not None and self.rps > honest:
            found.append(
                f"{self.rps:g} requests/s is beyond what this machine can drive honestly "
                f"(~{honest:,.0f}/s: {self.cpu_ms_per_invocation:.1f} ms of CPU per invocation on "
                f"{self.cpus} CPUs, {self.other_cpus:.1f} of them busy with other work): latency and "
                "concurrency include waiting for this machine's CPUs, which Lambda would not have. "
                "Lower --rps."
            )
        if self.lag_p99_ms > LAG_LIMIT_MS:
            found.append(
                f"Arrivals went out up to {self.lag_p99_ms:.0f} ms late (p99): the driver could not "
                "keep to the schedule, so the rate reached the function unevenly."
            )
        for operation, figures in self.summary()["aws_calls_per_s"].items():
            quota, rate = figures["quota"], figures["rate"]
            if quota and rate >= NEAR_QUOTA * quota:
                found.append(
                    f"{operation} at {rate:,.1f} requests/s is {rate / quota:.0%} of its default quota of "
                    f"{quota:,.0f}/s, shared by the whole account in the Region."
                )
        return found

    def summary(self) -> dict[str, Any]:
        """The report's figures (``None`` where there is nothing to compute one from)."""
        done = [a for a in self.arrivals if not a.throttled]
        ok = [a for a in done if a.ok]
        cold = [a for a in ok if a.cold]
        warm = [a for a in ok if not a.cold]
        accepted_rate = len(done) / self.duration_s
        durations = [a.duration_ms for a in ok if a.duration_ms is not None]
        mean_duration = statistics.fmean(durations) if durations else None
        latencies = [a.latency_ms for a in ok if a.latency_ms is not None]
        mean_latency = statistics.fmean(latencies) if latencies else None
        calls: dict[str, int] = {}
        for arrival in done:
            for operation, count in arrival.aws_calls.items():
                calls[operation] = calls.get(operation, 0) + count
        init_calls: dict[str, int] = {}
        for arrival in done:
            for operation, count in arrival.init_aws_calls.items():
                init_calls[operation] = init_calls.get(operation, 0) + count
        memory = [a.max_memory_mb for a in done if a.max_memory_mb is not None]
        tenants: dict[str, dict[str, int]] = {}
        for arrival in done:
            if arrival.tenant is not None:
                counts = tenants.setdefault(arrival.tenant, {"invocations": 0, "cold_starts": 0})
                counts["invocations"] += 1
                counts["cold_starts"] += arrival.cold
        return {
            "requests": len(self.arrivals),
            "completed": len(done),
            "ok": len(ok),
            "errors": len(done) - len(ok),
            "throttles": len(self.arrivals) - len(done),
            "achieved_rps": len(self.arrivals) / self.duration_s,
            "cold_starts": sum(a.cold for a in done),
            "cold_share": (sum(a.cold for a in done) / len(done)) if done else None,
            "environments_created": self.environments_created,
            "environments_retired": self.environments_retired,
            "latency_ms": {
                "cold": _percentiles(cold, "latency_ms"),
                "warm": _percentiles(warm, "latency_ms"),
            },
            "duration_ms": {
                "cold": _percentiles(cold, "duration_ms"),
                "warm": _percentiles(warm, "duration_ms"),
            },
            "init_duration_ms": _percentiles(cold, "init_duration_ms"),
            "restore_duration_ms": _percentiles(cold, "restore_duration_ms"),
            "init_aws_calls_per_environment": {
                operation: count / max(1, self.environments_created)
                for operation, count in sorted(init_calls.items())
            },
            "max_memory_mb_per_environment": max(memory, default=None),
            "concurrency": {
                "peak": max((busy for _, busy in self.timeline), default=0),
                "mean": mean_concurrency(self.timeline, 0.0, self.duration_s),
                "littles_law": None if mean_duration is None else accepted_rate * mean_duration / 1000.0,
                "littles_law_end_to_end": None
                if mean_latency is None
                else accepted_rate * mean_latency / 1000.0,
                "per_second": concurrency_per_second(self.timeline, self.elapsed_s),
            },
            "aws_calls_per_s": {
                operation: {
                    "rate": count / self.elapsed_s if self.elapsed_s else 0.0,
                    "quota": AWS_QUOTAS.get(operation),
                }
                for operation, count in sorted(calls.items())
            },
            "tenants": tenants,
            "machine": {
                "cpus": self.cpus,
                "cpu_ms_per_invocation": self.cpu_ms_per_invocation,
                "other_cpus": self.other_cpus,
                "honest_rps": self.honest_rps,
                "lag_p99_ms": self.lag_p99_ms,
            },
            "stale_posts": self.stale_posts,
            "max_concurrency": self.max_concurrency,
            "snapstart": self.snapstart,
            "hazards": self.hazards,
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form: the settings, the summary and the warnings."""
        return {
            "handler": self.handler,
            "rps": self.rps,
            "duration_s": self.duration_s,
            "concurrency_limit": self.concurrency_limit,
            "idle_timeout_s": self.idle_timeout_s,
            "summary": self.summary(),
            "warnings": self.warnings(),
            "first_errors": sorted({a.error_type for a in self.arrivals if a.error_type and not a.throttled}),
            "arrivals": [asdict(a) for a in self.arrivals],
        }


def _percentiles(arrivals: Sequence[Arrival], name: str) -> dict[str, float | None]:
    values = [v for v in (getattr(a, name) for a in arrivals) if v is not None]
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def mean_concurrency(timeline: Sequence[tuple[float, int]], start: float, end: float) -> float | None:
    """The time-weighted mean of a ``(time, level)`` step function over ``[start, end]``."""
    if end <= start:
        return None
    area = 0.0
    level = 0
    at = start
    for when, value in timeline:
        if when > end:
            break
        if when > at:
            area += level * (when - at)
            at = when
        level = value
    area += level * (end - at)
    return area / (end - start)


def concurrency_per_second(timeline: Sequence[tuple[float, int]], end: float) -> list[dict[str, float]]:
    """Peak and time-weighted mean busy environments in each second up to ``end``."""
    seconds: list[dict[str, float]] = []
    index = 0
    level = 0  # the level at the start of the current second
    for second in range(max(1, math.ceil(end))):
        while index < len(timeline) and timeline[index][0] <= second:
            level = timeline[index][1]
            index += 1
        peak = level
        ahead = index
        while ahead < len(timeline) and timeline[ahead][0] < second + 1:
            peak = max(peak, timeline[ahead][1])
            ahead += 1
        mean = mean_concurrency(timeline, second, second + 1) or 0.0
        seconds.append({"second": second, "peak": peak, "mean": round(mean, 3)})
    return seconds


class _Pool:
    """Execution environments scheduled as Lambda schedules them (see the module docstring).

    ``capacity`` is how many invocations an environment runs at once: 1 on demand,
    ``max_concurrency`` on Managed Instances (an environment with room is filled
    before another is started).
    """

    def __init__(
        self, function: Emulator, limit: int, idle_timeout_s: float, started: float, capacity: int = 1
    ) -> None:
        self.function = function
        self.limit = limit
        self.idle_timeout_s = idle_timeout_s
        self.started = started
        self.capacity = capacity
        self.lock = threading.Lock()
        self.pools: dict[str | None, list[Environment]] = {}  # by tenant, oldest first
        self.load: dict[Environment, int] = {}
        self.idle_since: dict[Environment, float] = {}
        self.serial: dict[Environment, int] = {}  # 1 for the first environment created...
        self.busy = 0
        self.alive: set[Environment] = set()
        self.created = 0
        self.retired = 0
        self.timeline: list[tuple[float, int]] = [(0.0, 0)]
        self.stale_posts = 0
        self.closers: list[threading.Thread] = []

    def _mark(self, now: float) -> None:
        self.timeline.append((now - self.started, self.busy))

    def acquire(self, tenant: str | None, now: float) -> tuple[Environment | None, int, int]:
        """An environment for an arrival (None: throttled), busy and alive counts after it."""
        with self.lock:
            room = [
                env for env in self.pools.get(tenant, []) if env.reusable and self.load[env] < self.capacity
            ]
            environment: Environment | None = None
            if room:  # the fullest, then the most recently used (the others can idle out)
                environment = max(room, key=lambda env: (self.load[env], self.idle_since.get(env, now)))
            elif self.busy >= self.limit:
                return None, self.busy, len(self.alive)
            else:
                self.created += 1
                number = self.created
            self.busy += 1
            self._mark(now)
            if environment is not None:
                self.load[environment] += 1
                self.idle_since.pop(environment, None)
                return environment, self.busy, len(self.alive)
            busy, alive = self.busy, len(self.alive) + 1
        try:
            environment = self.function.new_environment()
        except BaseException:
            with self.lock:
                self.busy -= 1
                self.created -= 1
                self._mark(time.perf_counter())
            raise
        with self.lock:
            self.serial[environment] = number
            self.alive.add(environment)
            self.pools.setdefault(tenant, []).append(environment)
            self.load[environment] = 1
        return environment, busy, alive

    def release(self, environment: Environment, tenant: str | None) -> None:
        now = time.perf_counter()
        with self.lock:
            self.busy -= 1
            self._mark(now)
            self.load[environment] -= 1
            if self.load[environment] > 0:
                return
            if environment.reusable:
                self.idle_since[environment] = now
                return
        self._retire([environment], tenant)

    def retire_idle(self, now: float) -> None:
        """Retire environments idle for longer than ``idle_timeout_s``."""
        with self.lock:
            expired = [
                (env, tenant)
                for tenant, pool in self.pools.items()
                for env in pool
                if self.load[env] == 0 and now - self.idle_since.get(env, now) > self.idle_timeout_s
            ]
        for environment, tenant in expired:
            self._retire([environment], tenant, count=True)

    def _retire(self, environments: list[Environment], tenant: str | None, *, count: bool = False) -> None:
        with self.lock:
            for environment in environments:
                pool = self.pools.get(tenant, [])
                if environment in pool:
                    pool.remove(environment)
                self.load.pop(environment, None)
                self.idle_since.pop(environment, None)
                self.alive.discard(environment)
                self.stale_posts += environment.stale_posts
            if count:
                self.retired += len(environments)
        for environment in environments:
            thread = threading.Thread(target=environment.close, daemon=True)
            thread.start()
            self.closers.append(thread)

    def close(self) -> None:
        with self.lock:
            environments = [(env, tenant) for tenant, pool in self.pools.items() for env in pool]
        for environment, tenant in environments:
            self._retire([environment], tenant)
        for thread in self.closers:
            thread.join()


def _machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (from /proc/stat), or None."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    try:
        values = [int(value) for value in fields[1:]]
    except ValueError:
        return None
    idle = sum(values[3:5])  # idle, iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # guest time is in user already


def _tree_cpu_seconds() -> float:
    """CPU time of this process and everything it started: the emulator, the runtimes and
    their supervisors, the AWS stand-in (live ones from /proc, ended ones from rusage)."""
    from lambda_kit_dev.emulator._supervisor import descendants

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    ticks = 0
    for process in descendants(os.getpid()):
        try:
            with open(f"/proc/{process}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
            # utime, stime, and cutime, cstime: its children that ended (a runtime its supervisor reaped)
            ticks += sum(int(field) for field in fields[11:15])
        except (OSError, IndexError, ValueError):
            continue
    return total + ticks / os.sysconf("SC_CLK_TCK")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _payloads(events: Sequence[Any]) -> list[bytes]:
    from lambda_kit_dev.emulator._environment import check_payload

    if not events:
        raise ConfigurationError("No events: give at least one.", setting="events", value=0)
    payloads: list[bytes] = []
    for event in events:
        try:
            payload = json.dumps(event).encode()
        except (TypeError, ValueError) as error:
            raise ConfigurationError(
                f"An event is not JSON-serialisable: {error}.", setting="events", value=type(event).__name__
            ) from None
        check_payload(payload)
        payloads.append(payload)
    return payloads


def _tenant_cycle(tenants: int | Sequence[str] | None) -> Callable[[int], str | None]:
    if tenants is None or tenants == 0:
        return lambda i: None
    if isinstance(tenants, int):
        if tenants < 0:
            raise ConfigurationError(
                f"Invalid tenants={tenants}; expected a count of at least 1.",
                setting="tenants",
                value=tenants,
            )
        names = [f"tenant-{n + 1}" for n in range(tenants)]
    else:
        from lambda_kit_dev.emulator._config import check_tenant_id

        names = [check_tenant_id(name, setting="tenants") for name in tenants]
    return lambda i: names[i % len(names)]


def run_load(
    handler: str,
    events: Sequence[Any],
    *,
    rps: float,
    duration_s: float,
    concurrency_limit: int = 10,
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
    tenants: int | Sequence[str] | None = None,
    schedule: Sequence[float] | None = None,
    aws: bool | AwsStandIn = False,
    snapstart: bool = False,
    max_concurrency: int | None = None,
    progress: Callable[[float, Mapping[str, int]], None] | None = None,
    label: str | None = None,
    **emulator_options: Any,
) -> LoadResult:
    """Drive ``handler`` at ``rps`` requests per second for ``duration_s`` seconds.

    Args:
        handler: ``module.function``.
        events: The events, sent in turn (cycled).
        rps: Arrivals per second, evenly spaced (open loop).
        duration_s: How long arrivals go on; the run then waits for the invocations in
            flight to end.
        concurrency_limit: Reserved concurrency: at most this many environments busy
            at once; an arrival beyond it is throttled.
        idle_timeout_s: An environment idle longer than this is retired.
        tenants: Tenant isolation mode: a count (``tenant-1`` ... ``tenant-K``, taken in
            turn) or the tenant ids of the arrivals, cycled.
        schedule: Arrival times in seconds from the start instead of ``rps`` (bursts
            and pauses); ``rps`` and ``duration_s`` are then only reported.
        aws: An AWS stand-in (see :class:`~lambda_kit_dev.emulator.Emulator`).
        snapstart: SnapStart: INIT once, every environment restored from the snapshot
            (see :mod:`lambda_kit_dev.emulator._snapstart`); the result lists the
            hazards two restored environments show.
        max_concurrency: Managed Instances: invocations at once per environment,
            one worker process each (see :mod:`lambda_kit_dev.emulator._managed`).
        progress: Called about twice a second with the seconds elapsed and counts
            (``sent``, ``completed``, ``throttled``, ``busy``, ``environments``).
        label: The name shown in reports (the handler by default).
        emulator_options: Passed to :class:`~lambda_kit_dev.emulator.Emulator`
            (``task_root``, ``memory_mb``, ``timeout_s``, ``env``, ``python``...).

    Returns:
        Every arrival and the run's measurements (see :class:`LoadResult`).

    Raises:
        ConfigurationError: A rate, duration, limit or timeout out of range, no events,
            an event that is not JSON (and what the Emulator refuses).
    """
    from concurrent.futures import ThreadPoolExecutor

    for name, value in (("rps", rps), ("duration_s", duration_s), ("idle_timeout_s", idle_timeout_s)):
        if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
            raise ConfigurationError(
                f"Invalid {name}={value!r}; expected a finite number more than 0.", setting=name, value=value
            )
    if not isinstance(concurrency_limit, int) or concurrency_limit < 1:
        raise ConfigurationError(
            f"Invalid concurrency_limit={concurrency_limit!r}; expected at least 1.",
            setting="concurrency_limit",
            value=concurrency_limit,
        )
    payloads = _payloads(events)
    tenant_of = _tenant_cycle(tenants)
    function_class: Callable[..., Emulator] = Emulator
    if snapstart and max_concurrency is not None:
        raise ConfigurationError(
            "SnapStart and Managed Instances do not go together: Lambda offers SnapStart for "
            "on-demand functions.",
            setting="snapstart",
            value=True,
        )
    if snapstart and tenants:
        raise ConfigurationError(
            "SnapStart and tenant isolation do not go together: Lambda refuses a function with both.",
            setting="tenants",
            value=True,
        )
    if snapstart:
        from lambda_kit_dev.emulator._snapstart import SnapStartEmulator

        function_class = SnapStartEmulator
    elif max_concurrency is not None:
        from functools import partial

        from lambda_kit_dev.emulator._managed import ManagedInstancesEmulator

        function_class = partial(ManagedInstancesEmulator, max_concurrency=max_concurrency)
    if schedule is not None:
        due = sorted(float(t) for t in schedule)
        if not due or due[0] < 0 or not all(math.isfinite(t) for t in due):
            raise ConfigurationError(
                "Invalid schedule; expected arrival times of 0 seconds or more.",
                setting="schedule",
                value=len(due),
            )
    else:
        due = [i / rps for i in range(max(1, math.floor(rps * duration_s + 1e-9)))]
    arrivals: list[Arrival | None] = [None] * len(due)
    lags: list[float] = []
    counts = {"sent": 0, "completed": 0, "throttled": 0}
    counts_lock = threading.Lock()

    hazards: list[str] | None = None
    with function_class(handler, aws=aws, max_environments=concurrency_limit, **emulator_options) as function:
        if snapstart:  # taken before the run, as Lambda takes it when the version is published
            function.snapshot  # type: ignore[attr-defined]  # noqa: B018
        started = time.perf_counter()
        pool = _Pool(function, concurrency_limit, idle_timeout_s, started, capacity=max_concurrency or 1)
        cpu_before = _tree_cpu_seconds()
        machine_before = _machine_busy_seconds()

        def invoke(index: int, environment: Environment, tenant: str | None, busy: int, alive: int) -> None:
            payload = payloads[index % len(payloads)]
            cold = environment.process is None
            try:
                invocation = environment.invoke(payload, "application/json", tenant_id=tenant)
            except LambdaKitError as error:
                latency = (time.perf_counter() - started - due[index]) * 1000.0
                arrivals[index] = Arrival(
                    due[index], tenant, False, cold, False, latency, None, None, busy, alive,
                    error_type=getattr(error, "code", None) or type(error).__name__,
                )  # fmt: skip
            else:
                ended = time.perf_counter()
                calls = dict(invocation.aws_calls)
                for operation, count in invocation.init_aws_calls.items():
                    calls[operation] = calls.get(operation, 0) + count
                report = invocation.report
                arrivals[index] = Arrival(
                    due[index], tenant, False, report.cold, invocation.ok,
                    (ended - started - due[index]) * 1000.0, report.duration_ms, report.init_duration_ms,
                    busy, alive, error_type=report.error_type if not invocation.ok else None, aws_calls=calls,
                    restore_duration_ms=report.restore_duration_ms, init_aws_calls=invocation.init_aws_calls,
                    max_memory_mb=report.max_memory_used_mb, environment=pool.serial.get(environment),
                )  # fmt: skip
            finally:
                pool.release(environment, tenant)
                with counts_lock:
                    counts["completed"] += 1

        workers = ThreadPoolExecutor(max_workers=concurrency_limit + 4, thread_name_prefix="lambda-kit-load")
        try:
            last_report = last_check = 0.0
            for index, at in enumerate(due):
                while True:
                    now = time.perf_counter() - started
                    if now - last_check >= _RETIRE_CHECK_S:
                        pool.retire_idle(time.perf_counter())
                        last_check = now
                    if progress is not None and now - last_report >= 0.5:
                        last_report = now
                        _progress(progress, now, counts, pool)
                    if now >= at:
                        break
                    time.sleep(min(at - now, _RETIRE_CHECK_S))
                lags.append((now - at) * 1000.0)
                tenant = tenant_of(index)
                environment, busy, alive = pool.acquire(tenant, time.perf_counter())
                with counts_lock:
                    counts["sent"] += 1
                if environment is None:
                    arrivals[index] = Arrival(
                        at, tenant, True, False, False, None, None, None, busy, alive,
                        error_type="TooManyRequestsException",
                    )  # fmt: skip
                    with counts_lock:
                        counts["throttled"] += 1
                        counts["completed"] += 1
                    continue
                workers.submit(invoke, index, environment, tenant, busy, alive)
            while True:  # the invocations in flight
                with counts_lock:
                    if counts["completed"] >= len(due):
                        break
                now = time.perf_counter() - started
                if progress is not None and now - last_report >= 0.5:
                    last_report = now
                    _progress(progress, now, counts, pool)
                time.sleep(0.01)
        finally:
            workers.shutdown(wait=True)
            elapsed = time.perf_counter() - started
            used_cpu = _tree_cpu_seconds() - cpu_before
            machine_after = _machine_busy_seconds()
            pool.close()
        if progress is not None:
            _progress(progress, elapsed, counts, pool)
        if snapstart:
            hazards = [str(hazard) for hazard in function.hazards(events[0])]  # type: ignore[attr-defined]
    done = [a for a in arrivals if a is not None and not a.throttled]
    cpu_ms = used_cpu * 1000.0 / len(done) if done else None
    other_cpus = 0.0
    if machine_before is not None and machine_after is not None and elapsed > 0:
        # What the machine was busy with beyond this run.
        other_cpus = max(0.0, (machine_after - machine_before - used_cpu) / elapsed)
    return LoadResult(
        handler=label or handler,
        rps=rps if schedule is None else len(due) / max(duration_s, 1e-9),
        duration_s=duration_s if schedule is None else max(duration_s, due[-1]),
        concurrency_limit=concurrency_limit,
        idle_timeout_s=idle_timeout_s,
        arrivals=[a for a in arrivals if a is not None],
        timeline=pool.timeline,
        environments_created=pool.created,
        environments_retired=pool.retired,
        elapsed_s=elapsed,
        lag_p99_ms=percentile(lags, 99) if lags else 0.0,
        cpu_ms_per_invocation=cpu_ms,
        cpus=_cpus(),
        stale_posts=pool.stale_posts,
        max_concurrency=max_concurrency,
        snapstart=snapstart,
        hazards=hazards,
        other_cpus=round(other_cpus, 2),
    )


def _progress(
    progress: Callable[[float, Mapping[str, int]], None], now: float, counts: Mapping[str, int], pool: _Pool
) -> None:
    with pool.lock:
        snapshot = {**counts, "busy": pool.busy, "environments": len(pool.alive)}
    progress(now, snapshot)


class Progress:
    """A progress line on a stream (stderr), rewritten in place."""

    def __init__(self, stream: Any, total_s: float) -> None:
        self.stream = stream
        self.total_s = total_s
        self.shown = False

    def __call__(self, elapsed: float, counts: Mapping[str, int]) -> None:
        self.shown = True
        self.stream.write(
            f"\r  load: {min(elapsed, self.total_s):5.1f}/{self.total_s:g} s  sent {counts['sent']}  "
            f"done {counts['completed']}  throttled {counts['throttled']}  busy {counts['busy']}  "
            f"environments {counts['environments']}   "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def format_report(result: LoadResult) -> str:
    """The load report as text (the warnings first: they say which figures to distrust)."""
    s = result.summary()
    lines = [
        f"{result.handler}: {result.rps:g} requests/s for {result.duration_s:g} s (concurrency "
        f"limit {result.concurrency_limit}, idle timeout {result.idle_timeout_s:g} s)"
    ]
    for warning in result.warnings():
        lines.append(f"  WARNING: {warning}")
    lines += [
        f"  requests {s['requests']}  ok {s['ok']}  errors {s['errors']}  throttles {s['throttles']}"
        f"  (sent at {s['achieved_rps']:.1f}/s)",
        f"  cold starts {s['cold_starts']} ({_share(s['cold_share'])})  environments created "
        f"{s['environments_created']}, retired idle {s['environments_retired']}",
        "                      n      p50      p90      p99      max  (ms)",
    ]
    for title, key in (("latency", "latency_ms"), ("Duration", "duration_ms")):
        for kind in ("cold", "warm"):
            p = s[key][kind]
            lines.append(
                f"  {title + ' ' + kind:<16}{p['n']:>5}{_ms(p['p50']):>9}{_ms(p['p90']):>9}"
                f"{_ms(p['p99']):>9}{_ms(p['max']):>9}"
            )
    for title, key in (("Init Duration", "init_duration_ms"), ("Restore Duration", "restore_duration_ms")):
        p = s[key]
        if p["n"] or key == "init_duration_ms":
            figures = "".join(f"{_ms(p[q]):>9}" for q in ("p50", "p90", "p99", "max"))
            lines.append(f"  {title:<16}{p['n']:>5}{figures}")
    c = s["concurrency"]
    law = "-" if c["littles_law"] is None else f"{c['littles_law']:.2f}"
    mean = "-" if c["mean"] is None else f"{c['mean']:.2f}"
    lines.append(f"  concurrency: peak {c['peak']}, mean {mean}; Little's law (rate x mean Duration) {law}")
    if c["littles_law_end_to_end"] is not None:
        lines.append(
            f"    rate x mean latency (cold starts' INIT included) {c['littles_law_end_to_end']:.2f}: "
            "what the environments were busy with"
        )
    lines.append("    per second (peak): " + " ".join(str(int(b["peak"])) for b in c["per_second"][:60]))
    if s["aws_calls_per_s"]:
        lines.append("  AWS calls per second (default quota):")
        for operation, figures in s["aws_calls_per_s"].items():
            quota = figures["quota"]
            quota_text = f"of {quota:,.0f}/s ({figures['rate'] / quota:.2%})" if quota else "(no quota known)"
            lines.append(f"    {operation:<36}{figures['rate']:>9.1f}/s {quota_text}")
    if result.max_concurrency is not None:
        per_environment = ", ".join(
            f"{operation} {count:g}" for operation, count in s["init_aws_calls_per_environment"].items()
        )
        lines.append(
            f"  Managed Instances: {result.max_concurrency} workers per environment, each its own INIT; "
            f"memory per environment {s['max_memory_mb_per_environment']} MB; "
            f"INIT AWS calls per environment: {per_environment or 'none'}"
        )
    if result.hazards is not None:
        lines.append(f"  SnapStart hazards: {len(result.hazards) or 'none found'}")
        lines += [f"    {hazard}" for hazard in result.hazards]
    for tenant, figures in s["tenants"].items():
        lines.append(
            f"  tenant {tenant}: {figures['invocations']} invocations, {figures['cold_starts']} cold"
        )
    m = s["machine"]
    honest = "-" if m["honest_rps"] is None else f"{m['honest_rps']:,.0f}"
    cpu = "-" if m["cpu_ms_per_invocation"] is None else f"{m['cpu_ms_per_invocation']:.1f}"
    lines.append(
        f"  this machine: {cpu} ms CPU per invocation on {m['cpus']} CPUs ({m['other_cpus']:.1f} busy with "
        f"other work), drives ~{honest} requests/s honestly; arrivals p99 {m['lag_p99_ms']:.1f} ms late"
    )
    errors = sorted({a.error_type for a in result.arrivals if a.error_type and not a.throttled})
    if errors:
        lines.append(f"  error types: {', '.join(errors)}")
    return "\n".join(lines) + "\n"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def format_comparison(results: Sequence[LoadResult]) -> str:
    """Load runs side by side (the same rate, say: examples/naive against examples/tuned)."""
    summaries = [r.summary() for r in results]
    width = max(16, *(len(r.handler) + 2 for r in results))

    def row(label: str, values: Sequence[str]) -> str:
        return f"  {label:<30}" + "".join(f"{v:>{width}}" for v in values)

    lines = [row("", [r.handler for r in results])]
    lines.append(row("requests/s x seconds", [f"{r.rps:g} x {r.duration_s:g}" for r in results]))
    lines.append(
        row("ok / errors / throttles", [f"{s['ok']}/{s['errors']}/{s['throttles']}" for s in summaries])
    )
    lines.append(
        row("cold starts (share)", [f"{s['cold_starts']} ({_share(s['cold_share'])})" for s in summaries])
    )
    lines.append(row("environments created", [str(s["environments_created"]) for s in summaries]))
    for title, key in (("latency", "latency_ms"), ("Duration", "duration_ms")):
        for kind in ("warm", "cold"):
            for q in ("p50", "p99"):
                lines.append(row(f"{title} {kind} {q} (ms)", [_ms(s[key][kind][q]) for s in summaries]))
    lines.append(row("Init Duration p50 (ms)", [_ms(s["init_duration_ms"]["p50"]) for s in summaries]))
    lines.append(row("concurrency peak / mean", [
        f"{s['concurrency']['peak']} / {_ms(s['concurrency']['mean'])}" for s in summaries
    ]))  # fmt: skip
    lines.append(row("Little's law", [_ms(s["concurrency"]["littles_law"]) for s in summaries]))
    operations = sorted({op for s in summaries for op in s["aws_calls_per_s"]})
    for operation in operations:
        lines.append(row(f"{operation}/s", [
            f"{s['aws_calls_per_s'][operation]['rate']:.1f}" if operation in s["aws_calls_per_s"] else "0"
            for s in summaries
        ]))  # fmt: skip
    lines.append(
        row("CPU ms per invocation (here)", [_ms(s["machine"]["cpu_ms_per_invocation"]) for s in summaries])
    )
    lines.append(row("honest requests/s (here)", [
        "-" if s["machine"]["honest_rps"] is None else f"{s['machine']['honest_rps']:,.0f}" for s in summaries
    ]))  # fmt: skip
    return "\n".join(lines) + "\n"


# -- command line ---------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, name: str = "load") -> None:
    """Add the options of ``lambda-kit load`` to ``parser``."""
    from lambda_kit_dev._cli import add_function_arguments

    add_function_arguments(parser)
    parser.add_argument(
        "--rps", type=float, required=True, metavar="R", help="arrivals per second (open loop)"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, metavar="S", help="seconds of arrivals (default 10)"
    )
    parser.add_argument(
        "--events",
        nargs="+",
        default=[],
        metavar="FILE",
        help="event files, sent in turn; a .jsonl file gives one event per line (default: --event, or {})",
    )
    parser.add_argument(
        "--concurrency-limit",
        type=int,
        default=10,
        metavar="N",
        help="reserved concurrency: busy environments beyond it are throttled (default 10)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT_S,
        metavar="S",
        help=f"retire an environment idle this long (default {DEFAULT_IDLE_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--tenants", type=int, metavar="K", help="tenant isolation mode with K tenants, in turn"
    )
    parser.add_argument(
        "--tenant",
        action="append",
        default=[],
        metavar="ID",
        help="a tenant id (repeatable; arrivals cycle them)",
    )
    parser.add_argument(
        "--snapstart",
        action="store_true",
        help="SnapStart: INIT once, every environment restored from the snapshot; report the hazards",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        metavar="N",
        help="Managed Instances: N invocations at once per environment (AWS_LAMBDA_MAX_CONCURRENCY)",
    )
    parser.add_argument(
        "--memory-per-vcpu",
        type=float,
        metavar="GIB",
        help="Managed Instances: GiB of memory per vCPU, 2 to 8 (default 2): the CPU share with --limits",
    )


def read_events(paths: Sequence[str]) -> list[Any]:
    """The events in ``paths``: one JSON document per file, one per line in a ``.jsonl`` file."""
    import argparse

    events: list[Any] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
        except (OSError, UnicodeDecodeError) as error:
            raise argparse.ArgumentTypeError(f"cannot read event file {path!r}: {error}") from None
        documents = (
            [line for line in text.splitlines() if line.strip()] if path.endswith(".jsonl") else [text]
        )
        for number, document in enumerate(documents, 1):
            try:
                events.append(json.loads(document))
            except ValueError as error:
                where = f" line {number}" if path.endswith(".jsonl") else ""
                raise argparse.ArgumentTypeError(f"event file {path!r}{where} is not JSON: {error}") from None
    return events


def run(args: argparse.Namespace) -> int:
    """Run ``lambda-kit load``; 0 when every invocation succeeded (throttles aside), 1 otherwise."""
    import argparse

    from lambda_kit_dev._cli import aws_setting, function_settings, load_event, strict_json

    try:
        settings = function_settings(args)
        events = read_events(args.events) if args.events else [load_event(args.event)]
    except argparse.ArgumentTypeError as error:
        print(f"lambda-kit load: error: {error}", file=sys.stderr)
        return 2
    if args.tenants is not None and args.tenant:
        print("lambda-kit load: error: give --tenants K or --tenant ID, not both", file=sys.stderr)
        return 2
    if args.memory_per_vcpu is not None:
        if args.max_concurrency is None:
            print("lambda-kit load: error: --memory-per-vcpu goes with --max-concurrency", file=sys.stderr)
            return 2
        settings["memory_per_vcpu_gib"] = args.memory_per_vcpu
    handler = settings.pop("handler")
    progress = Progress(sys.stderr, args.duration)
    try:
        result = run_load(
            handler,
            events,
            rps=args.rps,
            duration_s=args.duration,
            concurrency_limit=args.concurrency_limit,
            idle_timeout_s=args.idle_timeout,
            tenants=args.tenant or args.tenants,
            aws=aws_setting(args),
            snapstart=args.snapstart,
            max_concurrency=args.max_concurrency,
            progress=progress,
            label=f"{args.function} ({handler})" if args.function else None,
            **settings,
        )
    finally:
        progress.close()
    if args.json:
        print(strict_json(result.to_dict()))
    else:
        print(format_report(result), end="")
    return 1 if result.failed else 0
