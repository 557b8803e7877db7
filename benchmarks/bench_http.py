"""Keep-alive HTTP and cached boto3 clients: lambda-kit against its peers and lower bounds.

One run, side by side, interleaved (rounds of alternating batches, the order
rotated every round):

* warm, per HTTPS request to a local TLS server (RSA 2048 certificate, HTTP/1.1
  keep-alive, in its own process so it does not share our GIL):
  ``lambda_kit.http.Session.get`` against raw ``urllib3.PoolManager.request``
  (the lower bound), ``requests.Session.get``, and a new connection per request
  made the way urllib3 and requests do by default (a new TLS context with the
  system CA store, then TCP + TLS), plus the bare handshake with a shared context;
* warm, per AWS call: ``get_secret_value`` on a client from
  ``lambda_kit.aws.client`` against a boto3 client made by hand once (the lower
  bound) and a boto3 client created in every invocation (the naive pattern),
  against moto behind a keep-alive front (moto's own server closes every connection);
* first request after INIT, in fresh interpreters, with and without ``warm()``;
* cold: ``import lambda_kit.http`` and ``import lambda_kit.aws`` in fresh
  interpreters that have already imported what the Lambda runtime client loads
  (``functools``, ``threading``), with ``import urllib3`` and ``import boto3`` beside.

Targets (from the issue): lambda-kit per request <= 1.15x raw urllib3 and >= 20x
faster than a new connection per request; each import < 2 ms.

Usage (from the repository root)::

    python benchmarks/bench_http.py           # full run, writes benchmarks/results/
    python benchmarks/bench_http.py --quick   # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from typing import IO, TYPE_CHECKING, Any

from _common import REPO_ROOT, Output, machine_info, machine_lines, median, summary, value_line

if TYPE_CHECKING:
    from collections.abc import Callable

NAME = "bench_http"
TESTS_DIR = REPO_ROOT / "tests"
OVERHEAD_TARGET = 1.15  # lambda-kit / raw urllib3 PoolManager
SPEEDUP_TARGET = 20.0  # new connection per request / lambda-kit
IMPORT_TARGET_MS = 2.0
PACKAGES = ("lambda-perf-kit", "urllib3", "requests", "boto3", "botocore", "moto", "cryptography")


# -- the servers, in a child process ----------------------------------------------------


def _serve() -> None:
    """Child process: a TLS server and a keep-alive front for moto; prints their addresses."""
    from lambda_kit_dev.stand_ins import AwsStandIn
    from lambda_kit_dev.stand_ins._tls import TLSServer, temporary_certificate

    cert, key, directory = temporary_certificate(rsa=True)
    with (
        directory,
        AwsStandIn() as moto,
        TLSServer(cert, key) as tls,
        TLSServer(tls=False, upstream=moto.endpoint_url) as front,
    ):
        addresses = {"tls": tls.base_url, "cert": cert, "front": front.base_url, "moto": moto.endpoint_url}
        sys.stdout.write(json.dumps(addresses) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the parent closes our stdin


class Servers:
    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stdout: IO[str] | None = self._process.stdout
        assert stdout is not None
        self.info: dict[str, str] = json.loads(stdout.readline())

    def stats(self, base_url: str) -> dict[str, int]:
        import urllib3

        pool = urllib3.PoolManager(ca_certs=self.info["cert"])
        answer: dict[str, int] = json.loads(pool.request("GET", base_url + "/stats").data)
        pool.clear()
        return answer

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)
        if self._process.stdout is not None:
            self._process.stdout.close()


# -- warm: HTTPS per request ------------------------------------------------------------


def _rotated(tasks: list[tuple[str, Callable[[], None]]], turn: int) -> list[tuple[str, Callable[[], None]]]:
    shift = turn % len(tasks)
    return tasks[shift:] + tasks[:shift]


def _timed(call: Callable[[], object], count: int) -> list[float]:
    times: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        call()
        times.append((clock() - start) / 1e6)
    return times


def bench_http(servers: Servers, rounds: int, batch: int, new_batch: int) -> dict[str, Any]:
    import requests
    import urllib3
    from urllib3.util.ssl_ import create_urllib3_context

    from lambda_kit.http import Session

    base = servers.info["tls"]
    cert = servers.info["cert"]
    url = base + "/ok"
    host, port = base.split("://", 1)[1].split(":")

    session = Session(base, ca_certs=cert)
    manager = urllib3.PoolManager(ca_certs=cert)
    peer = requests.Session()  # verify per request: REQUESTS_CA_BUNDLE would override Session.verify
    shared = create_urllib3_context()
    shared.load_verify_locations(cafile=cert)

    def lambda_kit_get() -> None:
        session.get("/ok").body  # noqa: B018 - the body is what a caller reads

    def urllib3_get() -> None:
        manager.request("GET", url).data  # noqa: B018

    def requests_get() -> None:
        peer.get(url, verify=cert).content  # noqa: B018

    def new_connection_default() -> None:
        # What a client built per invocation does: urllib3 (and requests) make a new
        # TLS context and load the system CA store for every new connection.
        context = create_urllib3_context()
        context.load_default_certs()
        context.load_verify_locations(cafile=cert)
        pool = urllib3.HTTPSConnectionPool(host, int(port), ssl_context=context)
        pool.request("GET", "/ok").data  # noqa: B018
        pool.close()

    def new_connection_handshake() -> None:
        pool = urllib3.HTTPSConnectionPool(host, int(port), ssl_context=shared)
        pool.request("GET", "/ok").data  # noqa: B018
        pool.close()

    series: dict[str, list[list[float]]] = {
        name: [] for name in ("lambda_kit", "urllib3", "requests", "new_default", "new_handshake")
    }
    before = servers.stats(base)
    for call in (lambda_kit_get, urllib3_get, requests_get, new_connection_default, new_connection_handshake):
        _timed(call, 20)  # warm-up: imports, first connections, caches
    lambda_kit_before = servers.stats(base)["connections"]
    tasks: list[tuple[str, Callable[[], None]]] = [
        ("lambda_kit", lambda: series["lambda_kit"].append(_timed(lambda_kit_get, batch))),
        ("urllib3", lambda: series["urllib3"].append(_timed(urllib3_get, batch))),
        ("requests", lambda: series["requests"].append(_timed(requests_get, batch))),
        ("new_default", lambda: series["new_default"].append(_timed(new_connection_default, new_batch))),
        (
            "new_handshake",
            lambda: series["new_handshake"].append(_timed(new_connection_handshake, new_batch)),
        ),
    ]
    for turn in range(rounds):
        for _, task in _rotated(tasks, turn):
            gc.collect()
            task()
    after = servers.stats(base)
    expected_new = 2 * rounds * new_batch
    reused = after["connections"] - lambda_kit_before - expected_new
    return {
        "series": {
            name: {
                **summary([v for chunk in chunks for v in chunk]),
                "round_medians": [median(c) for c in chunks],
            }
            for name, chunks in series.items()
        },
        "connections": {
            "before": before["connections"],
            "after": after["connections"],
            "opened_by_reusing_clients_during_timed_rounds": reused,
        },
    }


# -- warm: boto3 per call ---------------------------------------------------------------


def bench_boto3(servers: Servers, rounds: int, batch: int, new_batch: int) -> dict[str, Any]:
    import boto3

    from lambda_kit import aws

    front = servers.info["front"]
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    client = aws.client("secretsmanager", endpoint_url=front)
    client.create_secret(Name="bench/http", SecretString="value")
    by_hand = boto3.session.Session().client("secretsmanager", endpoint_url=front)

    def lambda_kit_call() -> None:
        aws.client("secretsmanager", endpoint_url=front).get_secret_value(SecretId="bench/http")

    def by_hand_call() -> None:
        by_hand.get_secret_value(SecretId="bench/http")

    def per_invocation() -> None:
        made = boto3.client("secretsmanager", endpoint_url=front)
        made.get_secret_value(SecretId="bench/http")
        made.close()

    series: dict[str, list[list[float]]] = {name: [] for name in ("lambda_kit", "by_hand", "per_invocation")}
    for call in (lambda_kit_call, by_hand_call, per_invocation):
        _timed(call, 5)
    start_connections = servers.stats(front)["connections"]
    tasks: list[tuple[str, Callable[[], None]]] = [
        ("lambda_kit", lambda: series["lambda_kit"].append(_timed(lambda_kit_call, batch))),
        ("by_hand", lambda: series["by_hand"].append(_timed(by_hand_call, batch))),
        ("per_invocation", lambda: series["per_invocation"].append(_timed(per_invocation, new_batch))),
    ]
    for turn in range(rounds):
        for _, task in _rotated(tasks, turn):
            gc.collect()
            task()
    opened = servers.stats(front)["connections"] - start_connections
    return {
        "series": {
            name: {
                **summary([v for chunk in chunks for v in chunk]),
                "round_medians": [median(c) for c in chunks],
            }
            for name, chunks in series.items()
        },
        "connections_opened_during_timed_rounds": opened,
        "per_invocation_clients_created": rounds * new_batch,
    }


# -- first request after INIT, in fresh interpreters ------------------------------------

FIRST_REQUEST = """
import json, sys, time
t0 = time.perf_counter()
from lambda_kit.http import Session
session = Session(sys.argv[1], ca_certs=sys.argv[2])
if sys.argv[3] == "warm":
    session.warm()
