"""What bytecode in a layer is worth at INIT, and what the layers weigh.

Lambda's code directories are read-only, so the interpreter keeps nothing it
compiles: every cold start pays for each imported module without valid bytecode.
This benchmark builds ``examples/tuned`` as Lambda would run it, a layer
(``lambda-kit layer --extras pydantic,protobuf``) in ``opt/python`` and the function's
bundle (``lambda-kit bundle examples/tuned``) in ``task``, in these variants:

* ``lambda-kit``: as the builder makes them (unchecked-hash ``.pyc`` for the layer
  and the requirements, checked-hash for the function's own modules);
* ``unchecked`` / ``checked``: every module with unchecked-hash / checked-hash ``.pyc``;
* ``none``: sources only, what a layer zipped by hand usually has;
* ``stale``: timestamp ``.pyc`` whose sources then got the zip's fixed timestamp, as
  when a packager compiles and then zips with fixed timestamps (never valid again);
* ``lambda-kit (control)``: the first variant again, to show the noise floor (its
  ratio must be 1.00 +/- 0.03, or the run is void).

The tree is bind-mounted read-only (as root; otherwise ``PYTHONDONTWRITEBYTECODE=1``
stands in for it). Each round starts one fresh target interpreter per variant, in a
rotated order, with ``PYTHONPATH=task:opt/python`` (Lambda's order). The child first
imports the modules the runtime has already loaded when it imports a handler
(json, logging, re, threading, ...), then times the imports of the workload: wall
(``perf_counter``) and CPU (``process_time``). Ratios are per round, against
``lambda-kit``; the target is ``none`` at least 1.4x slower than ``lambda-kit``.

The headline is Init Duration itself: each variant's task and layer run through the
emulator (``lambda-kit``'s, driving the real runtime client) under Lambda's python3.12
runtime environment, one cold start per variant per round, rotated, with the secret
that examples/tuned fetches at INIT served by the AWS stand-in on loopback. Init
Duration is wall time (waiting for the secret is part of it, the same for every
variant); the target is ``none`` at least 1.4x slower than ``lambda-kit``.

The size table builds the same layer for every Python of 3.10-3.13 found here, for
x86_64 and arm64 (arm64 layers cannot run here; their bytecode is the same).

Usage (from the repository root; needs the package index or a pip cache)::

    python benchmarks/bench_layer.py            # full run, writes benchmarks/results/
    python benchmarks/bench_layer.py --quick    # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import REPO_ROOT, Output, machine_info, machine_lines, median, percentile

from lambda_kit_dev.layer import Target, build_bundle, build_layer, find_interpreter

if TYPE_CHECKING:
    from collections.abc import Iterator

NAME = "bench_layer"
TUNED = REPO_ROOT / "examples" / "tuned"
EXTRAS = ["pydantic", "protobuf"]
TARGET_RATIO = 1.4  # from the issue: Init at least 1.4x faster than with no bytecode
CONTROL_TOLERANCE = 0.03
ZIP_EPOCH = 315532800  # 1980-01-01 00:00 UTC: the timestamp a fixed-timestamp zip gives every file

# Loaded by the runtime (awslambdaric) before the handler module: not the layer's cost.
PRELOADED = (
    "threading, logging, json, re, os, functools, weakref, contextlib, collections, "
    "itertools, time, math, enum, decimal, importlib, traceback, warnings"
)
WORKLOADS = {
    "tuned": (
        "examples/tuned's modules, its /v2 route's included: lambda_kit.handler, .http, .metrics, "
        ".secrets, orders, order_view_pb2 (protobuf, which app.py loads on the first /v2 request)",
        "import orders, order_view_pb2\n"
        "from lambda_kit.handler import http\n"
        "from lambda_kit.http import Session\n"
        "from lambda_kit.metrics import Metrics\n"
        "from lambda_kit.secrets import Secret\n",
    ),
    "pydantic": ("from pydantic import BaseModel (the pydantic extra)", "from pydantic import BaseModel\n"),
}
CHILD = """import {preloaded}
_c0 = time.process_time(); _t0 = time.perf_counter()
{imports}
_t1 = time.perf_counter(); _c1 = time.process_time()
print(json.dumps([_t1 - _t0, _c1 - _c0]))
"""
VARIANTS = ["lambda-kit", "lambda-kit (control)", "unchecked", "checked", "stale", "none"]


def _compile(python: str, tree: Path, mode: str) -> None:
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", mode, str(tree)],
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
    )


def make_variants(root: Path, target: Target, python: str, pip_cache: Path) -> dict[str, Path]:
    """Build the layer and the bundle of examples/tuned once per variant under ``root``."""
    pip = ["--cache-dir", str(pip_cache)]
    trees: dict[str, Path] = {}
    for variant, bytecode in (("lambda-kit", True), ("none", False)):
        tree = root / variant
        build_layer(tree / "opt", python=target.python, extras=EXTRAS, bytecode=bytecode, pip_options=pip)
        build_bundle(TUNED, tree / "task", python=target.python, bytecode=bytecode, pip_options=pip)
        trees[variant] = tree
    for variant, mode in (
        ("unchecked", "unchecked-hash"),
        ("checked", "checked-hash"),
        ("stale", "timestamp"),
    ):
        tree = root / variant
        shutil.copytree(trees["none"], tree)
        _compile(python, tree, mode)
        trees[variant] = tree
    for source in (root / "stale").rglob("*.py"):
        os.utime(source, (ZIP_EPOCH, ZIP_EPOCH))
    trees["lambda-kit (control)"] = trees["lambda-kit"]
    return trees


@contextlib.contextmanager
def read_only(root: Path) -> Iterator[str]:
    """Bind-mount ``root`` read-only over itself when allowed; says how the tree is kept read-only."""
    mounted = False
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and mount and umount:
        bind = subprocess.run([mount, "--bind", str(root), str(root)], capture_output=True, check=False)
        if bind.returncode == 0:
            remount = [mount, "-o", "remount,ro,bind", str(root), str(root)]
            mounted = subprocess.run(remount, capture_output=True, check=False).returncode == 0
            if not mounted:
                subprocess.run([umount, str(root)], check=False)
    try:
        yield "read-only bind mount" if mounted else "PYTHONDONTWRITEBYTECODE=1 (no read-only mount here)"
    finally:
        if mounted and umount:
            subprocess.run([umount, str(root)], check=False)


def run_child(python: str, tree: Path, code: str, mounted: bool) -> tuple[float, float]:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{tree / 'task'}{os.pathsep}{tree / 'opt' / 'python'}",
        "LANG": "C.UTF-8",
    }
    if not mounted:
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [python, "-s", "-c", code], capture_output=True, text=True, check=True, env=environment, cwd=tree
    )
    wall, cpu = json.loads(done.stdout)
    return wall * 1000, cpu * 1000


def measure(
    python: str, trees: dict[str, Path], code: str, rounds: int, mounted: bool
) -> dict[str, dict[str, list[float]]]:
    """Interleaved rounds: each round runs every variant once, the order rotated by one each round."""
    times: dict[str, dict[str, list[float]]] = {v: {"wall": [], "cpu": []} for v in VARIANTS}
    for _ in range(2):  # warm the page cache and the interpreter's own files
        for variant in VARIANTS:
            run_child(python, trees[variant], code, mounted)
    for index in range(rounds):
        order = VARIANTS[index % len(VARIANTS) :] + VARIANTS[: index % len(VARIANTS)]
        for variant in order:
            wall, cpu = run_child(python, trees[variant], code, mounted)
            times[variant]["wall"].append(wall)
            times[variant]["cpu"].append(cpu)
    return times


INIT_VARIANTS = ["lambda-kit", "lambda-kit (control)", "none", "stale"]


def _protobuf_request() -> dict[str, Any]:
    """The sample GET, sent to tuned's /v2 route by a client that asks for protobuf."""
    event: dict[str, Any] = json.loads(
        (REPO_ROOT / "examples" / "events" / "api_gateway_get.json").read_text()
    )
    accept = "application/x-protobuf"
    event.update(resource="/v2/orders/{id}", path="/v2/orders/42")
    event["headers"]["Accept"] = accept
    event["multiValueHeaders"]["Accept"] = [accept]
    event["requestContext"].update(resourcePath="/v2/orders/{id}", path="/prod/v2/orders/42")
    return event


