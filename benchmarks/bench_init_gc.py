"""What pausing the garbage collector during INIT is worth (lifecycle.pause_gc_for_init).

INIT imports packages and builds module state; the collector meanwhile runs tens of
young collections that free almost nothing. This benchmark runs two INIT workloads
in fresh interpreters of Lambda's python3.12 runtime environment, after importing
what the runtime client has already loaded, with lambda-kit's layer (built by
``lambda-kit layer``) on the path:

* ``tuned``: ``import app`` of examples/tuned (its bundle as the task root), which
  fetches its secret from the AWS stand-in on loopback during INIT;
* ``boto3+pydantic``: ``import boto3``, 40 pydantic models, two boto3 clients: a
  module of the kind many functions have.

Variants, one fresh interpreter each per round, rotated: ``default``, ``default
(control)`` (the same again: the noise floor, void past 3 %), ``paused``
(``lifecycle.pause_gc_for_init()`` first, ``lifecycle.end_init()`` last, as the first
invocation would), ``paused, no freeze``. Figures: CPU time of the workload
(``time.process_time``), ratios per round against ``default``, young/old collections
seen, and peak RSS (``ru_maxrss``) for the memory bound the docs state.

Usage (from the repository root; needs the package index or a pip cache)::

    python benchmarks/bench_init_gc.py            # full run, writes benchmarks/results/
    python benchmarks/bench_init_gc.py --quick    # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, Output, machine_info, machine_lines, median, percentile

NAME = "bench_init_gc"
CONTROL_TOLERANCE = 0.03
PRELOADED = "json, logging, threading, re, time, os, gc, sys, resource"
VARIANTS = {
    "default": ("", ""),
    "default (control)": ("", ""),
    "paused": ("lifecycle.pause_gc_for_init()\n", "lifecycle.end_init()\n"),
    "paused, no freeze": ("lifecycle.pause_gc_for_init(freeze=False)\n", "lifecycle.end_init()\n"),
}
WORKLOADS = {
    "tuned": "import app\n",
    "boto3+pydantic": (
        "import boto3\n"
        "from typing import Optional\n"
        "from pydantic import BaseModel\n"
        "models = [type(f'M{i}', (BaseModel,), {'__annotations__': "
        "{'a': int, 'b': str, 'c': Optional[list[int]], 'd': dict[str, float]}}) for i in range(40)]\n"
        "s3 = boto3.client('s3', region_name='us-east-1')\n"
        "dynamodb = boto3.client('dynamodb', region_name='us-east-1')\n"
    ),
}
CHILD = """import {preloaded}
sys.path[:0] = [{task!r}, {opt!r}]
from lambda_kit import lifecycle
before = [s["collections"] for s in gc.get_stats()]
_c0 = time.process_time()
{start}{workload}{end}_c1 = time.process_time()
after = [s["collections"] for s in gc.get_stats()]
print(json.dumps([(_c1 - _c0) * 1000, [a - b for a, b in zip(after, before)],
                  resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))
"""


def run_child(python: str, code: str, env: dict[str, str]) -> tuple[float, list[int], float]:
    done = subprocess.run([python, "-s", "-c", code], capture_output=True, text=True, env=env, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    cpu, collections, rss = json.loads(done.stdout)
    return cpu, collections, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    parser.add_argument("--quick", action="store_true", help="4 rounds; writes nothing")
    args = parser.parse_args()
    rounds = 4 if args.quick else args.rounds

    from lambda_kit_dev.emulator._python import runtime_environment
    from lambda_kit_dev.layer import build_bundle, build_layer
    from lambda_kit_dev.stand_ins import AwsStandIn

    python = runtime_environment((3, 12)).executable
    out = Output(NAME)
    info = machine_info()
    out.line(f"{NAME}: the collector paused during INIT, python3.12 runtime environment")
    for line in machine_lines(info):
        out.line(line)
    out.line(f"runs    : {rounds} interleaved rounds x {len(VARIANTS)} variants, a fresh interpreter each")
    record: dict[str, Any] = {"machine": info, "rounds": rounds, "workloads": {}}
    with tempfile.TemporaryDirectory(prefix="bench-init-gc-") as scratch, AwsStandIn() as aws:
        root = Path(scratch)
        pip = ["--cache-dir", str(root / "pip-cache")]
        build_layer(root / "opt", python="3.12", extras=["pydantic", "protobuf"], pip_options=pip)
        build_bundle(REPO_ROOT / "examples" / "tuned", root / "task", python="3.12", pip_options=pip)
        aws.client("secretsmanager").create_secret(
            Name="demo/db", SecretString=json.dumps({"username": "app", "password": "pw"})
        )
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **aws.environ(), "DB_SECRET_ID": "demo/db"}
        names = list(VARIANTS)
        for workload, code in WORKLOADS.items():
            figures: dict[str, list[tuple[float, list[int], float]]] = {name: [] for name in names}
            for index in range(rounds + 1):  # round 0 warms the page cache and is not kept
                shift = index % len(names)
                for name in names[shift:] + names[:shift]:
                    start, end = VARIANTS[name]
                    child = CHILD.format(
                        preloaded=PRELOADED,
                        task=str(root / "task"),
                        opt=str(root / "opt" / "python"),
                        start=start,
                        workload=code,
                        end=end,
                    )
                    result = run_child(python, child, env)
                    if index:
                        figures[name].append(result)
            base = [cpu for cpu, _, _ in figures["default"]]
            out.line()
            out.line(f"INIT workload: {workload}")
            out.line(
                f"  {'variant':<20} {'cpu ms':>8}   {'x cpu (p10-p90)':<20} "
                f"{'collections':<14} {'peak RSS':>9}"
            )
            rows: dict[str, Any] = {}
            for name in names:
                cpu = [c for c, _, _ in figures[name]]
                ratio = [c / b for c, b in zip(cpu, base, strict=True)]
                gens = figures[name][-1][1]
                rss = median([r for _, _, r in figures[name]])
                rows[name] = {
                    "cpu_ms_median": round(median(cpu), 2),
                    "ratio_median": round(median(ratio), 4),
                    "ratio_p10": round(percentile(ratio, 10), 4),
                    "ratio_p90": round(percentile(ratio, 90), 4),
                    "collections_last_round": gens,
                    "peak_rss_mb_median": round(rss, 2),
                    "cpu_ms": [round(c, 2) for c in cpu],
                }
                out.line(
                    f"  {name:<20} {median(cpu):8.1f}   x{median(ratio):5.3f} "
                    f"({percentile(ratio, 10):.3f}-{percentile(ratio, 90):.3f})   "
                    f"{'/'.join(map(str, gens)):<14} {rss:6.1f} MB"
                )
            control = rows["default (control)"]["ratio_median"]
            valid = abs(control - 1.0) <= CONTROL_TOLERANCE
            saved = rows["default"]["cpu_ms_median"] - rows["paused"]["cpu_ms_median"]
            extra = rows["paused"]["peak_rss_mb_median"] - rows["default"]["peak_rss_mb_median"]
            out.line(
                f"  control (identical pair) x{control:.3f}: "
                f"{'valid' if valid else 'VOID (noise over 3 %)'}; "
                f"paused saves {saved:.1f} ms CPU (x{rows['paused']['ratio_median']:.3f}), "
                f"peak RSS {extra:+.2f} MB"
            )
            record["workloads"][workload] = {"variants": rows, "control": control, "valid": valid}
    out.finish(record, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
