"""``lambda-kit bench``: a handler's cold and warm cost, and what would throttle at scale.

:func:`run_bench` runs ``cold`` fresh execution environments and ``warm``
invocations of one warm environment under the :class:`~lambda_kit_dev.emulator.Emulator`,
then one more cold start under ``-X importtime`` for the import profile (kept apart
so that profiling never slows the measured INIT). :func:`format_report` prints what
Lambda's REPORT lines add up to, the heaviest imports, the AWS API calls per cold
and per warm invocation, and a Little's-law projection at a request rate:
concurrency = requests/s x p99 duration, set against the default Lambda concurrency
quota, and each AWS operation's request rate against its default quota.

Figures come from the invocations that succeeded only: a failed invocation's
duration measures the failure, not the handler. When some fail, the report says how
many and shows the first error; when every one fails, there are no figures (``None``,
``null`` in JSON) and no projection (``projection`` is ``None``), and the command line
exits with status 1 (as it does whenever an invocation failed).

Example:
    >>> result = run_bench("app.handler", {}, task_root="examples/plain")  # doctest: +SKIP
    >>> print(format_report(result))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.emulator._emulator import Emulator

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from lambda_kit_dev.emulator._report import ImportTiming, Invocation
    from lambda_kit_dev.stand_ins._aws import AwsStandIn

__all__ = [
    "AWS_QUOTAS",
    "CONCURRENCY_QUOTA",
    "BenchResult",
    "batch_of",
    "format_comparison",
    "format_report",
    "percentile",
    "project",
    "run_bench",
    "summarise",
]

# Default Region-level request-rate quotas (requests per second) from AWS's service
# quota pages; an operation not listed is projected but never flagged.
AWS_QUOTAS: dict[str, float] = {
    "secretsmanager.GetSecretValue": 10_000,
    "secretsmanager.DescribeSecret": 40_000,
    "secretsmanager.BatchGetSecretValue": 100,
    "cloudwatch.PutMetricData": 500,
    "ssm.GetParameter": 40,
    "ssm.GetParameters": 40,
    "ssm.GetParametersByPath": 40,
    "kms.Decrypt": 5_500,
    "sts.AssumeRole": 500,
}
CONCURRENCY_QUOTA = 1_000  # default concurrent executions per Region
# Source without usable bytecode from which the bench warns and measures what it costs:
# at roughly 100 ms per MB compiled, about 5 ms of every cold start.
BYTECODE_WARN_BYTES = 50_000
NEAR_QUOTA = 0.5  # warn from this share of a quota on: quotas are account-wide
PRICE_PER_GB_SECOND_X86 = 0.0000166667
PRICE_PER_REQUEST = 0.20 / 1_000_000


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _figure(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile, or None for no values (JSON has no NaN)."""
    return percentile(values, q) if values else None


@dataclass(frozen=True)
class Projection:
    """What a request rate means for concurrency and each AWS operation's quota.

    A request is one invocation. ``basis`` says which p99 Duration it uses: ``"warm"``,
    or ``"cold"`` when no warm invocation succeeded (``--warm 0``, say). When the event
    is a batch from a poller (SQS, Kinesis, DynamoDB Streams, Kafka, MQ: see
    :func:`batch_of`), one request is one batch: ``batch_source`` names the records,
    ``records_per_batch`` counts the event's, and ``records_per_second`` is ``rps``
    times that.
    """

    rps: float
    duration_ms: float
    concurrency: float
    concurrency_quota: int
    operations: dict[str, dict[str, float | None]]  # op -> {rate, quota}
    warnings: list[str]
    basis: str = "warm"
    batch_source: str | None = None
    records_per_batch: int | None = None
    records_per_second: float | None = None


# Event sources whose poller hands a function a batch of records per invocation:
# eventSource -> (what a record is, the event's key holding them).
_BATCH_SOURCES = {
    "aws:sqs": ("SQS messages", "Records"),
    "aws:kinesis": ("Kinesis records", "Records"),
    "aws:dynamodb": ("DynamoDB stream records", "Records"),
    "aws:kafka": ("Kafka records", "records"),
    "SelfManagedKafka": ("Kafka records", "records"),
    "aws:mq": ("Amazon MQ messages", "messages"),
    "aws:rmq": ("RabbitMQ messages", "rmqMessagesByQueue"),
}


