"""What lambda-kit's practices are worth at 128 MB and at 1,769 MB: examples/tuned against examples/naive.

Both examples do the same job (a database secret, a downstream HTTPS call, a metric)
against the same stand-ins: a moto server for Secrets Manager and CloudWatch, and a
local HTTPS inventory service with an RSA certificate. ``naive`` does everything per
invocation (a new boto3 client, GetSecretValue, a new TLS connection, a synchronous
PutMetricData); ``tuned`` fetches the secret and pre-connects the kept-alive HTTPS
session during INIT and writes EMF metrics to stdout.

Each runs under the emulator with Lambda's limits (``Emulator(limits=True)``): at
128 MB the environment gets 7.2 % of a core (calibrated here), at 1,769 MB one
vCPU, and INIT two vCPUs at both sizes. The cells (example x size) are interleaved:
each round runs, in every cell, one cold start then ``warm`` warm invocations, so
that drift in the machine's load falls on all of them alike. Figures are this
machine's (the core is not Lambda's): compare the ratios, not the milliseconds.

Usage (from the repository root)::

    python benchmarks/bench_tune.py           # full run, writes benchmarks/results/
    python benchmarks/bench_tune.py --quick   # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from typing import Any

from _common import REPO_ROOT, Output, machine_info, machine_lines, median, percentile, summary

from lambda_kit_dev.emulator import Emulator, _cgroup
from lambda_kit_dev.stand_ins import AwsStandIn, TLSServer
from lambda_kit_dev.stand_ins._tls import temporary_certificate

NAME = "bench_tune"
EXAMPLES = ("naive", "tuned")
SIZES = (128, 1769)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (1 round, 2 warm); writes nothing")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of one cold start and the warm ones (3)"
    )
    parser.add_argument("--warm", type=int, default=8, help="warm invocations per round and cell (8)")
    options = parser.parse_args(argv)
    rounds, warm = (1, 2) if options.quick else (options.rounds, options.warm)
    out = Output(NAME)
    info = machine_info()
    for line in machine_lines(info):
        out.line(line)
    source = _cgroup.backend()
    out.line(f"limits  : {source.describe() or 'none'}; {source.reasons or 'CPU and memory limited'}")
    out.line("")
    event = json.loads((REPO_ROOT / "examples" / "events" / "api_gateway_get.json").read_text())
    figures: dict[tuple[str, int], dict[str, list[float]]] = {
        (name, size): {"init": [], "cold": [], "warm": [], "failed": []}
        for name in EXAMPLES
        for size in SIZES
    }
    shares: dict[int, float | None] = {}
    notices: set[str] = set()
    cert, key, cert_dir = temporary_certificate(rsa=True)
    with cert_dir, TLSServer(cert, key) as inventory, AwsStandIn() as aws:
        document = {"username": "app", "password": secrets.token_urlsafe(24)}
        aws.client("secretsmanager").create_secret(Name="demo/db", SecretString=json.dumps(document))
        env = {"DB_SECRET_ID": "demo/db", "INVENTORY_URL": inventory.base_url, "INVENTORY_CA_BUNDLE": cert}
        emulators = {
            (name, size): Emulator(
                "app.handler",
                task_root=REPO_ROOT / "examples" / name,
                memory_mb=size,
                timeout_s=60,
                env=env,
                aws=aws,
                limits=True,
            )
            for name in EXAMPLES
            for size in SIZES
        }
        try:
            for round_ in range(rounds):
                cells = list(emulators.items())
                cells = cells[round_ % len(cells) :] + cells[: round_ % len(cells)]  # rotate the order
                for (name, size), function in cells:
                    runs = [function.invoke(event, fresh=True)] + [
                        function.invoke(event) for _ in range(warm)
                    ]
                    cell = figures[(name, size)]
                    for i, run in enumerate(runs):
                        if not run.ok:
                            cell["failed"].append(1.0)
                            continue
                        if i == 0:
                            cell["init"].append(run.report.init_duration_ms or 0.0)
                            cell["cold"].append(run.report.duration_ms)
                        else:
                            cell["warm"].append(run.report.duration_ms)
                    shares[size] = function.limits.cpu_share
                    if function.limits.notice:
                        notices.add(f"{size} MB: {function.limits.notice}")
                print(f"  round {round_ + 1}/{rounds} done", file=sys.stderr, flush=True)
        finally:
            for function in emulators.values():
                function.close()
    record: dict[str, Any] = {"machine": info, "rounds": rounds, "warm_per_round": warm, "cells": {}}
    out.line(
        f"{'':<22}"
        + "".join(f"{f'{name} {size} MB':>18}" for size in SIZES for name in EXAMPLES)
        + "   (ms; p50 unless said)"
    )
    rows: list[tuple[str, str, float]] = [
        ("Init Duration", "init", 50),
        ("cold Duration", "cold", 50),
        ("warm Duration", "warm", 50),
        ("warm Duration p90", "warm", 90),
    ]
    for label, series, q in rows:
        cells_text = ""
        for size in SIZES:
            for name in EXAMPLES:
                cells_text += f"{percentile(figures[(name, size)][series], q):>18.1f}"
        out.line(f"{label:<22}{cells_text}")
    out.line("")
    for size in SIZES:
        naive, tuned = figures[("naive", size)], figures[("tuned", size)]
        share = shares.get(size)
        got = "not limited" if share is None else f"{share:.3f} vCPU achieved"
        warm_gain = median(naive["warm"]) - median(tuned["warm"])
        cold_gain = median(naive["cold"]) - median(tuned["cold"])
        ratio = median(naive["warm"]) / max(median(tuned["warm"]), 1e-9)
        out.line(
            f"At {size:>5} MB ({_cgroup.cpu_share(size):.3f} vCPU, {got}): tuned saves {warm_gain:,.1f} ms "
            f"per warm invocation (x{ratio:,.1f}) and {cold_gain:,.1f} ms on the first invocation "
            "(secret and connection made during INIT)"
        )
        for name in EXAMPLES:
            failed = len(figures[(name, size)]["failed"])
            if failed:
                out.line(f"  ! {name} at {size} MB: {failed} invocation(s) failed")
        record["cells"][str(size)] = {
            name: {
                series: summary(values)
                for series, values in figures[(name, size)].items()
                if series != "failed"
            }
            for name in EXAMPLES
        }
        record["cells"][str(size)]["cpu_share"] = share
    for notice in sorted(notices):
        out.line(f"  ! {notice}")
    out.line("")
    out.line(
        "Separately, not measurable from these two examples alone: the three practices (pre-connect, "
        "secret caching, keep-alive) are measured together, as tuned differs from naive in all of them."
    )
    if not options.quick:
        json_path, text_path = out.write(record)
        print(f"wrote {json_path} and {text_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
