"""EMF metrics: lambda-kit against two hand-written bounds, Powertools and aws-embedded-metrics.

* warm: one invocation of a handler that records N metrics (1, 10 or 100) and one
  dimension, then writes one EMF line to stdout: ``/dev/null`` here, the same file
  object for everyone, wrapped as on Lambda in the runtime client's ``Unbuffered``
  (every write is flushed, so each contender makes one ``write`` system call). Each
  library runs its idiomatic handler: lambda-kit's ``@metrics.log_metrics``,
  Powertools' ``@metrics.log_metrics``, aws-embedded-metrics' ``@metric_scope``;
  lambda-kit without its decorator (puts + ``flush()``) beside it.
  Two bounds, both written by hand and both writing the same bytes as lambda-kit
  (checked byte for byte before timing, at a fixed clock):

  - the *typical* bound builds the EMF dict and calls ``json.dumps`` once per
    invocation, as most hand-written handlers do;
  - the *minimal* bound builds everything that does not change at INIT (the whole
    line but its timestamp and values) and per invocation only joins the timestamp
    and ``key + repr(value)`` strings: no validation, no lock, no decorator.

  Measured in paired rounds of CPU time (``time.thread_time()``): each round times
  every contender back to back, the order rotated each round, and ratios are taken
  within a round; the typical bound is timed twice per round as the identical-pair
  control (a pass where it is off by more than 3 % is void). Two passes; the figure
  quoted is the worse pass. Where valgrind is installed, instructions per invocation
  under ``valgrind --tool=callgrind`` are a noise-free second opinion.
* cold: the wall time of the import statement in a fresh interpreter (bytecode
  cached), median of several starts, interleaved; once more for lambda-kit with the
  modules the Python runtime (awslambdaric) has loaded before the handler module
  imported first, untimed, as on Lambda.

Targets (issues 5 and 13): lambda-kit <= 1.5x the typical bound at 1, 10 and 100
metrics and <= 3x the minimal bound at 10; >= 2.5x faster than both peers;
``import lambda_kit.metrics`` < 2 ms.

Usage (from the repository root)::

    python benchmarks/bench_metrics.py           # full run, writes benchmarks/results/
    python benchmarks/bench_metrics.py --quick   # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from typing import TYPE_CHECKING, Any

from _common import (
    REPO_ROOT,
    Output,
    control_line,
    control_summary,
    machine_info,
    machine_lines,
    paired_ratio,
    paired_rounds,
    per_call_us,
    summary,
    value_line,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    Handler = Callable[[dict[str, Any], Any], Any]

NAME = "bench_metrics"
TYPICAL_TARGET = 1.5  # lambda-kit / typical bound, at every size
MINIMAL_TARGET = 3.0  # lambda-kit / minimal bound, at MINIMAL_TARGET_SIZE
MINIMAL_TARGET_SIZE = 10
PEER_SPEEDUP_TARGET = 2.5  # peer / lambda-kit, at every size
IMPORT_TARGET_MS = 2.0
SIZES = (1, 10, 100)
NAMESPACE = "Bench"
SERVICE = "orders"
FIXED_CLOCK = 1_764_770_000.123  # time.time() while the outputs are compared byte for byte

LK, LK_BARE, TYPICAL, MINIMAL = "lambda-kit", "lambda-kit (no decorator)", "typical bound", "minimal bound"
POWERTOOLS, EMF = "powertools", "aws-embedded-metrics"
PEERS = (POWERTOOLS, EMF)
IDENTICAL = (LK, LK_BARE, TYPICAL, MINIMAL)  # these write the same bytes

PRELOADED = "lambda-kit, runtime's modules loaded"
RUNTIME_PRELOADS = "import json, logging, re, threading, contextlib"  # loaded before the handler module

IMPORTS = {
    "lambda-kit": "import lambda_kit.metrics",
    PRELOADED: "import lambda_kit.metrics",
    "lambda-kit + Metrics() at INIT": "from lambda_kit.metrics import Metrics; Metrics('Bench', 'orders')",
    "powertools": "from aws_lambda_powertools import Metrics",
    "aws-embedded-metrics": "import aws_embedded_metrics",
    "import json": "import json",
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


def build_handlers(size: int, *, peers: bool = True) -> dict[str, Handler]:
    """One handler per contender, each recording ``size`` metrics and one dimension."""
    from lambda_kit.metrics import Metrics

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

    dumps = json.dumps
    definitions = [{"Name": name, "Unit": "Milliseconds"} for name in names]

    def typical_bound(event: dict[str, Any], context: Any) -> None:
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

    # Everything but the timestamp and the values, once, at INIT.
    compact = {"separators": (",", ":")}
    head = '{"_aws":{"Timestamp":'
    middle = (
        ',"CloudWatchMetrics":[{"Namespace":'
        + dumps(NAMESPACE)
        + ',"Dimensions":[["service","operation"]],"Metrics":'
        + dumps(definitions, **compact)  # type: ignore[arg-type]
        + "}]},"
        + '"service":'
        + dumps(SERVICE)
        + ',"operation":"checkout"'
    )
    keys = ["," + dumps(name) + ":" for name in names]

    def minimal_bound(event: dict[str, Any], context: Any) -> None:
        members = "".join([key + repr(value) for key, value in zip(keys, values)])  # noqa: B905 - same length
        sys.stdout.write(head + str(int(time.time() * 1000)) + middle + members + "}\n")

    handlers: dict[str, Handler] = {
        TYPICAL: typical_bound,  # first: the control times it twice per round
        LK: lambda_kit_handler,
        LK_BARE: lambda_kit_bare,
        MINIMAL: minimal_bound,
    }
    if peers:
        handlers.update(_peer_handlers(pairs))
    return handlers


def _peer_handlers(pairs: list[tuple[str, float]]) -> dict[str, Handler]:
    os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", "bench-function")  # aws-embedded-metrics: Lambda
    from aws_embedded_metrics import metric_scope
    from aws_embedded_metrics.config import get_config
    from aws_lambda_powertools import Metrics as PowertoolsMetrics
    from aws_lambda_powertools.metrics import MetricUnit

    get_config().environment = "lambda"  # no environment probing: stdout, as on Lambda
    # Powertools flushes by itself at 100 metrics, then warns that the final flush is empty.
    warnings.filterwarnings("ignore", message="No application metrics to publish")

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

    return {POWERTOOLS: powertools_handler, EMF: emf_handler}


def _output(handler: Handler) -> str:
    buffer = io.StringIO()
    saved, sys.stdout = sys.stdout, buffer
    try:
        handler({}, _Context())
    finally:
        sys.stdout = saved
    return buffer.getvalue()


def check_outputs(handlers: dict[str, Handler], size: int) -> int:
    """lambda-kit and both bounds write the same bytes (at a fixed clock); the peers the same metrics.

    Returns the length of the line, ``\\n`` included.
    """
    real_time = time.time
    time.time = lambda: FIXED_CLOCK  # every contender reads the clock through time.time
    try:
        outputs = {label: _output(handlers[label]) for label in IDENTICAL if label in handlers}
        outputs.update({label: _output(handler) for label, handler in handlers.items() if label in PEERS})
    finally:
        time.time = real_time
    expected = outputs[TYPICAL]
    for label in IDENTICAL:
        if outputs[label] != expected:
            raise RuntimeError(f"{label} wrote other bytes than the typical bound:\n{outputs[label][:400]}")
    for label in PEERS:
        if label not in outputs:
            continue
        documents = [json.loads(line) for line in outputs[label].splitlines() if line.startswith("{")]
        found = {key: document[key] for document in documents for key in document if key.startswith("Metric")}
        if len(found) != size or not all(document.get("operation") == "checkout" for document in documents):
            raise RuntimeError(f"{label} did not write the expected metrics: {outputs[label][:300]}")
    return len(expected)


# -- warm: paired rounds ------------------------------------------------------------------------


def bench_warm(size: int, rounds: int, batch_seconds: float) -> list[dict[str, list[float]]]:
    handlers = build_handlers(size)
    check_outputs(handlers, size)
    context = _Context()
    event: dict[str, Any] = {}

    def call(handler: Handler) -> Callable[[], object]:
        return lambda: handler(event, context)

    from awslambdaric.bootstrap import Unbuffered

    devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    saved = sys.stdout
    sys.stdout = Unbuffered(devnull)  # as on Lambda: the runtime client flushes every write
    try:
        return paired_rounds(
            {label: call(handler) for label, handler in handlers.items()},
            rounds=rounds,
            batch_seconds=batch_seconds,
        )
    finally:
        sys.stdout = saved
        devnull.close()


# -- warm: instructions under callgrind ------------------------------------------------------

CALLGRIND_CHILD = """
import os, sys
sys.path.insert(0, {bench_dir!r})
import bench_metrics
handler = bench_metrics.build_handlers({size}, peers=False)[{label!r}]
context = bench_metrics._Context()
from awslambdaric.bootstrap import Unbuffered
sys.stdout = Unbuffered(open(os.devnull, "w", encoding="utf-8"))
for _ in range({calls}):
    handler({{}}, context)
