"""Keep-alive HTTP and cached boto3 clients: lambda-kit against its peers and lower bounds.

Against a local TLS server (``lambda_kit_dev.stand_ins``: RSA 2048 certificate, HTTP/1.1
keep-alive, in a child process so that it shares neither our GIL nor our CPU clock):

* warm, CPU time of the client thread per HTTPS GET on a kept connection, in paired
  rounds (``_common.paired_rounds``: each round times every contender back to back on
  ``time.thread_time()``, the order rotated each round, ratios taken within the round;
  the bound timed twice as the identical-pair control, a pass off by more than 3 % is
  void; two passes, the worse quoted): ``lambda_kit.http.Session.get`` against the
  minimal urllib3 bound (``HTTPSConnectionPool.urlopen("GET", path, retries=False)`` on
  a kept connection), ``requests.Session.get`` and urllib3's ``PoolManager.request``;
* the saving of a kept connection, by wall time (waiting for the handshake is the
  point) in interleaved paired rounds (``_common.paired_wall_rounds``, the same rounds
  and control): a GET on the session's kept connection against a GET on a new
  connection with a shared, cached TLS context (TCP + TLS handshake: the headline);
  for context only, a new connection that also builds a TLS context and loads the
  system CA store per request (what urllib3 does for each new connection of a pool
  given no TLS context, as a client made per invocation is), and that building alone;
* warm, per AWS call, wall time in the same interleaved paired rounds:
  ``get_secret_value`` on a client from ``lambda_kit.aws.client`` against a boto3
  client made by hand once (the lower bound) and a boto3 client created in every
  invocation, against moto behind a keep-alive front (moto's own server closes every
  connection);
* the first request after INIT, in fresh interpreters (wall time, interleaved), with
  and without ``warm()``;
* cold: ``import lambda_kit.http`` and ``import lambda_kit.aws`` in fresh interpreters
  (wall time, bytecode cached, interleaved), bare and after the modules the Python
  runtime has loaded, with ``import urllib3`` and ``import boto3`` beside.

Targets (issue 13): ``Session.get`` <= 1.15x the minimal urllib3 bound in CPU time;
each import < 2 ms with the runtime's modules loaded.

Usage (from the repository root)::

    python benchmarks/bench_http.py           # full run, writes benchmarks/results/
    python benchmarks/bench_http.py --quick   # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import IO, TYPE_CHECKING, Any

from _common import (
    REPO_ROOT,
    RUNTIME_PRELOAD,
    Output,
    bytecode_env,
    control_line,
    control_summary,
    import_times,
    load_now,
    machine_info,
    machine_lines,
    paired_ratio,
    paired_rounds,
    paired_wall_rounds,
    per_call_us,
    ratio_claim,
    ratio_text,
    summary,
    value_claim,
    value_line,
    verdict_summary,
)

if TYPE_CHECKING:
    from collections.abc import Callable

NAME = "bench_http"
OVERHEAD_TARGET = 1.15  # lambda-kit Session / the minimal urllib3 bound, CPU time
IMPORT_TARGET_MS = 2.0  # with the runtime's modules loaded
PACKAGES = ("lambda-perf-kit", "urllib3", "requests", "boto3", "botocore", "moto", "cryptography")

BOUND = "urllib3 HTTPSConnectionPool.urlopen(retries=False)"
LK = "lambda_kit.http.Session.get"
MANAGER = "urllib3 PoolManager.request"
REQUESTS = "requests.Session.get"
KEPT = "kept connection (Session.get)"
NEW_SHARED = "new connection, cached TLS context"
NEW_DEFAULT = "new connection, new TLS context + CA store"
CONTEXT_ONLY = "building a TLS context + loading the CA store"
AWS_BOUND, AWS_LK, AWS_NEW = (
    "boto3 client made once by hand",
    "lambda_kit.aws.client(...) per call",
    "boto3.client(...) per invocation",
)


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


def _clients(servers: Servers) -> dict[str, Any]:
    import requests
    import urllib3
    from urllib3.util.ssl_ import create_urllib3_context

    from lambda_kit.http import Session

    base = servers.info["tls"]
    cert = servers.info["cert"]
    host, port = base.split("://", 1)[1].split(":")
    shared = create_urllib3_context()
    shared.load_verify_locations(cafile=cert)
    return {
        "urllib3": urllib3,
        "create_context": create_urllib3_context,
        "base": base,
        "cert": cert,
        "host": host,
        "port": int(port),
        "shared": shared,
        "session": Session(base, ca_certs=cert),
        "pool": urllib3.HTTPSConnectionPool(host, int(port), ssl_context=shared),
        "manager": urllib3.PoolManager(ca_certs=cert),
        "requests": requests.Session(),  # verify per request: REQUESTS_CA_BUNDLE would override .verify
    }


def bench_cpu(servers: Servers, clients: dict[str, Any], rounds: int, batch_seconds: float) -> dict[str, Any]:
    """CPU time of this thread per GET on a kept connection (paired rounds), and the connections opened."""
    session, pool, manager, peer = (
        clients["session"],
        clients["pool"],
        clients["manager"],
        clients["requests"],
    )
    url, cert = clients["base"] + "/ok", clients["cert"]

    def bound() -> bytes:
        return pool.urlopen("GET", "/ok", retries=False).data  # type: ignore[no-any-return]

    def lambda_kit_get() -> bytes:
        return session.get("/ok").body  # type: ignore[no-any-return]

    def manager_get() -> bytes:
        return manager.request("GET", url).data  # type: ignore[no-any-return]

    def requests_get() -> bytes:
        return peer.get(url, verify=cert).content  # type: ignore[no-any-return]

    contenders: dict[str, Callable[[], object]] = {
        BOUND: bound,
        LK: lambda_kit_get,
        MANAGER: manager_get,
        REQUESTS: requests_get,
    }
    # Every contender reads the same answer (the body names the connection: its keys only).
    bodies = {label: json.loads(call()) for label, call in contenders.items()}  # type: ignore[arg-type]
    if any(set(body) != set(bodies[BOUND]) for body in bodies.values()):
        raise RuntimeError(f"the contenders read different answers: {bodies}")
    before = servers.stats(clients["base"])["connections"]  # this call's own connection counted
    passes = paired_rounds(contenders, rounds=rounds, batch_seconds=batch_seconds)
    opened = servers.stats(clients["base"])["connections"] - before - 1  # less this call's own
    return {"passes": passes, "connections_opened": opened}


def bench_handshake(
    servers: Servers, clients: dict[str, Any], rounds: int, batch_seconds: float
) -> dict[str, Any]:
    """Wall time per GET: kept connection against new ones (paired rounds), and the connections opened."""
    urllib3, create_context = clients["urllib3"], clients["create_context"]
    session, shared = clients["session"], clients["shared"]
    host, port, cert = clients["host"], clients["port"], clients["cert"]

    def kept() -> bytes:
        return session.get("/ok").body  # type: ignore[no-any-return]

    made = [0]

    def new_shared() -> bytes:
        made[0] += 1
        pool = urllib3.HTTPSConnectionPool(host, port, ssl_context=shared)
        try:
            return pool.urlopen("GET", "/ok", retries=False).data  # type: ignore[no-any-return]
        finally:
            pool.close()

    def fresh_context() -> Any:
        # What urllib3 does for each new connection when it is given no TLS context: a new
        # context with the system CA store loaded (requests loads certifi's bundle instead);
        # the stand-in's own certificate is added so that it verifies.
        context = create_context()
        context.load_default_certs()
        context.load_verify_locations(cafile=cert)
        return context

    def new_default() -> bytes:
        made[0] += 1
        pool = urllib3.HTTPSConnectionPool(host, port, ssl_context=fresh_context())
        try:
            return pool.urlopen("GET", "/ok", retries=False).data  # type: ignore[no-any-return]
        finally:
            pool.close()

    before = servers.stats(clients["base"])["connections"]
    made[0] = 0
    passes = paired_wall_rounds(
        {KEPT: kept, NEW_SHARED: new_shared, NEW_DEFAULT: new_default, CONTEXT_ONLY: fresh_context},
        rounds=rounds,
        batch_seconds=batch_seconds,
    )
    opened = servers.stats(clients["base"])["connections"] - before - 1
    return {"passes": passes, "connections_opened": opened, "new_connection_requests": made[0]}


# -- warm: boto3 per call ---------------------------------------------------------------


def bench_boto3(servers: Servers, rounds: int, batch_seconds: float) -> dict[str, Any]:
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
    created = [0]

    def by_hand_call() -> None:
        by_hand.get_secret_value(SecretId="bench/http")

    def lambda_kit_call() -> None:
        aws.client("secretsmanager", endpoint_url=front).get_secret_value(SecretId="bench/http")

    def per_invocation() -> None:
        made = boto3.client("secretsmanager", endpoint_url=front)
        made.get_secret_value(SecretId="bench/http")
        made.close()
        created[0] += 1

    before = servers.stats(front)["connections"]
    passes = paired_wall_rounds(
        {AWS_BOUND: by_hand_call, AWS_LK: lambda_kit_call, AWS_NEW: per_invocation},
        rounds=rounds,
        batch_seconds=batch_seconds,
    )
    opened = servers.stats(front)["connections"] - before - 1
    return {"passes": passes, "connections_opened": opened, "per_invocation_clients_created": created[0]}


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


def bench_first_request(servers: Servers, runs: int) -> dict[str, Any]:
    env = bytecode_env()  # as on Lambda: modules load from compiled bytecode
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

IMPORTS = {
    "lambda_kit.http": "import lambda_kit.http",
    "lambda_kit.aws": "import lambda_kit.aws",
    "urllib3": "import urllib3",
    "boto3": "import boto3",
}


def bench_imports(starts: int) -> dict[str, list[float]]:
    tasks: dict[str, tuple[str, str]] = {}
    for name, statement in IMPORTS.items():
        tasks[f"{name}, bare"] = (statement, "")
        tasks[f"{name}, runtime loaded"] = (statement, RUNTIME_PRELOAD)
    return import_times(tasks, starts=starts)


# -- report -----------------------------------------------------------------------------


def _us_lines(out: Output, passes: list[dict[str, list[float]]], labels: tuple[str, ...], unit: str) -> None:
    for label in labels:
        found = per_call_us(passes, label)
        if unit == "ms":
            found = [round(value / 1000, 3) for value in found]
        out.line(value_line(label, max(found), unit=unit, note=f"passes {found}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds; results are not written")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve()
        return 0

    rounds, cpu_batch, wall_rounds, wall_batch, aws_batch, firsts, starts = (
        (3, 0.005, 2, 0.03, 0.05, 2, 3) if args.quick else (15, 0.02, 9, 0.1, 0.2, 11, 15)
    )
    out = Output(NAME)
    info = machine_info(PACKAGES)
    out.line(f"{NAME}: keep-alive HTTPS and cached boto3 clients (lambda_kit.http, lambda_kit.aws)")
    for text in machine_lines(info):
        out.line(text)
    out.line(
        f"runs    : warm HTTPS 2 passes x {rounds} paired rounds of CPU time (batches of "
        f"~{cpu_batch * 1000:g} ms per contender); kept vs new connections and boto3 2 passes x "
        f"{wall_rounds} paired rounds of wall time (batches of ~{wall_batch * 1000:g} / "
        f"{aws_batch * 1000:g} ms); order rotated each round; first request {firsts} and imports "
        f"{starts} fresh interpreters each, interleaved" + (" (--quick)" if args.quick else "")
    )
    servers = Servers()
    try:
        clients = _clients(servers)
        cpu = bench_cpu(servers, clients, rounds, cpu_batch)
        wall = bench_handshake(servers, clients, wall_rounds, wall_batch)
        boto = bench_boto3(servers, wall_rounds, aws_batch)
        first = bench_first_request(servers, firsts)
    finally:
        servers.close()
    imports = bench_imports(starts)

    claims: list[dict[str, Any]] = []
    cpu_measure = "CPU time of the client thread per request, paired rounds, worse pass quoted"
    wall_measure = "wall time per request, interleaved paired rounds, worse pass quoted"
    shape = "HTTPS GET, small JSON body, loopback TLS 1.3 server (RSA 2048) in another process"

    passes = cpu["passes"]
    control = control_summary(passes)
    out.line()
    out.line(f"Warm: {shape}, kept connection; CPU of the client thread per request (median per pass)")
    out.line(control_line(control))
    _us_lines(out, passes, (BOUND, LK, MANAGER, REQUESTS), "us")
    cpu_ratios = {
        f"{LK} / {BOUND}": (paired_ratio(passes, LK, BOUND), OVERHEAD_TARGET, False),
        f"{MANAGER} / {BOUND}": (paired_ratio(passes, MANAGER, BOUND), None, False),
        f"{REQUESTS} / {LK}": (paired_ratio(passes, REQUESTS, LK), None, True),
    }
    for label, (ratio, target, at_least) in cpu_ratios.items():
        out.line(ratio_text(label, ratio, target, at_least=at_least))
        claims.append(
            ratio_claim(
                label,
                ratio,
                control,
                shape=shape + ", kept connection",
                measure=cpu_measure,
                target=target,
                at_least=at_least,
                chart="warm request CPU time",
            )
        )
    over = cpu_ratios[f"{LK} / {BOUND}"][0]["worst"]
    extra_us = max(per_call_us(passes, LK)) - max(per_call_us(passes, BOUND))
    if over > OVERHEAD_TARGET:
        out.line(
            f"  MISS by x{over - OVERHEAD_TARGET:.3f} (x{over:.3f} against x{OVERHEAD_TARGET}): "
            f"{extra_us:+.1f} us of CPU per request over the bound"
        )
    out.line(f"  connections opened by these kept clients during the rounds: {cpu['connections_opened']}")

    passes = wall["passes"]
    wall_control = control_summary(passes)
    out.line()
    out.line(f"Kept against new connections: {shape}; wall time per request (median per pass)")
    out.line(control_line(wall_control))
    _us_lines(out, passes, (KEPT, NEW_SHARED, NEW_DEFAULT, CONTEXT_ONLY), "ms")
    wall_ratios = {
        f"{NEW_SHARED} / {KEPT}": paired_ratio(passes, NEW_SHARED, KEPT),
        f"{NEW_DEFAULT} / {KEPT}": paired_ratio(passes, NEW_DEFAULT, KEPT),
    }
    for label, ratio in wall_ratios.items():
        out.line(ratio_text(label, ratio, at_least=True))
        claims.append(
            ratio_claim(
                label,
                ratio,
                wall_control,
                shape=shape + (" (the handshake alone)" if NEW_SHARED in label else " (context only)"),
                measure=wall_measure,
                at_least=True,
                chart=None if NEW_DEFAULT in label else "kept against new connections",
            )
        )
    out.line(
        f"  headline: a kept connection saves the TCP + TLS handshake, "
        f"x{wall_ratios[f'{NEW_SHARED} / {KEPT}']['best']:.1f} (the smaller pass)"
    )
    out.line(
        f"  context only: x{wall_ratios[f'{NEW_DEFAULT} / {KEPT}']['best']:.1f} against a client that "
        "also builds a TLS context and loads the system CA store per request (that alone: "
        f"{max(per_call_us(passes, CONTEXT_ONLY)) / 1000:.1f} ms), which a cached context avoids without "
        "keeping the connection"
    )
    out.line(
        f"  connections opened during the rounds: {wall['connections_opened']} for "
        f"{wall['new_connection_requests']} requests on new connections"
    )

    passes = boto["passes"]
    aws_control = control_summary(passes)
    aws_shape = "GetSecretValue, moto behind a keep-alive front on loopback"
    out.line()
    out.line(f"Warm: {aws_shape}; wall time per call (median per pass)")
    out.line(control_line(aws_control))
    _us_lines(out, passes, (AWS_BOUND, AWS_LK, AWS_NEW), "ms")
    aws_ratios = {
        f"{AWS_LK} / {AWS_BOUND}": (paired_ratio(passes, AWS_LK, AWS_BOUND), False),
        f"{AWS_NEW} / {AWS_LK}": (paired_ratio(passes, AWS_NEW, AWS_LK), True),
    }
    for label, (ratio, at_least) in aws_ratios.items():
        out.line(ratio_text(label, ratio, at_least=at_least))
        claims.append(
            ratio_claim(
                label,
                ratio,
                aws_control,
                shape=aws_shape,
                measure=wall_measure.replace("request", "call"),
                at_least=at_least,
                chart="boto3 calls",
            )
        )
    out.line(
        f"  connections opened during the rounds: {boto['connections_opened']} "
        f"for {boto['per_invocation_clients_created']} clients created per invocation"
    )

    f = {name: data["median"] for name, data in first.items()}
    out.line()
    out.line(f"First request after INIT, fresh interpreters, wall time, medians of {firsts} each")
    out.line(
        value_line(
            "without warm(): first request",
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
            "with warm() at INIT: first request",
            f["warm_first"],
            note=f"INIT {f['warm_init']:.3f} ms, second {f['warm_second']:.3f} ms",
        )
    )
    out.line(f"  first request, without / with warm()            x{f['cold_first'] / f['warm_first']:5.1f}")
    out.line(
        f"  same, urllib3 already imported                  x{f['import_first'] / f['warm_first']:5.1f}"
        "   (the handshake alone)"
    )

    out.line()
    out.line(f"Cold: import in a fresh interpreter, bytecode cached, wall time, median of {starts} (ms)")
    for label, values in imports.items():
        found = summary(values, 3)
        aimed = label.startswith("lambda_kit") and label.endswith("runtime loaded")
        note = f"p10 {found['p10']:.3f}  p90 {found['p90']:.3f}"
        if aimed:
            shown = "PASS" if found["median"] < IMPORT_TARGET_MS else "MISS"
            note += f"  target < {IMPORT_TARGET_MS} ms  {shown}"
        out.line(value_line(label, found["median"], note=note))
        if label.startswith("lambda_kit"):
            claims.append(
                value_claim(
                    f"import {label} (ms)",
                    values,
                    shape="fresh interpreter, bytecode cached"
                    + (f", after {RUNTIME_PRELOAD}" if aimed else ""),
                    measure=f"wall time, median of {starts} interleaved starts",
                    unit="ms",
                    target=IMPORT_TARGET_MS if aimed else None,
                )
            )

    out.line()
    end_load = load_now()
    out.line(f"load    : load average {info['load_average']} at the start, {end_load} at the end")
    out.line(verdict_summary(claims))
    record = {
        "bench": NAME,
        "quick": args.quick,
        "machine": info,
        "load_average_at_end": end_load,
        "settings": {
            "cpu_rounds": rounds,
            "cpu_batch_seconds": cpu_batch,
            "wall_rounds": wall_rounds,
            "wall_batch_seconds": wall_batch,
            "aws_batch_seconds": aws_batch,
            "passes": 2,
            "first_request_runs": firsts,
            "import_starts": starts,
        },
        "units": {"http_cpu": "CPU us per request", "handshake": "wall us per request", "boto3": "wall us"},
        "targets": {"overhead_vs_minimal_urllib3_max": OVERHEAD_TARGET, "import_ms_max": IMPORT_TARGET_MS},
        "http_cpu": {
            "control": control,
            "us_per_request": {label: per_call_us(cpu["passes"], label) for label in cpu["passes"][0]},
            "ratios": {label: found[0] for label, found in cpu_ratios.items()},
            "connections_opened": cpu["connections_opened"],
        },
        "handshake": {
            "control": wall_control,
            "us_per_request": {label: per_call_us(wall["passes"], label) for label in wall["passes"][0]},
            "ratios": wall_ratios,
            "connections_opened": wall["connections_opened"],
            "new_connection_requests": wall["new_connection_requests"],
        },
        "boto3": {
            "control": aws_control,
            "us_per_call": {label: per_call_us(boto["passes"], label) for label in boto["passes"][0]},
            "ratios": {label: found[0] for label, found in aws_ratios.items()},
            "connections_opened": boto["connections_opened"],
            "per_invocation_clients_created": boto["per_invocation_clients_created"],
        },
        "first_request": first,
        "imports": {label: summary(values, 3) for label, values in imports.items()},
        "claims": claims,
    }
    out.finish(record, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