def init_durations(
    trees: dict[str, Path], python: str, rounds: int, progress: Any = None
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per variant, cold starts through the emulator, rotated: Init Duration (ms), and Init
    Duration plus the Duration of the first invocation, a request to the protobuf route
    (which imports protobuf and the generated module on first use)."""
    from lambda_kit_dev.emulator import Emulator
    from lambda_kit_dev.stand_ins import AwsStandIn

    event = _protobuf_request()
    durations: dict[str, list[float]] = {variant: [] for variant in INIT_VARIANTS}
    first_requests: dict[str, list[float]] = {variant: [] for variant in INIT_VARIANTS}
    with AwsStandIn() as aws, contextlib.ExitStack() as stack:
        aws.client("secretsmanager").create_secret(
            Name="demo/db", SecretString=json.dumps({"username": "app", "password": "pw"})
        )
        functions = {
            variant: stack.enter_context(
                Emulator(
                    "app.handler",
                    task_root=trees[variant] / "task",
                    layers=[trees[variant] / "opt"],
                    python=python,
                    env={**aws.environ(), "DB_SECRET_ID": "demo/db"},
                    count_aws_calls=False,  # the counter perturbs INIT (issue 13): never in a timed run
                    max_environments=1,
                )
            )
            for variant in INIT_VARIANTS
        }
        for index in range(rounds + 1):  # round 0 warms the page cache and is not kept
            shift = index % len(INIT_VARIANTS)
            for variant in INIT_VARIANTS[shift:] + INIT_VARIANTS[:shift]:
                invocation = functions[variant].invoke(event, fresh=True)
                init_ms = invocation.report.init_duration_ms
                if not invocation.ok or init_ms is None or not invocation.json().get("isBase64Encoded"):
                    raise RuntimeError(f"{variant}: the cold start failed:\n{invocation.log}")
                if index:
                    durations[variant].append(init_ms)
                    first_requests[variant].append(init_ms + invocation.report.duration_ms)
            if progress is not None:
                progress(index, rounds)
    return durations, first_requests


def init_table(
    out: Output, durations: dict[str, list[float]], runtime: str, *, first_request: bool = False
) -> dict[str, Any]:
    base = durations["lambda-kit"]
    out.line()
    what = (
        "Init Duration + the first invocation's Duration (its request to the /v2 route loads protobuf)"
        if first_request
        else "Init Duration"
    )
    out.line(
        f"{what} of examples/tuned through the emulator ({runtime} runtime environment, "
        f"{len(base)} interleaved cold starts each)"
    )
    out.line(
        f"  {'variant':<22} {'p50 ms':>8} {'p10 ms':>8} {'p90 ms':>8}   {'x p50 (p10-p90 per round)':<26}"
    )
    rows: dict[str, Any] = {}
    for variant in INIT_VARIANTS:
        values = durations[variant]
        per_round = [value / reference for value, reference in zip(values, base, strict=True)]
        rows[variant] = {
            "init_ms_p50": round(median(values), 2),
            "init_ms_p10": round(percentile(values, 10), 2),
            "init_ms_p90": round(percentile(values, 90), 2),
            "ratio_median": round(median(per_round), 4),
            "ratio_p10": round(percentile(per_round, 10), 4),
            "ratio_p90": round(percentile(per_round, 90), 4),
            "init_ms": [round(value, 2) for value in values],
        }
        out.line(
            f"  {variant:<22} {median(values):8.1f} {percentile(values, 10):8.1f} "
            f"{percentile(values, 90):8.1f}   x{median(per_round):5.2f} "
            f"({percentile(per_round, 10):.2f}-{percentile(per_round, 90):.2f})"
        )
    control = rows["lambda-kit (control)"]["ratio_median"]
    slower = rows["none"]["ratio_median"]
    # Wall time of whole cold starts: a 5 % band, wider than the CPU-time imports' 3 %.
    valid = abs(control - 1.0) <= 0.05
    out.line(
        f"  control (identical pair), ratio {control:.3f}: {'valid' if valid else 'VOID (noise over 5 %)'}"
    )
    stale = rows["stale"]["ratio_median"]
    if first_request:  # context for the target, which is on Init Duration
        out.line(f"  none / lambda-kit x{slower:.2f} for the first protobuf response; stale x{stale:.2f}")
        return {"variants": rows, "control_ratio": control, "valid": valid}
    out.line(
        f"  none / lambda-kit Init x{slower:.2f}, target >= x{TARGET_RATIO}: "
        f"{'PASS' if slower >= TARGET_RATIO else 'MISS'}; stale x{stale:.2f}"
    )
    return {"variants": rows, "control_ratio": control, "valid": valid, "target_ratio": TARGET_RATIO}


def ratios(times: dict[str, dict[str, list[float]]], kind: str) -> dict[str, list[float]]:
    base = times["lambda-kit"][kind]
    return {v: [x / b for x, b in zip(times[v][kind], base, strict=True)] for v in VARIANTS}


def stale_pycs_written(tree: Path) -> int:
    """How many .pyc in the lambda-kit tree are not hash-based (a write would have added some)."""
    count = 0
    for pyc in tree.rglob("*.pyc"):
        with open(pyc, "rb") as file:
            if int.from_bytes(file.read(8)[4:8], "little") & 1 == 0:
                count += 1
    return count


def size_table(out: Output, root: Path, pip_cache: Path, pythons: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    out.line()
    out.line(f"Sizes: layer with extras {','.join(EXTRAS)}, bundle of examples/tuned, per Python and arch")
    out.line(
        f"  {'runtime':<11} {'arch':<7} {'files':>6} {'unzipped':>9} {'zipped':>8} {'bundle':>8}"
        "  sha256 (layer)"
    )
    for python in pythons:
        for arch in ("x86_64", "arm64"):
            layer = build_layer(
                root / f"layer-{python}-{arch}.zip",
                python=python,
                arch=arch,
                extras=EXTRAS,
                pip_options=["--cache-dir", str(pip_cache)],
            )
            bundle = build_bundle(TUNED, root / f"bundle-{python}-{arch}.zip", python=python, arch=arch)
            row = {
                "runtime": layer.target.runtime,
                "arch": arch,
                "files": layer.files,
                "unzipped_bytes": layer.unzipped,
                "zipped_bytes": layer.zipped,
                "bundle_zipped_bytes": bundle.zipped,
                "sha256": layer.sha256,
                "bytecode": layer.bytecode,
            }
            rows.append(row)
            out.line(
                f"  {row['runtime']:<11} {arch:<7} {layer.files:>6} {layer.unzipped / 2**20:>6.1f} MB"
                f" {(layer.zipped or 0) / 2**20:>5.1f} MB {(bundle.zipped or 0) / 1024:>5.1f} kB"
                f"  {(layer.sha256 or '')[:16]}"
            )
    return rows


def instructions(python: str, tree: Path, code: str, mounted: bool, scratch: Path) -> int:
    """Instructions a fresh interpreter executes for ``code`` (valgrind's callgrind: no noise)."""
    valgrind = shutil.which("valgrind")
    assert valgrind is not None
    out_file = scratch / "callgrind.out"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{tree / 'task'}{os.pathsep}{tree / 'opt' / 'python'}",
        "PYTHONHASHSEED": "0",
    }
    if not mounted:
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    subprocess.run(
        [valgrind, "--tool=callgrind", f"--callgrind-out-file={out_file}", python, "-s", "-c", code],
        capture_output=True,
        check=True,
        env=environment,
        cwd=tree,
    )
    for line in out_file.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def callgrind_table(
    out: Output, python: str, trees: dict[str, Path], mounted: bool, scratch: Path
) -> dict[str, dict[str, int]]:
    """Instruction counts of each workload's imports per variant: a noise-free second opinion."""
    out.line()
    out.line("Instructions (valgrind callgrind, PYTHONHASHSEED=0), the imports only: a run with no")
    out.line("workload imports is subtracted; ratios against lambda-kit")
    baseline_code = CHILD.format(preloaded=PRELOADED, imports="pass\n")
    counts: dict[str, dict[str, int]] = {}
    for workload, (_, imports) in WORKLOADS.items():
        code = CHILD.format(preloaded=PRELOADED, imports=imports)
        base = instructions(python, trees["lambda-kit"], baseline_code, mounted, scratch)
        counts[workload] = {
            variant: instructions(python, trees[variant], code, mounted, scratch) - base
            for variant in VARIANTS
            if variant != "lambda-kit (control)"
        }
        reference = counts[workload]["lambda-kit"]
        cells = ", ".join(f"{v} {n / 1e6:.1f}M x{n / reference:.3f}" for v, n in counts[workload].items())
        out.line(f"  {workload:<9} {cells}")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--python", default="3.12", help="the runtime Python to time (default 3.12)")
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default 30)")
    parser.add_argument("--quick", action="store_true", help="5 rounds, sizes for one Python; writes nothing")
    parser.add_argument("--no-sizes", action="store_true", help="skip the size table")
    parser.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    parser.add_argument("--cold", type=int, default=15, help="cold starts per variant through the emulator")
    parser.add_argument("--no-emulator", action="store_true", help="skip Init Duration through the emulator")
    args = parser.parse_args()
    rounds = 5 if args.quick else args.rounds
    target = Target(args.python)
    interpreter = find_interpreter(target.python)
    if interpreter is None:
        print(f"no CPython {target.python} here: nothing to time", file=sys.stderr)
        return 2
    out = Output(NAME)
    info = machine_info()
    out.line(f"{NAME}: bytecode in a read-only layer and bundle, examples/tuned, {target.runtime}")
    for line in machine_lines(info):
        out.line(line)
    record: dict[str, Any] = {"machine": info, "interpreter": interpreter.path, "python": interpreter.version}
    with tempfile.TemporaryDirectory(prefix="bench-layer-") as scratch:
        root = Path(scratch)
        pip_cache = root / "pip-cache"
        variants_root = root / "variants"
        variants_root.mkdir()
        trees = make_variants(variants_root, target, interpreter.path, pip_cache)
        record["workloads"] = {}
        if not args.no_emulator:
            from lambda_kit_dev.emulator._python import runtime_environment

            runtime = runtime_environment((int(target.python[0]), int(target.python[2:])))

            def progress(index: int, total: int) -> None:
                print(
                    f"\rbench_layer: cold starts, round {index}/{total}", end="", file=sys.stderr, flush=True
                )

            cold = 3 if args.quick else args.cold
            durations, first_requests = init_durations(trees, runtime.executable, cold, progress)
            print(file=sys.stderr)
            record["init_duration"] = init_table(out, durations, target.runtime)
            record["first_request"] = init_table(out, first_requests, target.runtime, first_request=True)
        with read_only(variants_root) as how:
            mounted = how.startswith("read-only")
            out.line(
                f"runs    : {rounds} interleaved rounds x {len(VARIANTS)} variants, fresh CPython "
                f"{interpreter.version} each ({interpreter.path}); tree kept read-only by {how}"
            )
            out.line(f"          preloaded before timing (as the runtime has them): {PRELOADED}")
            for workload, (label, imports) in WORKLOADS.items():
                code = CHILD.format(preloaded=PRELOADED, imports=imports)
                times = measure(interpreter.path, trees, code, rounds, mounted)
                wall_ratios, cpu_ratios = ratios(times, "wall"), ratios(times, "cpu")
                out.line()
                out.line(f"Imports: {label}")
                out.line(
                    f"  {'variant':<22} {'wall ms':>8} {'cpu ms':>8}   "
                    f"{'x wall (p10-p90)':<20} {'x cpu (p10-p90)':<20}"
                )
                rows = {}
                for variant in VARIANTS:
                    wall, cpu = times[variant]["wall"], times[variant]["cpu"]
                    wr, cr = wall_ratios[variant], cpu_ratios[variant]
                    rows[variant] = {
                        "wall_ms_median": round(median(wall), 3),
                        "cpu_ms_median": round(median(cpu), 3),
                        "wall_ratio_median": round(median(wr), 4),
                        "wall_ratio_p10": round(percentile(wr, 10), 4),
                        "wall_ratio_p90": round(percentile(wr, 90), 4),
                        "cpu_ratio_median": round(median(cr), 4),
                        "cpu_ratio_p10": round(percentile(cr, 10), 4),
                        "cpu_ratio_p90": round(percentile(cr, 90), 4),
                        "wall_ms": [round(x, 3) for x in wall],
                        "cpu_ms": [round(x, 3) for x in cpu],
                    }
                    out.line(
                        f"  {variant:<22} {median(wall):8.2f} {median(cpu):8.2f}   "
                        f"x{median(wr):5.2f} ({percentile(wr, 10):.2f}-{percentile(wr, 90):.2f})"
                        f"{'':<4} x{median(cr):5.2f} ({percentile(cr, 10):.2f}-{percentile(cr, 90):.2f})"
                    )
                control = median(cpu_ratios["lambda-kit (control)"])
                valid = abs(control - 1.0) <= CONTROL_TOLERANCE
                slower = median(wall_ratios["none"])
                out.line(
                    f"  control (identical pair), cpu ratio {control:.3f}: "
                    f"{'valid' if valid else 'VOID (noise over 3 %)'}"
                )
                out.line(
                    f"  none / lambda-kit wall x{slower:.2f}, target >= x{TARGET_RATIO}: "
                    f"{'PASS' if slower >= TARGET_RATIO else 'MISS'}; unchecked saves "
                    f"{median(times['checked']['wall']) - median(times['unchecked']['wall']):+.2f} ms "
                    "against checked"
                )
                record["workloads"][workload] = {
                    "label": label,
                    "variants": rows,
                    "control_cpu_ratio": round(control, 4),
                    "valid": valid,
                    "none_over_lambda_kit_wall": round(slower, 4),
                    "target_ratio": TARGET_RATIO,
                }
            if shutil.which("valgrind") and not args.no_callgrind:
                record["instructions"] = callgrind_table(out, interpreter.path, trees, mounted, root)
            record["read_only"] = how
        written = stale_pycs_written(trees["lambda-kit"])
        record["timestamp_pyc_after_run"] = written
        out.line(
            f"check   : {written} timestamp .pyc in the lambda-kit tree after the runs (0: none was written)"
        )
        if not args.no_sizes:
            available = [p for p in ("3.10", "3.11", "3.12", "3.13") if find_interpreter(p) is not None]
            pythons = [target.python] if args.quick else available
            record["sizes"] = size_table(out, root, pip_cache, pythons)
    out.finish(record, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