elif sys.argv[3] == "import":
    import urllib3  # as when boto3 was imported during INIT: only the handshake is left
t1 = time.perf_counter()
session.get("/ok").body
t2 = time.perf_counter()
session.get("/ok").body
t3 = time.perf_counter()
print(json.dumps({"init": (t1 - t0) * 1e3, "first": (t2 - t1) * 1e3, "second": (t3 - t2) * 1e3}))
"""


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on Lambda: modules load from compiled bytecode
    return env


def bench_first_request(servers: Servers, runs: int) -> dict[str, Any]:
    env = _clean_env()
    values: dict[str, list[float]] = {
        f"{mode}_{part}": [] for mode in ("cold", "import", "warm") for part in ("init", "first", "second")
    }
    for turn in range(runs + 1):
        for mode in ("cold", "import", "warm")[turn % 3 :] + ("cold", "import", "warm")[: turn % 3]:
            done = subprocess.run(
                [sys.executable, "-c", FIRST_REQUEST, servers.info["tls"], servers.info["cert"], mode],
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO_ROOT,
                check=True,
            )
            if turn == 0:
                continue  # the first pair warms the page cache and writes bytecode
            for part, value in json.loads(done.stdout).items():
                values[f"{mode}_{part}"].append(value)
    return {name: summary(chunk) for name, chunk in values.items()}


# -- cold: imports ----------------------------------------------------------------------

IMPORT_CODE = """
import functools, threading, time
t0 = time.perf_counter()
import {module}
print((time.perf_counter() - t0) * 1e3)
"""


def bench_imports(runs: int) -> dict[str, Any]:
    env = _clean_env()
    modules = ["lambda_kit.http", "lambda_kit.aws", "urllib3", "boto3"]
    values: dict[str, list[float]] = {module: [] for module in modules}
    for turn in range(runs + 1):
        for module in modules[turn % len(modules) :] + modules[: turn % len(modules)]:
            done = subprocess.run(
                [sys.executable, "-c", IMPORT_CODE.format(module=module)],
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO_ROOT,
                check=True,
            )
            if turn:
                values[module].append(float(done.stdout))
    return {module: summary(chunk) for module, chunk in values.items()}


# -- report -----------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer iterations; results are not written")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve()
        return 0

    rounds, batch, new_batch, aws_batch, aws_new, firsts, imports = (
        (2, 50, 5, 20, 3, 3, 3) if args.quick else (6, 300, 20, 100, 8, 11, 15)
    )
    out = Output(NAME)
    info = machine_info(PACKAGES)
    out.line(f"{NAME}: keep-alive HTTPS and cached boto3 clients (lambda_kit.http, lambda_kit.aws)")
    for text in machine_lines(info):
        out.line(text)
    out.line(
        f"runs    : HTTPS {rounds} rounds x {batch} requests per reusing client, x {new_batch} per "
        f"new-connection series; boto3 {rounds} x {aws_batch} (x {aws_new} per-invocation clients); "
        f"interleaved, order rotated each round" + (" (--quick)" if args.quick else "")
    )
    servers = Servers()
    try:
        web = bench_http(servers, rounds, batch, new_batch)
        boto = bench_boto3(servers, rounds, aws_batch, aws_new)
        first = bench_first_request(servers, firsts)
    finally:
        servers.close()
    cold = bench_imports(imports)

    h = {name: data["median"] for name, data in web["series"].items()}
    overhead = h["lambda_kit"] / h["urllib3"]
    speedup = h["new_default"] / h["lambda_kit"]
    out.line()
    out.line("Warm: one HTTPS GET (small JSON body), loopback TLS server in another process; medians")
    out.line(value_line("raw urllib3 PoolManager, reused (lower bound)", h["urllib3"]))
    out.line(value_line("lambda_kit.http.Session, reused", h["lambda_kit"]))
    out.line(value_line("requests.Session, reused", h["requests"]))
    out.line(value_line("new connection per request (default context)", h["new_default"]))
    out.line(value_line("new connection, shared TLS context (handshake)", h["new_handshake"]))
    label, verdict = "lambda-kit / urllib3", _verdict(overhead <= OVERHEAD_TARGET)
    out.line(f"  {label:<47} x{overhead:5.3f}   target <= {OVERHEAD_TARGET:.2f}   {verdict}")
    out.line(
        f"  new connection / lambda-kit                     x{speedup:5.1f}   target >= {SPEEDUP_TARGET:.0f}"
        f"     {_verdict(speedup >= SPEEDUP_TARGET)}"
    )
    out.line(
        f"  (handshake only, shared context) / lambda-kit   x{h['new_handshake'] / h['lambda_kit']:5.1f}   "
        "context: the part a kept connection saves even with a cached TLS context"
    )
    out.line(f"  requests.Session / lambda-kit                   x{h['requests'] / h['lambda_kit']:5.2f}")
    rounds_lk = " ".join(f"{m:.3f}" for m in web["series"]["lambda_kit"]["round_medians"])
    rounds_u3 = " ".join(f"{m:.3f}" for m in web["series"]["urllib3"]["round_medians"])
    out.line(f"  per-round medians: lambda-kit {rounds_lk}; urllib3 {rounds_u3} ms")
    out.line(
        "  connections opened by the reusing clients during the timed rounds: "
        f"{web['connections']['opened_by_reusing_clients_during_timed_rounds']}"
    )

    b = {name: data["median"] for name, data in boto["series"].items()}
    out.line()
    out.line("Warm: one GetSecretValue, moto behind a keep-alive front (same child process); medians")
    out.line(value_line("boto3 client made once by hand (lower bound)", b["by_hand"]))
    out.line(value_line("lambda_kit.aws.client(...) looked up per call", b["lambda_kit"]))
    out.line(value_line("boto3.client(...) created per invocation", b["per_invocation"]))
    out.line(f"  lambda-kit / by hand                            x{b['lambda_kit'] / b['by_hand']:5.3f}")
    out.line(
        f"  per invocation / lambda-kit                     x{b['per_invocation'] / b['lambda_kit']:5.1f}"
    )
    out.line(
        f"  connections opened during the timed rounds: {boto['connections_opened_during_timed_rounds']} "
        f"({boto['per_invocation_clients_created']} of them by per-invocation clients)"
    )

    f = {name: data["median"] for name, data in first.items()}
    out.line()
    out.line(f"First request after INIT, fresh interpreters, medians of {firsts} each")
    out.line(
        value_line(
            "without warm(): INIT / first / second request",
            f["cold_first"],
            note=f"INIT {f['cold_init']:.3f} ms, second {f['cold_second']:.3f} ms",
        )
    )
    out.line(
        value_line(
            "urllib3 imported at INIT, no warm(): first",
            f["import_first"],
            note=f"INIT {f['import_init']:.3f} ms, second {f['import_second']:.3f} ms",
        )
    )
    out.line(
        value_line(
            "with warm() at INIT: INIT / first / second",
            f["warm_first"],
            note=f"INIT {f['warm_init']:.3f} ms, second {f['warm_second']:.3f} ms",
        )
    )
    out.line(f"  first request, without / with warm()            x{f['cold_first'] / f['warm_first']:5.1f}")
    out.line(
        f"  same, urllib3 already imported                  x{f['import_first'] / f['warm_first']:5.1f}"
        "   (the handshake alone)"
    )

    c = {name: data["median"] for name, data in cold.items()}
    out.line()
    out.line(
        f"Cold: import in a fresh interpreter (functools and threading already loaded), medians of {imports}"
    )
    for module in ("lambda_kit.http", "lambda_kit.aws"):
        out.line(
            value_line(
                f"import {module}",
                c[module],
                note=f"target < {IMPORT_TARGET_MS:.1f} ms   {_verdict(c[module] < IMPORT_TARGET_MS)}",
            )
        )
    out.line(value_line("import urllib3 (paid by the first pool, not here)", c["urllib3"]))
    out.line(value_line("import boto3 (paid by the first client, not here)", c["boto3"]))

    verdicts = {
        "overhead_vs_urllib3": _verdict(overhead <= OVERHEAD_TARGET),
        "speedup_vs_new_connection": _verdict(speedup >= SPEEDUP_TARGET),
        "import_lambda_kit_http": _verdict(c["lambda_kit.http"] < IMPORT_TARGET_MS),
        "import_lambda_kit_aws": _verdict(c["lambda_kit.aws"] < IMPORT_TARGET_MS),
    }
    end_load = [round(load, 2) for load in os.getloadavg()]
    out.line()
    out.line(f"load    : load average {info['load_average']} at the start, {end_load} at the end")
    out.line(
        f"verdict : lambda-kit x{overhead:.3f} of urllib3 ({verdicts['overhead_vs_urllib3']}), "
        f"x{speedup:.1f} faster than a new connection ({verdicts['speedup_vs_new_connection']}), "
        f"imports {c['lambda_kit.http']:.2f} / {c['lambda_kit.aws']:.2f} ms "
        f"({verdicts['import_lambda_kit_http']} / {verdicts['import_lambda_kit_aws']})"
    )
    record = {
        "bench": NAME,
        "quick": args.quick,
        "machine": info,
        "load_average_at_end": end_load,
        "settings": {
            "rounds": rounds,
            "batch": batch,
            "new_connection_batch": new_batch,
            "aws_batch": aws_batch,
            "aws_per_invocation_batch": aws_new,
            "first_request_runs": firsts,
            "import_runs": imports,
        },
        "units": "ms",
        "targets": {
            "overhead_vs_urllib3_max": OVERHEAD_TARGET,
            "speedup_vs_new_connection_min": SPEEDUP_TARGET,
            "import_ms_max": IMPORT_TARGET_MS,
        },
        "http": web,
        "boto3": boto,
        "first_request": first,
        "imports": cold,
        "verdict": {
            **verdicts,
            "overhead_ratio": round(overhead, 4),
            "speedup_ratio": round(speedup, 2),
        },
    }
    out.finish(record, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