def batch_of(event: Any) -> tuple[str, int] | None:
    """``(what a record is, how many)`` when ``event`` is a poller's batch, else None.

    SQS, Kinesis and DynamoDB Streams events list their records under ``Records``
    (each with its ``eventSource``); Kafka's group them by topic partition under
    ``records``, Amazon MQ's under ``messages`` (RabbitMQ's by queue). Any other
    event, an empty batch or a malformed one is not a batch: one request, one event.
    """
    if not isinstance(event, dict):
        return None
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        source = records[0].get("eventSource")
        if isinstance(source, str) and _BATCH_SOURCES.get(source, ("", ""))[1] == "Records":
            return _BATCH_SOURCES[source][0], len(records)
        return None
    source = event.get("eventSource")
    if not isinstance(source, str) or source not in _BATCH_SOURCES:
        return None
    name, key = _BATCH_SOURCES[source]
    held = event.get(key)
    if isinstance(held, dict) and all(isinstance(group, list) for group in held.values()):
        count = sum(len(group) for group in held.values())
    elif isinstance(held, list):
        count = len(held)
    else:
        return None
    return (name, count) if count else None


def project(
    rps: float,
    warm_p99_ms: float,
    warm_calls: Mapping[str, float],
    *,
    quotas: Mapping[str, float] = AWS_QUOTAS,
    concurrency_quota: int = CONCURRENCY_QUOTA,
    basis: str = "warm",
    batch: tuple[str, int] | None = None,
) -> Projection:
    """Little's law at ``rps``: concurrency = rps x duration, and each operation's rate.

    Args:
        rps: Requests (invocations) per second to project; for a batch source, batches.
        warm_p99_ms: The p99 warm Duration in milliseconds.
        warm_calls: Mean AWS API calls per warm invocation, ``"service.Operation"`` keyed.
        quotas: Requests-per-second quotas by operation.
        concurrency_quota: The account's concurrency quota.
        basis: Which invocations ``warm_p99_ms`` comes from, for the report.
        batch: ``(what a record is, records per batch)`` when a request is a batch
            (see :func:`batch_of`).
    """
    concurrency = rps * warm_p99_ms / 1000.0
    warnings: list[str] = []
    if concurrency > concurrency_quota:
        warnings.append(
            f"Concurrency {concurrency:,.0f} exceeds the default quota of {concurrency_quota:,} "
            "concurrent executions per Region: invocations would be throttled (429)."
        )
    elif concurrency >= NEAR_QUOTA * concurrency_quota:
        warnings.append(
            f"Concurrency {concurrency:,.0f} uses {concurrency / concurrency_quota:.0%} of the default "
            f"quota of {concurrency_quota:,} concurrent executions, shared by every function in the Region."
        )
    operations: dict[str, dict[str, float | None]] = {}
    for operation, per_invocation in sorted(warm_calls.items()):
        rate = rps * per_invocation
        quota = quotas.get(operation)
        operations[operation] = {"rate": rate, "quota": quota}
        if quota is not None and rate > quota:
            warnings.append(
                f"{operation} at {rate:,.0f} requests/s is {rate / quota:.1f}x its default quota "
                f"of {quota:,.0f}/s (shared by the whole account in the Region): calls would be "
                "throttled. Cache the result during INIT or batch the calls."
            )
        elif quota is not None and rate >= NEAR_QUOTA * quota:
            warnings.append(
                f"{operation} at {rate:,.0f} requests/s uses {rate / quota:.0%} of its default "
                f"quota of {quota:,.0f}/s, which every function in the account and Region shares: "
                "a second such function, or a burst, would be throttled."
            )
    source, size = batch if batch is not None else (None, None)
    return Projection(
        rps,
        warm_p99_ms,
        concurrency,
        concurrency_quota,
        operations,
        warnings,
        basis,
        batch_source=source,
        records_per_batch=size,
        records_per_second=rps * size if size is not None else None,
    )


