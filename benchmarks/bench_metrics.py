"""EMF metrics: lambda-kit against Powertools, aws-embedded-metrics and a hand-written lower bound.

* warm: one invocation of a handler that records N metrics (1, 10 or 100) and one
  dimension, then flushes one EMF line to stdout (``/dev/null`` here, the same file
  object for everyone). Each library runs its idiomatic handler: lambda-kit's
  ``@metrics.log_metrics``, Powertools' ``@metrics.log_metrics``, aws-embedded-metrics'
  ``@metric_scope``; the lower bound is a plain handler that builds the EMF dict,
  calls ``json.dumps`` once and writes once. lambda-kit without its decorator
  (puts + ``flush()``) is shown beside it.
* cold: the wall time of the import statement in a fresh interpreter (bytecode
  cached), median of several starts; once more for lambda-kit with the modules the
  Python runtime (awslambdaric) has loaded before the handler module imported first,
  untimed, as on Lambda.

Series are interleaved (rounds of batches, the order rotated each round). Targets
(issue 5): warm 10-metric invocation <= 1.5x the lower bound and >= 2.5x faster
than both peers; ``import lambda_kit.metrics`` < 2 ms.

Usage (from the repository root)::

    python benchmarks/bench_metrics.py           # full run, writes benchmarks/results/
    python benchmarks/bench_metrics.py --quick   # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import subprocess
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any

from _common import REPO_ROOT, Output, machine_info, machine_lines, ratio_line, summary, value_line

if TYPE_CHECKING:
    from collections.abc import Callable

NAME = "bench_metrics"
WARM_RATIO_TARGET = 1.5  # lambda-kit / lower bound, 10 metrics
PEER_SPEEDUP_TARGET = 2.5  # peer / lambda-kit, 10 metrics
IMPORT_TARGET_MS = 2.0
SIZES = (1, 10, 100)
NAMESPACE = "Bench"
SERVICE = "orders"

PRELOADED = "lambda-kit, runtime's modules loaded"
RUNTIME_PRELOADS = "import json, logging, re, threading, contextlib"  # loaded before the handler module

IMPORTS = {
    "lambda-kit": "import lambda_kit.metrics",
    PRELOADED: "import lambda_kit.metrics",
    "lambda-kit + Metrics() at INIT": "from lambda_kit.metrics import Metrics; Metrics('Bench', 'orders')",
    "powertools": "from aws_lambda_powertools import Metrics",
    "aws-embedded-metrics": "import aws_embedded_metrics",
    "lower bound (json)": "import json",
}


class _Context:
    """A Lambda context as awslambdaric builds it (the attributes the libraries read)."""

    function_name = "bench-function"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-function"
    memory_limit_in_mb = "128"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/bench-function"
    log_stream_name = "2026/11/26/[$LATEST]0"

    def get_remaining_time_in_millis(self) -> int:
        return 3000


# -- the contenders -----------------------------------------------------------------------


def build_handlers(size: int) -> dict[str, Callable[[dict[str, Any], Any], Any]]:
    """One handler per contender, each recording ``size`` metrics and one dimension."""
    os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", "bench-function")  # aws-embedded-metrics: Lambda
    from aws_embedded_metrics import metric_scope
    from aws_embedded_metrics.config import get_config
    from aws_lambda_powertools import Metrics as PowertoolsMetrics
    from aws_lambda_powertools.metrics import MetricUnit

    from lambda_kit.metrics import Metrics

    get_config().environment = "lambda"  # no environment probing: stdout, as on Lambda
    # Powertools flushes by itself at 100 metrics, then warns that the final flush is empty.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    names = [f"Metric{index}" for index in range(size)]
    values = [index * 1.5 for index in range(size)]
    pairs = list(zip(names, values, strict=True))

    lk = Metrics(namespace=NAMESPACE, service=SERVICE)

    @lk.log_metrics
    def lambda_kit_handler(event: dict[str, Any], context: Any) -> None:
        lk.put_dimensions({"operation": "checkout"})
        for name, value in pairs:
            lk.put_metric(name, value, "Milliseconds")

    bare = Metrics(namespace=NAMESPACE, service=SERVICE)

    def lambda_kit_bare(event: dict[str, Any], context: Any) -> None:
        bare.put_dimensions({"operation": "checkout"})
        for name, value in pairs:
            bare.put_metric(name, value, "Milliseconds")
        bare.flush()

    pt = PowertoolsMetrics(namespace=NAMESPACE, service=SERVICE)

    @pt.log_metrics
    def powertools_handler(event: dict[str, Any], context: Any) -> None:
        pt.add_dimension(name="operation", value="checkout")
        for name, value in pairs:
            pt.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)

    @metric_scope
    def emf_handler(event: dict[str, Any], context: Any, metrics: Any) -> None:
        metrics.set_namespace(NAMESPACE)
        metrics.put_dimensions({"operation": "checkout"})
        for name, value in pairs:
            metrics.put_metric(name, value, "Milliseconds")

    dumps = json.dumps
    definitions = [{"Name": name, "Unit": "Milliseconds"} for name in names]

    def lower_bound(event: dict[str, Any], context: Any) -> None:
        body: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [["service", "operation"]],
                        "Metrics": definitions,
                    }
                ],
            },
            "service": SERVICE,
            "operation": "checkout",
        }
        for name, value in pairs:
            body[name] = value
        sys.stdout.write(dumps(body, separators=(",", ":")) + "\n")

    return {
        "lambda-kit": lambda_kit_handler,
        "lambda-kit (no decorator)": lambda_kit_bare,
        "powertools": powertools_handler,
        "aws-embedded-metrics": emf_handler,
        "lower bound": lower_bound,
    }


def check_outputs(handlers: dict[str, Callable[[dict[str, Any], Any], Any]], size: int) -> None:
    """Each contender writes the same metric values with the operation dimension (sanity)."""
    context = _Context()
    for label, handler in handlers.items():
        buffer = io.StringIO()
        saved, sys.stdout = sys.stdout, buffer
        try:
            handler({}, context)
        finally:
            sys.stdout = saved
        documents = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
        found = {key for document in documents for key in document if key.startswith("Metric")}
        if len(found) != size or not all(document.get("operation") == "checkout" for document in documents):
            raise RuntimeError(f"{label} did not write the expected metrics: {buffer.getvalue()[:300]}")


# -- warm ---------------------------------------------------------------------------------------


def bench_warm(size: int, rounds: int, batch: int) -> dict[str, Any]:
    handlers = build_handlers(size)
    check_outputs(handlers, size)
    context = _Context()
    event: dict[str, Any] = {}
    devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    saved = sys.stdout
    series: dict[str, list[float]] = {label: [] for label in handlers}
    tasks = list(handlers.items())
    sys.stdout = devnull
    try:
        for _label, handler in tasks:  # warm up: caches, first-call costs
            for _ in range(max(20, batch // 4)):
                handler(event, context)
        for turn in range(rounds):
            shift = turn % len(tasks)
            for label, handler in tasks[shift:] + tasks[:shift]:
                gc.collect()
                start = time.perf_counter_ns()
                for _ in range(batch):
                    handler(event, context)
                series[label].append((time.perf_counter_ns() - start) / batch / 1000.0)
    finally:
        sys.stdout = saved
        devnull.close()
    return {label: summary(values) for label, values in series.items()}


# -- cold ---------------------------------------------------------------------------------------


def _import_once(statement: str, env: dict[str, str], preload: str = "") -> float:
    code = (
        f"{preload}\n"
        "import time\n"
        "start = time.perf_counter_ns()\n"
        f"{statement}\n"
        "print((time.perf_counter_ns() - start) / 1e6)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def bench_cold(starts: int) -> dict[str, Any]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONDONTWRITEBYTECODE",) and not name.startswith(("COV_CORE_", "COVERAGE_"))
    }
    tasks = list(IMPORTS.items())
    preloads = {label: RUNTIME_PRELOADS if label == PRELOADED else "" for label in IMPORTS}
    for label, statement in tasks:  # writes/reads the bytecode caches once, unmeasured
        _import_once(statement, env, preloads[label])
    values: dict[str, list[float]] = {label: [] for label, _ in tasks}
    for turn in range(starts):
        shift = turn % len(tasks)
        for label, statement in tasks[shift:] + tasks[:shift]:
            values[label].append(_import_once(statement, env, preloads[label]))
    return {
        label: {**summary(chunk), "values": [round(v, 3) for v in chunk]} for label, chunk in values.items()
    }


# -- report -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer iterations; results are not written")
    args = parser.parse_args(argv)
    rounds, batch, starts = (3, 200, 3) if args.quick else (15, 1000, 15)

    out = Output(NAME)
    info = machine_info(("lambda-perf-kit", "aws-lambda-powertools", "aws-embedded-metrics"))
    out.line(f"{NAME}: EMF metrics per invocation and at import")
    for text in machine_lines(info):
        out.line(text)
    out.line(
        f"runs    : warm {rounds} rounds x {batch} invocations per contender and size; cold {starts} "
        "imports each; interleaved, order rotated each round" + (" (--quick)" if args.quick else "")
    )

    warm: dict[int, dict[str, Any]] = {}
    verdicts: dict[str, Any] = {}
    for size in SIZES:
        results = bench_warm(size, rounds, batch)
        warm[size] = results
        m = {label: data["median"] for label, data in results.items()}
        bound = m["lower bound"]
        out.line()
        out.line(f"Warm: {size} metric(s) + 1 dimension + flush, per invocation (median of batch means, us)")
        out.line(value_line("lower bound: dict + json.dumps + one write", bound, unit="us"))
        for label in ("lambda-kit", "lambda-kit (no decorator)", "powertools", "aws-embedded-metrics"):
            target = WARM_RATIO_TARGET * bound if size == 10 and label == "lambda-kit" else None
            out.line(ratio_line(label, m[label], bound, target=target, unit="us"))
        lk = m["lambda-kit"]
        for peer in ("powertools", "aws-embedded-metrics"):
            speedup = m[peer] / lk
            mark = ""
            if size == 10:
                mark = "PASS" if speedup >= PEER_SPEEDUP_TARGET else "MISS"
                verdicts[f"speedup_vs_{peer}"] = {"value": round(speedup, 2), "verdict": mark}
            out.line(
                f"  {'lambda-kit faster than ' + peer:<46} x{speedup:5.2f}"
                + (f"  target >= x{PEER_SPEEDUP_TARGET:.1f}  {mark}" if mark else "")
            )
        if size == 10:
            ratio = lk / bound
            verdicts["ratio_to_lower_bound"] = {
                "value": round(ratio, 3),
                "verdict": "PASS" if ratio <= WARM_RATIO_TARGET else "MISS",
            }

    cold = bench_cold(starts)
    c = {label: data["median"] for label, data in cold.items()}
    out.line()
    out.line(f"Cold: wall time of the import statement in a fresh interpreter, median of {starts} (ms)")
    for label in IMPORTS:
        target = IMPORT_TARGET_MS if label == "lambda-kit" else None
        note = f"({IMPORTS[label]}" + (f" after {RUNTIME_PRELOADS})" if label == PRELOADED else ")")
        if target is None:
            out.line(value_line(label, c[label], note=note))
        else:
            out.line(ratio_line(label, c[label], c["lower bound (json)"], target=target))
    verdicts["import_ms"] = {
        "value": c["lambda-kit"],
        "verdict": "PASS" if c["lambda-kit"] < IMPORT_TARGET_MS else "MISS",
    }

    out.line()
    end_load = [round(load, 2) for load in os.getloadavg()]
    out.line(f"load    : load average {info['load_average']} at the start, {end_load} at the end")
    ratio = verdicts["ratio_to_lower_bound"]
    out.line(
        f"verdict : 10 metrics x{ratio['value']:.2f} the lower bound (target <= x{WARM_RATIO_TARGET}) "
        f"{ratio['verdict']}; x{verdicts['speedup_vs_powertools']['value']:.2f} faster than Powertools and "
        f"x{verdicts['speedup_vs_aws-embedded-metrics']['value']:.2f} than aws-embedded-metrics "
        f"(target >= x{PEER_SPEEDUP_TARGET}) {verdicts['speedup_vs_powertools']['verdict']}/"
        f"{verdicts['speedup_vs_aws-embedded-metrics']['verdict']}; import {c['lambda-kit']:.2f} ms "
        f"(target < {IMPORT_TARGET_MS} ms) {verdicts['import_ms']['verdict']}"
    )
    record = {
        "bench": NAME,
        "quick": args.quick,
        "machine": info,
        "load_average_at_end": end_load,
        "settings": {"rounds": rounds, "batch": batch, "cold_starts": starts, "sizes": list(SIZES)},
        "units": {"warm": "us per invocation", "cold": "ms"},
        "targets": {
            "warm_ratio_to_lower_bound": WARM_RATIO_TARGET,
            "speedup_vs_peers": PEER_SPEEDUP_TARGET,
            "import_ms": IMPORT_TARGET_MS,
        },
        "warm": {str(size): results for size, results in warm.items()},
        "cold": cold,
        "verdict": verdicts,
    }
    out.finish(record, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