"""


def _instructions(label: str, size: int, calls: int, scratch: str) -> int:
    out_file = os.path.join(scratch, f"callgrind.{size}.{calls}.{abs(hash(label))}")
    code = CALLGRIND_CHILD.format(
        bench_dir=str(REPO_ROOT / "benchmarks"), size=size, label=label, calls=calls
    )
    subprocess.run(
        [  # noqa: S607 - valgrind from PATH
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out_file}",
            sys.executable,
            "-c",
            code,
        ],
        check=True,
        capture_output=True,
        cwd=REPO_ROOT,
    )
    with open(out_file, encoding="utf-8") as found:
        for line in found:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no instruction count in {out_file}")


def bench_callgrind(calls: int) -> dict[str, dict[str, float]] | None:
    """Instructions per invocation: (a run of 2 x ``calls`` minus a run of ``calls``) / ``calls``."""
    if shutil.which("valgrind") is None:
        return None
    found: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for size in SIZES:
            found[str(size)] = {
                label: round(
                    (
                        _instructions(label, size, 2 * calls, scratch)
                        - _instructions(label, size, calls, scratch)
                    )
                    / calls
                )
                for label in IDENTICAL
            }
    return found


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


def _verdict(value: float, target: float | None, *, at_least: bool = False) -> str:
    if target is None:
        return "-"
    return "PASS" if (value >= target if at_least else value <= target) else "MISS"


def _ratio_text(label: str, ratio: dict[str, Any], target: float | None, *, at_least: bool = False) -> str:
    passes = ", ".join(
        f"x{entry['median']:.2f} (IQR {entry['p25']:.2f}-{entry['p75']:.2f})" for entry in ratio["passes"]
    )
    figure = ratio["best"] if at_least else ratio["worst"]
    aim = "" if target is None else f"  target {'>=' if at_least else '<='} x{target:.1f}"
    verdict = _verdict(figure, target, at_least=at_least)
    return f"  {label:<44} x{figure:5.2f}  passes {passes}{aim}  {verdict}".rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds; results are not written")
    parser.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    args = parser.parse_args(argv)
    rounds, batch_seconds, starts, calls = (3, 0.002, 3, 50) if args.quick else (15, 0.01, 15, 400)

    out = Output(NAME)
    info = machine_info(("lambda-perf-kit", "aws-lambda-powertools", "aws-embedded-metrics"))
    out.line(f"{NAME}: EMF metrics per invocation and at import")
    for text in machine_lines(info):
        out.line(text)
    out.line(
        f"runs    : warm 2 passes x {rounds} paired rounds of CPU time (batches of ~{batch_seconds * 1000:g} "
        f"ms per contender, order rotated each round); cold {starts} imports each, interleaved"
        + (" (--quick)" if args.quick else "")
    )

    warm: dict[str, Any] = {}
    claims: list[dict[str, Any]] = []
    for size in SIZES:
        passes = bench_warm(size, rounds, batch_seconds)
        control = control_summary(passes)
        line_bytes = check_outputs(build_handlers(size, peers=False), size)
        shape = f"{size} metric{'s' if size > 1 else ''} + 1 dimension, one {line_bytes}-byte EMF line"
        ratios = {
            "lambda-kit / typical bound": paired_ratio(passes, LK, TYPICAL),
            "lambda-kit / minimal bound": paired_ratio(passes, LK, MINIMAL),
            "lambda-kit (no decorator) / typical bound": paired_ratio(passes, LK_BARE, TYPICAL),
            "lambda-kit (no decorator) / minimal bound": paired_ratio(passes, LK_BARE, MINIMAL),
            "typical bound / minimal bound": paired_ratio(passes, TYPICAL, MINIMAL),
            "powertools / lambda-kit": paired_ratio(passes, POWERTOOLS, LK),
            "aws-embedded-metrics / lambda-kit": paired_ratio(passes, EMF, LK),
        }
        us = {label: per_call_us(passes, label) for label in passes[0]}
        warm[str(size)] = {"line_bytes": line_bytes, "control": control, "ratios": ratios, "us_per_call": us}

        out.line()
        out.line(f"Warm: {shape} (lambda-kit and both bounds byte-identical)")
        out.line(control_line(control))
        for label in (TYPICAL, MINIMAL, LK, LK_BARE, POWERTOOLS, EMF):
            out.line(value_line(label, max(us[label]), unit="us", note=f"CPU per call, passes {us[label]}"))
        minimal_target = MINIMAL_TARGET if size == MINIMAL_TARGET_SIZE else None
        targets = {
            "lambda-kit / typical bound": (TYPICAL_TARGET, False),
            "lambda-kit / minimal bound": (minimal_target, False),
            "powertools / lambda-kit": (PEER_SPEEDUP_TARGET, True),
            "aws-embedded-metrics / lambda-kit": (PEER_SPEEDUP_TARGET, True),
        }
        for label, ratio in ratios.items():
            target, at_least = targets.get(label, (None, False))
            out.line(_ratio_text(label, ratio, target, at_least=at_least))
        for label, (target, at_least) in targets.items():
            ratio = ratios[label]
            figure = ratio["best"] if at_least else ratio["worst"]
            verdict = "VOID" if not all(control["holds"]) else _verdict(figure, target, at_least=at_least)
            claims.append(
                {
                    "claim": label,
                    "shape": shape,
                    "measure": "CPU time per invocation, paired rounds, worse pass quoted",
                    "ratio": figure,
                    "passes": [entry["median"] for entry in ratio["passes"]],
                    "iqr": [[entry["p25"], entry["p75"]] for entry in ratio["passes"]],
                    "spread": ratio["spread"],
                    "direction": "at_least" if at_least else "at_most",
                    "target": target,
                    "verdict": verdict,
                    "control": [entry["median"] for entry in control["passes"]],
                    "chart": f"{size} metric{'s' if size > 1 else ''}",
                }
            )

    callgrind = None if args.no_callgrind else bench_callgrind(calls)
    if callgrind is not None:
        out.line()
        out.line(
            f"Instructions per invocation under callgrind ((2 x {calls} - {calls} invocations) / {calls})"
        )
        for size in SIZES:
            counts = callgrind[str(size)]
            ratio_typical = counts[LK] / counts[TYPICAL]
            ratio_minimal = counts[LK] / counts[MINIMAL]
            out.line(
                f"  {size:>3} metric(s): "
                + ", ".join(f"{label} {counts[label]:,.0f}" for label in IDENTICAL)
                + f"; lambda-kit x{ratio_typical:.2f} typical, x{ratio_minimal:.2f} minimal"
            )

    cold = bench_cold(starts)
    c = {label: data["median"] for label, data in cold.items()}
    out.line()
    out.line(f"Cold: wall time of the import statement in a fresh interpreter, median of {starts} (ms)")
    for label in IMPORTS:
        target = IMPORT_TARGET_MS if label == PRELOADED else None
        note = f"({IMPORTS[label]}" + (f" after {RUNTIME_PRELOADS})" if label == PRELOADED else ")")
        if target is not None:
            note += f"  target < {target:.1f} ms  {_verdict(c[label], target)}"
        out.line(value_line(label, c[label], note=note))
    cold_p90 = cold["lambda-kit"]["p90"]
    claims.append(
        {
            "claim": "import lambda_kit.metrics (ms, fresh interpreter)",
            "shape": "bare interpreter, bytecode cached",
            "measure": f"wall time, median of {starts} interleaved imports",
            "value": c["lambda-kit"],
            "p10_p90": [cold["lambda-kit"]["p10"], cold_p90],
            "target": None,
            "verdict": "-",
            "unit": "ms",
        }
    )
    claims.append(
        {
            "claim": "import lambda_kit.metrics (ms, runtime's modules loaded)",
            "shape": f"after {RUNTIME_PRELOADS}",
            "measure": f"wall time, median of {starts} interleaved imports",
            "value": c[PRELOADED],
            "p10_p90": [cold[PRELOADED]["p10"], cold[PRELOADED]["p90"]],
            "target": IMPORT_TARGET_MS,
            "verdict": _verdict(c[PRELOADED], IMPORT_TARGET_MS),
            "unit": "ms",
        }
    )

    out.line()
    end_load = [round(load, 2) for load in os.getloadavg()]
    out.line(f"load    : load average {info['load_average']} at the start, {end_load} at the end")
    aimed = [claim for claim in claims if claim["target"] is not None]
    misses = [
        f"{claim['claim']} ({claim['shape'].split(',')[0]})" for claim in aimed if claim["verdict"] == "MISS"
    ]
    voided = [
        f"{claim['claim']} ({claim['shape'].split(',')[0]})" for claim in aimed if claim["verdict"] == "VOID"
    ]
    met = sum(claim["verdict"] == "PASS" for claim in aimed)
    out.line(
        f"verdict : {met}/{len(aimed)} targets met"
        + (f"; missed: {'; '.join(misses)}" if misses else "")
        + (f"; void (control off by more than 3 %): {'; '.join(voided)}" if voided else "")
    )
    record = {
        "bench": NAME,
        "quick": args.quick,
        "machine": info,
        "load_average_at_end": end_load,
        "settings": {
            "rounds": rounds,
            "passes": 2,
            "batch_seconds": batch_seconds,
            "cold_starts": starts,
            "callgrind_calls": calls,
            "sizes": list(SIZES),
        },
        "units": {"us_per_call": "CPU us per invocation (median per pass)", "cold": "ms wall"},
        "targets": {
            "lambda_kit_over_typical": TYPICAL_TARGET,
            "lambda_kit_over_minimal_at_10": MINIMAL_TARGET,
            "speedup_vs_peers": PEER_SPEEDUP_TARGET,
            "import_ms": IMPORT_TARGET_MS,
        },
        "warm": warm,
        "callgrind": callgrind,
        "cold": cold,
        "claims": claims,
    }
    out.finish(record, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