@dataclass(frozen=True)
class BenchResult:
    """Everything one bench run measured; ``to_dict()`` gives the ``--json`` form.

    ``handler`` is the label the run was given (the handler string by default). The
    figures come from the invocations that succeeded; ``invocations`` counts all of
    them and ``errors`` describes each failed one. A figure with no invocation to
    come from is ``None``, and so is ``projection`` when no invocation succeeded.
    ``bytecode`` is what the bytecode check found (see :func:`run_bench`), or ``None``
    when it did not run.
    """

    handler: str
    memory_mb: int
    init_ms: list[float]
    cold_duration_ms: list[float]
    warm_duration_ms: list[float]
    billed_cold_ms: list[int]
    billed_warm_ms: list[int]
    max_memory_mb: int | None
    cold_calls: dict[str, float]
    warm_calls: dict[str, float]
    imports: list[ImportTiming]
    errors: list[str]
    projection: Projection | None
    summary: dict[str, float | None] = field(default_factory=dict)
    invocations: int = 0
    bytecode: dict[str, Any] | None = None
    import_waterfall: list[dict[str, Any]] = field(default_factory=list)  # for the HTML report
    cpu_share: float | None = None  # vCPUs the invocations ran with (emulator limits), if limited
    limits_notice: str | None = None  # what of Lambda's CPU and memory limits was not applied

    @property
    def failed(self) -> bool:
        """Whether any invocation failed (the command line then exits with status 1)."""
        return bool(self.errors)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form: strict JSON values only (``None`` where a figure is missing)."""
        return asdict(self)


def _mean_calls(invocations: Sequence[Invocation], *, include_init: bool) -> dict[str, float]:
    totals: dict[str, int] = {}
    for invocation in invocations:
        sources = (
            [invocation.aws_calls, invocation.init_aws_calls] if include_init else [invocation.aws_calls]
        )
        for calls in sources:
            for operation, count in calls.items():
                totals[operation] = totals.get(operation, 0) + count
    n = max(1, len(invocations))
    return {operation: total / n for operation, total in sorted(totals.items())}


def run_bench(
    handler: str,
    event: Any,
    *,
    cold: int = 5,
    warm: int = 50,
    memory_mb: int = 128,
    timeout_s: float = 30.0,
    env: Mapping[str, str] | None = None,
    task_root: str | None = None,
    aws: bool | AwsStandIn = False,
    rps: float = 6000.0,
    profile_imports: bool = True,
    label: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    python: str | os.PathLike[str] | None = None,
    layers: Sequence[str | os.PathLike[str]] = (),
    function_name: str | None = None,
    check_bytecode: bool = True,
) -> BenchResult:
    """Run ``cold`` cold starts and ``warm`` warm invocations and summarise them.

    Args:
        handler: ``module.function``.
        event: The event for every invocation.
        cold: Fresh execution environments to start (at least 1).
        warm: Warm invocations, all in the environment the last cold start left.
        memory_mb: The configured memory.
        timeout_s: The function timeout.
        env: The function's environment variables.
        task_root: The handler's code directory.
        aws: Use an AWS stand-in (see :class:`~lambda_kit_dev.emulator.Emulator`).
        rps: The request rate to project.
        profile_imports: Add one cold start under ``-X importtime`` for the profile.
        label: The name shown in reports (the handler by default).
        progress: Called with (phase, done, total) after each invocation.
        python: The function's interpreter (see :class:`~lambda_kit_dev.emulator.Emulator`).
        layers: The function's layers, zips or directories, in order.
        function_name: ``AWS_LAMBDA_FUNCTION_NAME``.
        check_bytecode: Check that the task root and layers have bytecode that the
            interpreter can use from Lambda's read-only directories. When the source
            of the modules INIT imports without it reaches ``BYTECODE_WARN_BYTES``,
            the report warns, names the heaviest packages, and measures the cost:
            ``cold`` more pairs of cold starts, interleaved, as the code is and from
            a temporary copy compiled for the interpreter (``bytecode`` in the result).

    Returns:
        The figures of the invocations that succeeded (see :func:`summarise`); the
        failed ones are described in ``errors``.

    Raises:
        ConfigurationError: ``cold`` < 1, ``warm`` < 0, or ``rps`` not a finite
            number above 0 (and what :class:`~lambda_kit_dev.emulator.Emulator` refuses).
    """
    if cold < 1 or warm < 0:
        raise ConfigurationError(
            f"Invalid cold={cold}, warm={warm}; expected cold >= 1 and warm >= 0.",
            setting="cold",
            value=cold,
        )
    if not (rps > 0 and math.isfinite(rps)):
        raise ConfigurationError(
            f"Invalid rps={rps}; expected a finite number more than 0.", setting="rps", value=rps
        )
    cold_runs: list[Invocation] = []
    warm_runs: list[Invocation] = []
    bytecode: dict[str, Any] | None = None
    settings: dict[str, Any] = {
        "memory_mb": memory_mb,
        "timeout_s": timeout_s,
        "env": env,
        "python": python,
        "function_name": function_name,
    }
    counted: Invocation | None = None
    with Emulator(handler, task_root=task_root, aws=aws, layers=layers, **settings) as function:
        # The timed cold starts run without the AWS-call counter, which allocates during
        # INIT and can tip the collector into a full collection (tens of ms): the calls
        # are counted in one more cold start, untimed, whose environment then serves the
        # warm invocations (there the counter costs a pipe write per AWS call).
        function.count_aws_calls = False
        for i in range(cold):
            cold_runs.append(function.invoke(event, fresh=True))
            if progress:
                progress("cold", i + 1, cold)
        function.count_aws_calls = True
        counted = function.invoke(event, fresh=True)
        for i in range(warm):
            warm_runs.append(function.invoke(event))
            if progress:
                progress("warm", i + 1, warm)
        imports: list[ImportTiming] = []
        waterfall: list[dict[str, Any]] = []
        imported: set[str] | None = None
        if profile_imports:
            function.import_profile = True
            profiled = function.invoke(event, fresh=True)
            function.import_profile = False
            imports = heaviest_imports(profiled.imports, handler)
            from lambda_kit_dev.html_report import import_waterfall

            waterfall = import_waterfall(profiled.imports)
            if profiled.ok:  # the handler module itself is not timed: it is imported all the same
                imported = {t.module.partition(".")[0] for t in profiled.imports}
                imported.add(handler.rpartition(".")[0].partition(".")[0])
            if progress:
                progress("import profile", 1, 1)
        if check_bytecode:
            bytecode = _check_bytecode(function, handler, event, cold, imported, settings, progress)
    result = summarise(
        label or handler,
        cold_runs,
        warm_runs,
        imports=imports,
        memory_mb=memory_mb,
        rps=rps,
        batch=batch_of(event),
        counted_cold=counted,
    )
    if bytecode is not None:
        from dataclasses import replace

        result = replace(result, bytecode=bytecode)
    if waterfall:
        from dataclasses import replace

        result = replace(result, import_waterfall=waterfall)
    return result


def _check_bytecode(
    function: Emulator,
    handler: str,
    event: Any,
    pairs: int,
    imported: set[str] | None,
    settings: dict[str, Any],
    progress: Callable[[str, int, int], None] | None,
) -> dict[str, Any]:
    """Scan the code's bytecode; when too much is missing, measure what that costs.

    The cost is measured, not estimated: ``pairs`` cold starts of the code as it is,
    interleaved with as many of a temporary copy compiled by the function's own
    interpreter (unchecked hash-based ``.pyc``), and their Init Duration p50 compared.
    """
    import shutil
    import tempfile

    from lambda_kit_dev.emulator._bytecode import compiled_copy, default_exempt, scan
    from lambda_kit_dev.emulator._python import probe

    config = function.config
    facts = function.interpreter or probe(config.python)
    exempt = default_exempt(facts.prefixes if facts is not None else None)
    roots = [config.task_root, *config.layer_path]
    found = scan(config.python, roots, exempt=exempt)
    lacking = found.lacking(imported)
    lacking_bytes = sum(p.lacking_bytes for p in lacking)
    report: dict[str, Any] = {
        "cache_tag": found.cache_tag,
        "files": sum(p.files for p in found.packages if imported is None or p.name in imported),
        "lacking_files": sum(p.lacking for p in lacking),
        "lacking_bytes": lacking_bytes,
        "only_imported": imported is not None,
        "packages": [{**asdict(p), "lacking": p.lacking} for p in lacking[:10]],
        "warning": lacking_bytes >= BYTECODE_WARN_BYTES,
        "measured": None,
    }
    if not report["warning"]:
        return report
    scratch = tempfile.mkdtemp(prefix="lambda-kit-compiled-")
    try:
        sources = [config.task_root] + ([function.layer_root] if function.layer_root else [])
        copies = compiled_copy(config.python, sources, scratch)
        as_is: list[float] = []
        compiled: list[float] = []
        with Emulator(
            handler, task_root=copies[0], layers=copies[1:], aws=function.aws or False, **settings
        ) as copy:
            for i in range(pairs):
                for emulator, figures in ((function, as_is), (copy, compiled)):
                    invocation = emulator.invoke(event, fresh=True)
                    if invocation.ok and invocation.report.init_duration_ms is not None:
                        figures.append(invocation.report.init_duration_ms)
                if progress:
                    progress("bytecode", i + 1, pairs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if as_is and compiled:
        report["measured"] = {
            "init_p50_ms": statistics.median(as_is),
            "compiled_init_p50_ms": statistics.median(compiled),
            "cold_starts": min(len(as_is), len(compiled)),
        }
    return report


def summarise(
    label: str,
    cold_runs: Sequence[Invocation],
    warm_runs: Sequence[Invocation],
    *,
    imports: Sequence[ImportTiming] = (),
    memory_mb: int = 128,
    rps: float = 6000.0,
    batch: tuple[str, int] | None = None,
    counted_cold: Invocation | None = None,
) -> BenchResult:
    """The figures and the projection of a bench's invocations (those that succeeded).

    Args:
        label: The name shown in reports.
        cold_runs: The cold starts, in order.
        warm_runs: The warm invocations, in order.
        imports: The heaviest imports of INIT.
        memory_mb: The configured memory.
        rps: The request rate to project.
        batch: ``(what a record is, records per batch)`` when the event is a batch.
        counted_cold: A cold start run with the AWS-call counter, untimed, as the import
            profile's is: when it succeeded, the AWS calls per cold start come from it,
            not from ``cold_runs`` (run without the counter, which perturbs INIT). Like
            the import profile's run it is not one of ``invocations``.
    """
    every = [*cold_runs, *warm_runs]
    errors = [
        f"{i.report.status}: {(i.error or {}).get('errorType')}: {(i.error or {}).get('errorMessage')}"
        for i in every
        if not i.ok
    ]
    cold_ok = [i for i in cold_runs if i.ok]
    init_gc = [i.report.init_gc_ms for i in cold_ok if i.report.init_gc_ms is not None]
    init_full = [i.report.init_gc_collections[2] for i in cold_ok if i.report.init_gc_collections is not None]
    # Where the AWS calls of a cold start are counted: the counted run, else the cold starts.
    call_sources = [counted_cold] if counted_cold is not None and counted_cold.ok else cold_ok
    warm_ok = [i for i in warm_runs if i.ok]
    init_ms = [i.report.init_duration_ms for i in cold_ok if i.report.init_duration_ms is not None]
    cold_ms = [i.report.duration_ms for i in cold_ok]
    warm_ms = [i.report.duration_ms for i in warm_ok]
    peaks = [i.report.max_memory_used_mb for i in (*cold_ok, *warm_ok) if i.report.max_memory_used_mb]
    warm_calls = _mean_calls(warm_ok, include_init=False)
    projection: Projection | None = None
    if warm_ms:
        projection = project(rps, percentile(warm_ms, 99), warm_calls, batch=batch)
    elif cold_ms:  # no warm invocation succeeded (or none was asked for)
        projection = project(
            rps,
            percentile(cold_ms, 99),
            _mean_calls(call_sources, include_init=False),
            basis="cold",
            batch=batch,
        )
    billed_warm = [i.report.billed_duration_ms for i in warm_ok]
    gb = memory_mb / 1024
    cost = (
        (statistics.fmean(billed_warm) / 1000 * gb * PRICE_PER_GB_SECOND_X86 + PRICE_PER_REQUEST) * 1e6
        if billed_warm
        else None
    )
    summary: dict[str, float | None] = {
        "init_p50_ms": _figure(init_ms, 50),
        "init_p95_ms": _figure(init_ms, 95),
        "cold_duration_p50_ms": _figure(cold_ms, 50),
        "warm_p50_ms": _figure(warm_ms, 50),
        "warm_p99_ms": _figure(warm_ms, 99),
        "warm_cost_per_million_usd": cost,
        "init_gc_p50_ms": _figure(init_gc, 50),
        # Cold starts whose INIT ran a full collection (tens of ms each), of those observed.
        "init_full_collection_share": (sum(1 for n in init_full if n) / len(init_full))
        if init_full
        else None,
    }
    limited = next((i.report for i in every if i.report.cpu_share is not None), None)
    notice = next((i.report.limits_notice for i in every if i.report.limits_notice), None)
    return BenchResult(
        cpu_share=limited.cpu_share if limited is not None else None,
        limits_notice=notice,
        handler=label,
        memory_mb=memory_mb,
        init_ms=init_ms,
        cold_duration_ms=cold_ms,
        warm_duration_ms=warm_ms,
        billed_cold_ms=[i.report.billed_duration_ms for i in cold_ok],
        billed_warm_ms=billed_warm,
        max_memory_mb=max(peaks) if peaks else None,
        cold_calls=_mean_calls(call_sources, include_init=True),
        warm_calls=warm_calls,
        imports=list(imports),
        errors=errors,
        projection=projection,
        summary=summary,
        invocations=len(every),
    )


# Imported by the interpreter and the runtime client, never by the handler's code:
# prefixes cover the packages' submodules too.
_NOT_THE_HANDLERS = ("awslambdaric", "site", "runpy", "encodings", "simplejson", "sitecustomize")


def _is_runtime_client(name: str) -> bool:
    return name == "awslambdaric" or name.startswith("awslambdaric.")


def heaviest_imports(timings: Sequence[ImportTiming], handler: str, limit: int = 10) -> list[ImportTiming]:
    """The ``limit`` imports of the handler's code with the largest cumulative time.

    ``-X importtime`` lists a module after everything it imported, one level deeper.
    Left out, with everything they imported: the interpreter's start-up (what
    finished before ``site``), the runtime client (``awslambdaric``, ``runpy``,
    ``simplejson``, ``encodings``), the emulator's bootstrap (``sitecustomize``) and
    the handler module itself, which contains everything it imports. What the runtime
    client loads at the top level between its own modules is its own too: on the
    python3.12 and later runtimes it imports ``concurrent.futures`` (to poll for events
    on a thread) after ``awslambdaric.bootstrap`` and before the handler.
    """
    own = handler.rpartition(".")[0]
    sites = [i for i, t in enumerate(timings) if t.module == "site" and t.depth == 0]
    after_startup = timings[sites[-1] + 1 :] if sites else timings
    runtime = [i for i, t in enumerate(after_startup) if t.depth == 0 and _is_runtime_client(t.module)]
    after_startup = after_startup[runtime[-1] + 1 :] if runtime else after_startup
    kept: list[ImportTiming] = []
    parents: list[tuple[int, bool]] = []  # (depth, excluded) of the enclosing imports
    for timing in reversed(after_startup):  # this way a parent comes before its children
        while parents and parents[-1][0] >= timing.depth:
            parents.pop()
        name = timing.module
        excluded = (
            (bool(parents) and parents[-1][1])
            or name == own
            or any(name == skip or name.startswith(skip + ".") for skip in _NOT_THE_HANDLERS)
        )
        parents.append((timing.depth, excluded))
        if not excluded:
            kept.append(timing)
    return sorted(kept, key=lambda t: t.cumulative_us, reverse=True)[:limit]


def _ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.2f} ms"


def _usd(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"${value:.2f}"


def format_report(result: BenchResult) -> str:
    """The human-readable bench report (no projection from failed invocations)."""
    s = result.summary
    memory = f"{result.max_memory_mb} MB" if result.max_memory_mb else "n/a"
    lines = [
        f"lambda-kit bench: {result.handler} ({result.memory_mb} MB; "
        f"{len(result.init_ms)} cold starts, {len(result.warm_duration_ms)} warm invocations)",
        "",
    ]
    failed = len(result.errors)
    if failed:
        succeeded = result.invocations - failed
        if succeeded > 0:
            lines += [
                f"  {failed} of {result.invocations} invocations failed; "
                f"figures from the {succeeded} that succeeded.",
                "",
            ]
        else:
            lines += [f"  Every invocation failed ({failed}): no figures and no projection.", ""]
    lines += [
        f"  {'':<22}{'p50':>12}{'p95':>12}{'p99':>12}",
        f"  {'Init Duration':<22}{_ms(s.get('init_p50_ms')):>12}{_ms(s.get('init_p95_ms')):>12}{'':>12}",
        f"  {'Cold Duration':<22}{_ms(s.get('cold_duration_p50_ms')):>12}",
        f"  {'Warm Duration':<22}{_ms(s.get('warm_p50_ms')):>12}{'':>12}{_ms(s.get('warm_p99_ms')):>12}",
        f"  {'Max Memory Used':<22}{memory:>12}",
        f"  {'Warm cost / 1M (x86)':<22}{_usd(s.get('warm_cost_per_million_usd')):>12}",
    ]
    gc_ms, full_share = s.get("init_gc_p50_ms"), s.get("init_full_collection_share")
    if gc_ms is not None and full_share is not None:
        lines.append(
            f"  {'GC during INIT':<22}{_ms(gc_ms):>12}  (a full collection in "
            f"{full_share:.0%} of cold starts)"
        )
    if result.cpu_share is not None:
        lines.append(f"  {'CPU share (achieved)':<22}{result.cpu_share:>8.3f} vCPU")
    if result.limits_notice:
        lines.append(f"  Note: {result.limits_notice}")
    if result.imports:
        lines += ["", "  Heaviest imports during INIT (cumulative, -X importtime):"]
        lines += [f"    {t.cumulative_us / 1000:8.1f} ms  {t.module}" for t in result.imports]
    if result.bytecode is not None and result.bytecode["warning"]:
        lines += _bytecode_lines(result.bytecode)
    lines += ["", f"  AWS API calls{'':<27}{'per cold':>10}{'per warm':>10}"]
    operations = sorted(set(result.cold_calls) | set(result.warm_calls))
    if not operations:
        lines.append("    none")
    for operation in operations:
        per_cold = result.cold_calls.get(operation, 0)
        per_warm = result.warm_calls.get(operation, 0)
        lines.append(f"    {operation:<36}{per_cold:>10.2f}{per_warm:>10.2f}")
    p = result.projection
    if p is not None:
        if p.batch_source is not None and p.records_per_batch is not None:
            lines += [
                "",
                f"  At {p.rps:,.0f} invocations/s, each a batch of {p.records_per_batch:,} {p.batch_source} "
                f"({p.records_per_second or 0:,.0f} records/s; Little's law with {p.basis} p99 "
                f"{p.duration_ms:.2f} ms):",
                f"    (a request is one invocation, here one batch: for M records/s, pass --rps M/"
                f"{p.records_per_batch:,})",
            ]
        else:
            lines += [
                "",
                f"  At {p.rps:,.0f} requests/s (Little's law with {p.basis} p99 {p.duration_ms:.2f} ms):",
            ]
        lines.append(f"    concurrency {p.concurrency:>12,.1f}  of {p.concurrency_quota:,} default quota")
        for operation, figures in p.operations.items():
            quota = figures["quota"]
            quota_text = f"of {quota:,.0f}/s default quota" if quota else "(no default quota known)"
            lines.append(f"    {operation:<36}{figures['rate'] or 0:>10,.0f}/s {quota_text}")
        if p.warnings:
            lines += ["", "  WARNINGS"] + [f"    ! {warning}" for warning in p.warnings]
        else:
            lines += ["", "  Nothing would throttle at this rate."]
    if result.errors:
        lines += ["", f"  {len(result.errors)} invocation(s) failed; first: {result.errors[0]}"]
    return "\n".join(lines) + "\n"


def _bytecode_lines(found: Mapping[str, Any]) -> list[str]:
    scope = "imported during INIT" if found["only_imported"] else "in the task root and layers"
    lines = [
        "",
        f"  ! No bytecode Lambda can use for {found['lacking_files']} of {found['files']} source files "
        f"{scope} ({found['lacking_bytes'] / 1000:,.0f} KB, {found['cache_tag']}).",
        "    Lambda's code directories are read-only: every cold start compiles them again.",
    ]
    for package in found["packages"]:
        reasons = ", ".join(
            f"{label} {package[key]}"
            for key, label in (
                ("timestamp", "timestamp-based"),
                ("none", "none"),
                ("other", "for another Python"),
                ("stale", "stale"),
            )
            if package[key]
        )
        lines.append(
            f"    {package['lacking_bytes'] / 1000:8,.0f} KB {package['lacking']:>5} files  "
            f"{package['name']} ({reasons})"
        )
    measured = found.get("measured")
    if measured:
        as_is, compiled = measured["init_p50_ms"], measured["compiled_init_p50_ms"]
        lines.append(
            f"    Measured: Init Duration p50 {as_is:,.2f} ms as it is, {compiled:,.2f} ms compiled "
            f"({as_is - compiled:+,.2f} ms, {as_is / compiled:.2f}x; {measured['cold_starts']} "
            "interleaved cold starts each)."
        )
    lines.append(
        "    Build with lambda-kit layer / lambda-kit bundle: hash-based .pyc for the runtime's Python."
    )
    return lines


def format_comparison(results: Sequence[BenchResult]) -> str:
    """Several bench results side by side (the ``make demo`` table)."""
    width = 30
    names = [r.handler if len(r.handler) <= width else "..." + r.handler[-width + 3 :] for r in results]
    header = f"  {'':<34}" + "".join(f"{n:>{width}}" for n in names)
    rows = [
        ("Init Duration p50", [_ms(r.summary.get("init_p50_ms")) for r in results]),
        ("Warm Duration p50", [_ms(r.summary.get("warm_p50_ms")) for r in results]),
        ("Warm Duration p99", [_ms(r.summary.get("warm_p99_ms")) for r in results]),
        ("Max Memory Used", [f"{r.max_memory_mb} MB" if r.max_memory_mb else "n/a" for r in results]),
        ("AWS calls per warm invocation", [f"{sum(r.warm_calls.values()):.2f}" for r in results]),
        (
            "Warnings at projected rate",
            [str(len(r.projection.warnings)) if r.projection else "-" for r in results],
        ),
        ("Failed invocations", [str(len(r.errors)) for r in results]),
        ("Warm cost per 1M invocations", [_usd(r.summary.get("warm_cost_per_million_usd")) for r in results]),
    ]
    lines = [header] + [f"  {label:<34}" + "".join(f"{v:>{width}}" for v in values) for label, values in rows]
    return "\n".join(lines) + "\n"


class Progress:
    """Progress on a stream, shown only once a run has lasted more than a second."""

    def __init__(self, stream: Any, *, after_s: float = 1.0) -> None:
        self.stream = stream
        self.after_s = after_s
        self.started = time.monotonic()
        self.shown = False
        self._last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.started < self.after_s or (now - self._last < 0.2 and done != total):
            return
        self._last = now
        self.shown = True
        self.stream.write(f"\r  bench: {phase} {done}/{total}   ")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
